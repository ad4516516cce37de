/**
 * The store implementations every contract test runs against. The SQLite one uses a real file
 * (WAL mode), one per test.
 */

import { join } from "node:path";
import { afterAll } from "vitest";
import { MemoryStore } from "../../../src/component/store/memory-store.js";
import { openSqliteStore } from "../../../src/component/store/sqlite-store.js";
import type { DsStore } from "../../../src/component/store/types.js";
import { tempDir } from "./fixtures.js";

export interface StoreImpl {
  readonly name: string;
  open(): DsStore;
}

/** Call at module level of a test file: the temp dir is removed after the file's tests. */
export function storeImpls(): readonly StoreImpl[] {
  const dir = tempDir();
  let n = 0;
  afterAll(() => dir.remove());
  return [
    { name: "MemoryStore", open: () => new MemoryStore() },
    { name: "SqliteStore", open: () => openSqliteStore(join(dir.path, `store-${++n}.sqlite`)) },
  ];
}

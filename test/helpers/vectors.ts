/**
 * Loads the IETF MLS working group's test vectors (mlswg/mls-implementations, test-vectors/).
 *
 * Search order: $MLS_TEST_VECTORS, ./.vectors (filled by `npm run vectors:fetch`), ../shared/mls-test-vectors.
 * In CI (CI=true) a missing file is a hard failure; elsewhere the suite is skipped with a message
 * saying how to fetch the data.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe } from "vitest";
import { fromHex } from "../../src/util/bytes.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export const IN_CI = process.env.CI === "true" || process.env.CI === "1";

function candidates(): string[] {
  const dirs: string[] = [];
  if (process.env.MLS_TEST_VECTORS) dirs.push(resolve(process.env.MLS_TEST_VECTORS));
  dirs.push(join(root, ".vectors"));
  dirs.push(resolve(root, "..", "shared", "mls-test-vectors"));
  return dirs;
}

export function vectorPath(file: string): string | undefined {
  for (const d of candidates()) {
    const p = join(d, file);
    if (existsSync(p)) return p;
  }
  return undefined;
}

const cache = new Map<string, unknown>();

export function loadVectors<T>(name: string): T[] | undefined {
  const file = `${name}.json`;
  const p = vectorPath(file);
  if (p === undefined) return undefined;
  let v = cache.get(p);
  if (v === undefined) {
    v = JSON.parse(readFileSync(p, "utf8"));
    cache.set(p, v);
  }
  return v as T[];
}

const HOWTO =
  "run `npm run vectors:fetch` (pinned mlswg/mls-implementations commit) or set MLS_TEST_VECTORS to a folder with the JSON files";

/**
 * `describe` over the cases of one vector file. Missing data fails in CI and skips elsewhere.
 */
export function describeVectors<T>(name: string, body: (cases: T[]) => void): void {
  const cases = loadVectors<T>(name);
  if (cases === undefined) {
    if (IN_CI) {
      describe(`${name}.json`, () => {
        throw new Error(`test vectors ${name}.json not found (CI=true): ${HOWTO}`);
      });
      return;
    }
    console.warn(`[vectors] SKIPPING ${name}.json: not found; ${HOWTO}`);
    describe.skipIf(true)(`${name}.json (missing: ${HOWTO})`, () => {});
    return;
  }
  describe(`${name}.json (${cases.length} cases)`, () => body(cases));
}

/** Hex helper for vector fields. */
export const h = (s: string): Uint8Array => fromHex(s);

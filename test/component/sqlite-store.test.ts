/**
 * SqliteStore beyond the shared contract: durability settings, several connections to one file
 * (in this process and in concurrent processes), schema migrations, and a SIGKILL crash smoke test.
 */

import Database from "better-sqlite3";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StoreError } from "../../src/component/errors.js";
import { MIGRATIONS, SCHEMA_VERSION, migrate } from "../../src/component/store/migrations.js";
import { openSqliteStore } from "../../src/component/store/sqlite-store.js";
import { entry, keyPackage, newGroup, tempDir } from "./helpers/fixtures.js";
import { runNode, transpileTree, type Transpiled } from "./helpers/transpile.js";

const dir = tempDir();
let n = 0;
const dbPath = (): string => join(dir.path, `db-${++n}.sqlite`);
afterAll(() => dir.remove());

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("SqliteStore settings", () => {
  it("opens in WAL mode with synchronous=FULL, foreign keys and a busy timeout", () => {
    const path = dbPath();
    const store = openSqliteStore(path, { busyTimeoutMs: 1234 });
    expect(store.connectionSettings()).toEqual({ journalMode: "wal", synchronous: "full", foreignKeys: true, busyTimeoutMs: 1234 });
    store.close();
    const raw = new Database(path);
    expect(raw.pragma("journal_mode", { simple: true })).toBe("wal"); // persistent in the file
    raw.close();
  });

  it("reports an unopenable path as store.open_failed", () => {
    const e = errorOf(() => openSqliteStore(join(dir.path, "missing-dir", "x.sqlite")));
    expect(e).toBeInstanceOf(StoreError);
    expect((e as StoreError).code).toBe("store.open_failed");
  });
});

describe("SqliteStore: two connections to one file", () => {
  it("sees each other's writes; claims never overlap; the second commit for an epoch loses", () => {
    const path = dbPath();
    const a = openSqliteStore(path);
    const b = openSqliteStore(path);
    const k1 = keyPackage("bob@example.org", "phone", { createdAt: 1 });
    const k2 = keyPackage("bob@example.org", "phone", { createdAt: 2 });
    a.publishKeyPackage(k1);
    a.publishKeyPackage(k2);
    expect(b.claimKeyPackages("bob@example.org", 1)).toEqual([k1]);
    expect(a.claimKeyPackages("bob@example.org", 1)).toEqual([k2]);
    expect(b.claimKeyPackages("bob@example.org", 1)).toEqual([]);

    a.createGroup(newGroup("aa01", { epoch: 5n }));
    expect(b.appendCommit("aa01", 5n, entry(1)).kind).toBe("accepted");
    expect(a.appendCommit("aa01", 5n, entry(2))).toEqual({ kind: "wrongEpoch", currentEpoch: 6n });
    expect(a.readLog("aa01", { max: 5 }).entries.map((e) => e.stamp)).toEqual([entry(1).stamp]);
    a.close();
    b.close();
  });
});

describe("SqliteStore across processes", () => {
  let tree: Transpiled;
  beforeAll(() => {
    tree = transpileTree(["src/component/store/sqlite-store.ts"]);
  });
  afterAll(() => tree.dispose());

  const STORE = (): string => JSON.stringify(tree.js("src/component/store/sqlite-store.ts"));

  it("concurrent claims from several processes never hand out the same KeyPackage", async () => {
    const path = dbPath();
    const owner = "bob@example.org";
    const setup = openSqliteStore(path);
    const published = new Set<string>();
    for (const device of ["laptop", "phone"]) {
      for (let i = 0; i < 80; i++) {
        const k = keyPackage(owner, device, { createdAt: i });
        setup.publishKeyPackage(k);
        published.add(k.ref);
      }
      setup.publishKeyPackage(keyPackage(owner, device, { lastResort: true }));
    }
    setup.close();

    const worker = join(tree.root, "claim-worker.mjs");
    writeFileSync(
      worker,
      `import { openSqliteStore } from ${STORE()};
       const [path, owner, startAt] = process.argv.slice(2);
       const store = openSqliteStore(path, { busyTimeoutMs: 60000 });
       while (Date.now() < Number(startAt)) {} // start all workers at the same moment
       const ordinary = [];
       const pause = new Int32Array(new SharedArrayBuffer(4));
       let claims = 0;
       for (;;) {
         const got = store.claimKeyPackages(owner, 1);
         claims++;
         const fresh = got.filter((k) => !k.lastResort);
         ordinary.push(...fresh.map((k) => k.ref));
         if (fresh.length === 0) break;
         Atomics.wait(pause, 0, 0, 3); // let the others at the lock (SQLite's busy handler is not fair)
       }
       store.close();
       process.stdout.write(JSON.stringify({ ordinary, claims }));`,
    );
    const startAt = String(Date.now() + 2500);
    const results = await Promise.all([1, 2, 3, 4].map(() => runNode(worker, [path, owner, startAt])));
    const claimed: string[] = [];
    let busyWorkers = 0;
    for (const r of results) {
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout) as { ordinary: string[]; claims: number };
      claimed.push(...out.ordinary);
      if (out.ordinary.length > 0) busyWorkers++;
    }
    expect(claimed).toHaveLength(published.size); // every KeyPackage handed out once ...
    expect(new Set(claimed)).toEqual(published); // ... and no duplicates
    expect(busyWorkers).toBeGreaterThan(1); // the workers really competed
    const after = openSqliteStore(path);
    expect(after.listKeyPackages(owner).every((k) => k.lastResort)).toBe(true);
    expect(after.listKeyPackages(owner)).toHaveLength(2); // last-resort ones are kept
    after.close();
  });

  it("an accepted commit survives SIGKILL right after appendCommit returns", async () => {
    const path = dbPath();
    const setup = openSqliteStore(path);
    setup.createGroup(newGroup("aa01", { epoch: 0n }));
    setup.close();

    const script = join(tree.root, "crash-worker.mjs");
    writeFileSync(
      script,
      `import { openSqliteStore } from ${STORE()};
       const [path, count] = process.argv.slice(2);
       const store = openSqliteStore(path);
       for (let i = 0; i < Number(count); i++) {
         const r = store.appendCommit("aa01", BigInt(i), { sender: "alice@example.org/a", bytes: new Uint8Array([i + 1, 7, 7]), stamp: i },
           { groupInfo: new Uint8Array([i + 1]), welcome: { bytes: new Uint8Array([9, i]), recipients: [{ jid: "bob@example.org/p" + i, keyPackageRef: "ab" }] } });
         if (r.kind !== "accepted") process.exit(3);
       }
       process.kill(process.pid, "SIGKILL"); // no close(), no checkpoint, no exit handlers`,
    );
    const r = await runNode(script, [path, "12"]);
    expect(r.signal).toBe("SIGKILL");
    expect(existsSync(`${path}-wal`) && statSync(`${path}-wal`).size > 0).toBe(true); // the commits live in the WAL

    const store = openSqliteStore(path);
    expect(store.getGroup("aa01").epoch).toBe(12n);
    const log = store.readLog("aa01", { max: 100 });
    expect(log.count).toBe(24);
    expect(log.entries.filter((e) => e.kind === "commit").map((e) => e.bytes[0])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(store.getGroupInfo("aa01")).toEqual({ epoch: 12n, bytes: new Uint8Array([12]) });
    expect(store.pendingWelcomesFor("bob@example.org/p11")).toHaveLength(1);
    store.close();
  });
});

describe("SqliteStore migrations", () => {
  it("has consecutive versions starting at 1", () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
  });

  it("upgrades a version-1 database, keeping and back-filling its data", () => {
    const path = dbPath();
    const v1 = new Database(path);
    expect(migrate(v1, 1)).toBe(0);
    // Rows as the version-1 code wrote them.
    v1.prepare("INSERT INTO key_packages VALUES (?, ?, ?, ?, ?, ?, ?)").run("ab01", "bob@example.org", "phone", 1, 0, Buffer.from([1, 2]), 10);
    v1.prepare("INSERT INTO key_packages VALUES (?, ?, ?, ?, ?, ?, ?)").run("ab02", "bob@example.org", "laptop", 1, 1, Buffer.from([3]), 11);
    v1.prepare("INSERT INTO groups VALUES (?, ?, ?, ?, ?, ?, ?, ?)").run(
      "aa01",
      "room@conference.example.org",
      JSON.stringify(newGroup().policy),
      "o@example.org/x",
      3,
      "public",
      1,
      2,
    );
    v1.prepare("INSERT INTO group_log VALUES (?, ?, ?, ?, ?, ?, ?)").run("aa01", 1, 2, "commit", "a@example.org/b", Buffer.from([5]), 99);
    expect(v1.prepare("SELECT name FROM sqlite_master WHERE name = 'welcome_routes'").get()).toBeUndefined();
    v1.close();

    const store = openSqliteStore(path);
    expect(store.countKeyPackages("bob@example.org")).toEqual([
      { deviceId: "laptop", ordinary: 0, hasLastResort: true },
      { deviceId: "phone", ordinary: 1, hasLastResort: false },
    ]);
    expect(store.readLog("aa01", { max: 10 }).entries).toEqual([
      { groupId: "aa01", seq: 1, epoch: 2n, kind: "commit", sender: "a@example.org/b", bytes: new Uint8Array([5]), stamp: 99 },
    ]);
    expect(store.appendCommit("aa01", 3n, entry(1), { welcome: { bytes: new Uint8Array([1]), recipients: [{ jid: "c@example.org/d", keyPackageRef: "cd" }] } })).toEqual({
      kind: "accepted",
      seq: 2,
      epoch: 4n,
      welcomeSeq: 3,
    });
    store.close();
    const raw = new Database(path);
    expect(raw.prepare("SELECT version FROM schema_migrations ORDER BY version").pluck().all()).toEqual([1, 2, 3]);
    raw.close();
  });

  it("re-opening applies nothing twice", () => {
    const path = dbPath();
    openSqliteStore(path).close();
    openSqliteStore(path).close();
    const raw = new Database(path);
    expect(raw.prepare("SELECT COUNT(*) FROM schema_migrations").pluck().get()).toBe(SCHEMA_VERSION);
    raw.close();
  });

  it("refuses a database written by newer code, leaving it untouched", () => {
    const path = dbPath();
    openSqliteStore(path).close();
    const raw = new Database(path);
    raw.prepare("INSERT INTO schema_migrations VALUES (?, ?, ?)").run(SCHEMA_VERSION + 1, "from the future", 0);
    raw.close();
    const e = errorOf(() => openSqliteStore(path));
    expect(e).toBeInstanceOf(StoreError);
    expect((e as StoreError).code).toBe("store.schema_too_new");
    expect((e as Error).message).toContain(`version ${SCHEMA_VERSION + 1}`);
    const after = new Database(path);
    expect(after.prepare("SELECT MAX(version) FROM schema_migrations").pluck().get()).toBe(SCHEMA_VERSION + 1);
    after.close();
  });

  it("refuses a database whose migrations are not ours", () => {
    const path = dbPath();
    const raw = new Database(path);
    raw.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
    raw.prepare("INSERT INTO schema_migrations VALUES (1, 'something else', 0)").run();
    raw.close();
    expect((errorOf(() => openSqliteStore(path)) as StoreError).code).toBe("store.open_failed");
  });

  it("rolls a failing upgrade back completely", () => {
    const path = dbPath();
    const v1 = new Database(path);
    migrate(v1, 1);
    v1.exec("CREATE TABLE external_senders (x INTEGER)"); // makes migration 2 fail half-way
    v1.close();
    const e = errorOf(() => openSqliteStore(path));
    expect(e).toBeInstanceOf(StoreError);
    expect((e as StoreError).code).toBe("store.migration_failed");
    const raw = new Database(path);
    expect(raw.prepare("SELECT MAX(version) FROM schema_migrations").pluck().get()).toBe(1);
    expect(raw.prepare("SELECT name FROM sqlite_master WHERE name = 'welcome_routes'").get()).toBeUndefined();
    raw.close();
  });
});

/**
 * Schema of the SQLite store, as an ordered list of migrations. Version N is the state after
 * applying migrations 1..N. `schema_migrations` records each applied version with its name.
 *
 * Rules: never edit a released migration, only append new ones; each migration runs inside the
 * opening transaction together with all the others, so a failing step leaves the database as it
 * was. A database whose newest version is above {@link MIGRATIONS}' length was written by newer
 * code and is refused (its meaning is unknown to this code).
 * @module
 */

import type Database from "better-sqlite3";
import { StoreError } from "../errors.js";

export interface Migration {
  /** 1, 2, 3, ... in order. */
  readonly version: number;
  /** Short stable name, recorded in `schema_migrations` and checked at open. */
  readonly name: string;
  readonly steps: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "key packages, groups, group log",
    steps: [
      // Protocol §2. `ref` is the KeyPackageRef (RFC 9420 §5.2), lowercase hex. The implicit rowid
      // orders KeyPackages published in the same millisecond.
      `CREATE TABLE key_packages (
         ref TEXT PRIMARY KEY,
         owner TEXT NOT NULL,
         device_id TEXT NOT NULL,
         cipher_suite INTEGER NOT NULL,
         last_resort INTEGER NOT NULL CHECK (last_resort IN (0, 1)),
         bytes BLOB NOT NULL,
         created_at INTEGER NOT NULL
       )`,
      `CREATE INDEX key_packages_by_owner ON key_packages (owner, device_id, cipher_suite, last_resort, created_at)`,
      // At most one last-resort KeyPackage per device (protocol §2).
      `CREATE UNIQUE INDEX key_packages_one_last_resort ON key_packages (owner, device_id) WHERE last_resort = 1`,
      // Protocol §3. `policy` is JSON; `next_seq` is the next log position (never reused).
      `CREATE TABLE groups (
         group_id TEXT PRIMARY KEY,
         room_jid TEXT NOT NULL UNIQUE,
         policy TEXT NOT NULL,
         created_by TEXT NOT NULL,
         epoch INTEGER NOT NULL CHECK (epoch >= 0),
         handshake_wire_format TEXT NOT NULL CHECK (handshake_wire_format IN ('public', 'private')),
         created_at INTEGER NOT NULL,
         next_seq INTEGER NOT NULL DEFAULT 1
       )`,
      `CREATE TABLE group_info (
         group_id TEXT PRIMARY KEY REFERENCES groups (group_id) ON DELETE CASCADE,
         epoch INTEGER NOT NULL,
         bytes BLOB NOT NULL
       )`,
      // Protocol §4, §7: the total order of a group's handshake messages.
      `CREATE TABLE group_log (
         group_id TEXT NOT NULL REFERENCES groups (group_id) ON DELETE CASCADE,
         seq INTEGER NOT NULL CHECK (seq >= 1),
         epoch INTEGER NOT NULL,
         kind TEXT NOT NULL CHECK (kind IN ('commit', 'proposal', 'welcome-record')),
         sender TEXT NOT NULL,
         bytes BLOB NOT NULL,
         stamp INTEGER NOT NULL,
         PRIMARY KEY (group_id, seq)
       ) WITHOUT ROWID`,
      `CREATE INDEX group_log_by_epoch ON group_log (group_id, epoch, seq)`,
      // Second line of defence for "first valid commit wins": one commit per epoch.
      `CREATE UNIQUE INDEX group_log_one_commit_per_epoch ON group_log (group_id, epoch) WHERE kind = 'commit'`,
    ],
  },
  {
    version: 2,
    name: "welcome routing, external senders, device registry",
    steps: [
      // Protocol §5: which device gets which Welcome. The rowid orders pending Welcomes.
      `CREATE TABLE welcome_routes (
         group_id TEXT NOT NULL,
         commit_seq INTEGER NOT NULL,
         welcome_seq INTEGER NOT NULL,
         recipient_jid TEXT NOT NULL,
         key_package_ref TEXT NOT NULL,
         delivered INTEGER NOT NULL DEFAULT 0 CHECK (delivered IN (0, 1)),
         PRIMARY KEY (group_id, commit_seq, recipient_jid),
         FOREIGN KEY (group_id, commit_seq) REFERENCES group_log (group_id, seq) ON DELETE CASCADE
       )`,
      `CREATE INDEX welcome_routes_pending ON welcome_routes (recipient_jid, delivered)`,
      // RFC 9420 §12.1.8.1 external_senders, and the DS's index in it.
      `CREATE TABLE external_senders (
         group_id TEXT PRIMARY KEY REFERENCES groups (group_id) ON DELETE CASCADE,
         bytes BLOB NOT NULL,
         ds_index INTEGER CHECK (ds_index IS NULL OR ds_index >= 0)
       )`,
      // Devices that ever published, so that a drained device still gets low-water notices.
      `CREATE TABLE key_package_devices (
         owner TEXT NOT NULL,
         device_id TEXT NOT NULL,
         first_published_at INTEGER NOT NULL,
         PRIMARY KEY (owner, device_id)
       ) WITHOUT ROWID`,
      `INSERT OR IGNORE INTO key_package_devices (owner, device_id, first_published_at)
         SELECT owner, device_id, MIN(created_at) FROM key_packages GROUP BY owner, device_id`,
    ],
  },
  {
    version: 3,
    name: "observer checkpoints",
    steps: [
      // Where the DS's public view of a PublicMessage group restarts from (../observer-validator.ts):
      // a signed GroupInfo of `epoch` and the ratchet tree of that epoch (RFC 9420 §12.4.3.3).
      `CREATE TABLE observer_checkpoints (
         group_id TEXT PRIMARY KEY REFERENCES groups (group_id) ON DELETE CASCADE,
         epoch INTEGER NOT NULL CHECK (epoch >= 0),
         group_info BLOB NOT NULL,
         ratchet_tree BLOB NOT NULL
       )`,
    ],
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Bring `db` to `target` (default: the latest version) in one IMMEDIATE transaction. Refuses a
 * database newer than this code, or one whose recorded migrations have other names (not ours).
 * @returns the version before migrating.
 */
export function migrate(db: Database.Database, target: number = SCHEMA_VERSION): number {
  if (!Number.isInteger(target) || target < 1 || target > SCHEMA_VERSION) {
    throw new StoreError("store.migration_failed", `migration target must be in 1..${SCHEMA_VERSION}`);
  }
  const run = db.transaction((): number => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
               version INTEGER PRIMARY KEY,
               name TEXT NOT NULL,
               applied_at INTEGER NOT NULL
             )`);
    const applied = db.prepare("SELECT version, name FROM schema_migrations ORDER BY version").all() as { version: number; name: string }[];
    const current = applied.reduce((m, r) => Math.max(m, r.version), 0);
    if (current > SCHEMA_VERSION) {
      throw new StoreError(
        "store.schema_too_new",
        `database schema version ${current} is newer than this gateway supports (${SCHEMA_VERSION}); upgrade the gateway`,
      );
    }
    applied.forEach((r, i) => {
      const m = MIGRATIONS[i];
      if (m === undefined || r.version !== m.version || r.name !== m.name) {
        throw new StoreError("store.open_failed", `schema_migrations does not match this gateway's migrations at version ${r.version}`);
      }
    });
    const insert = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
    for (const m of MIGRATIONS) {
      if (m.version <= current || m.version > target) continue;
      for (const step of m.steps) db.exec(step);
      insert.run(m.version, m.name, Date.now());
    }
    return current;
  });
  try {
    return run.immediate();
  } catch (e) {
    if (e instanceof StoreError) throw e;
    throw new StoreError("store.migration_failed", "applying schema migrations failed", { cause: e });
  }
}

/**
 * The production {@link DsStore}: one SQLite file through better-sqlite3 (synchronous API).
 *
 * Connection settings, applied at every open:
 * - `journal_mode=WAL`: readers never block the writer; several gateway processes or tools may
 *   open the same file.
 * - `synchronous=FULL`: the WAL is fsynced at every commit. With NORMAL, a WAL-mode commit
 *   survives an application crash but may be lost on power failure or an OS crash. The DS announces
 *   an accepted commit to the submitter and the room right after `appendCommit` returns; losing it
 *   afterwards would let a *different* commit win the same epoch on restart, forking the group.
 *   One fsync per handshake message is cheap at handshake rates.
 * - `foreign_keys=ON` (deleting a group removes its log, GroupInfo and routing records) and a busy
 *   timeout (default 5 s) so that concurrent writers wait instead of failing.
 * Every writing method is one IMMEDIATE transaction: it takes the write lock at BEGIN, so two
 * connections never both read the same KeyPackages and then both delete them (claim atomicity
 * across processes), and a read-then-write never fails with SQLITE_BUSY_SNAPSHOT.
 * Schema: see ./migrations.ts, applied at open.
 * @module
 */

import Database from "better-sqlite3";
import { DsError, StoreError } from "../errors.js";
import type { GroupPolicy } from "../config.js";
import { migrate } from "./migrations.js";
import {
  groupFromRow,
  kpFromRow,
  prepare,
  sameKeyPackage,
  welcomeFromRow,
  type GroupRow,
  type KeyPackageRow,
  type LogRow,
  type Statements,
  type WelcomeRow,
} from "./sqlite-statements.js";
import type {
  AppendCommitOptions,
  AppendResult,
  DeviceKeyPackageCount,
  DsStore,
  ExternalSendersInfo,
  GroupRecord,
  KeyPackageRecord,
  LogEntry,
  LogEntryInput,
  LogKind,
  LogPage,
  LogQuery,
  NewGroup,
  ObserverCheckpoint,
  PublishOptions,
  PublishResult,
  StoredBlob,
  StoredGroupInfo,
  WelcomeRecord,
} from "./types.js";
import {
  checkAppendCommit,
  checkBareJid,
  checkBytes,
  checkCipherSuite,
  checkEpoch,
  checkExternalSenders,
  checkFullJid,
  checkHex,
  checkInt,
  checkKeyPackageRecord,
  checkLogEntry,
  checkLogQuery,
  checkNewGroup,
  checkObserverCheckpoint,
  checkPolicy,
  compareStrings,
} from "./validate.js";

export interface SqliteStoreOptions {
  /** How long a writer waits for another connection's lock, in ms. Default 5000. */
  readonly busyTimeoutMs?: number;
}

/** Open (creating and migrating if needed) the store at `path` (`:memory:` for a private in-memory database). */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteStore {
  return new SqliteStore(path, options);
}

export class SqliteStore implements DsStore {
  readonly #db: Database.Database;
  readonly #sql: Statements;

  constructor(path: string, options: SqliteStoreOptions = {}) {
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    checkInt("options.busyTimeoutMs", busyTimeoutMs, 0, 600_000);
    let db: Database.Database;
    try {
      db = new Database(path, { timeout: busyTimeoutMs });
    } catch (e) {
      throw new StoreError("store.open_failed", `cannot open database ${path}`, { cause: e });
    }
    try {
      db.pragma("journal_mode = WAL"); // "memory" for :memory: databases, which have no WAL
      db.pragma("synchronous = FULL");
      db.pragma("foreign_keys = ON");
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      migrate(db);
      this.#sql = prepare(db);
    } catch (e) {
      db.close();
      if (e instanceof StoreError) throw e;
      throw new StoreError("store.open_failed", `cannot open database ${path}`, { cause: e });
    }
    this.#db = db;
  }

  /** Run `fn` in an IMMEDIATE transaction (write lock taken at BEGIN). */
  #write<T>(fn: () => T): T {
    this.#open();
    return this.#db.transaction(fn).immediate();
  }

  /** Run `fn` in a DEFERRED transaction: a consistent snapshot for multi-statement reads. */
  #read<T>(fn: () => T): T {
    this.#open();
    return this.#db.transaction(fn).deferred();
  }

  #open(): void {
    if (!this.#db.open) throw new StoreError("store.closed", "the store is closed");
  }

  /** The connection's durability settings, for the startup log and tests. */
  connectionSettings(): { journalMode: string; synchronous: "off" | "normal" | "full" | "extra"; foreignKeys: boolean; busyTimeoutMs: number } {
    this.#open();
    const sync = ["off", "normal", "full", "extra"] as const;
    return {
      journalMode: String(this.#db.pragma("journal_mode", { simple: true })),
      synchronous: sync[Number(this.#db.pragma("synchronous", { simple: true }))] ?? "off",
      foreignKeys: Number(this.#db.pragma("foreign_keys", { simple: true })) === 1,
      busyTimeoutMs: Number(this.#db.pragma("busy_timeout", { simple: true })),
    };
  }

  // -------------------------------------------------------------------------------------------
  // KeyPackages
  // -------------------------------------------------------------------------------------------

  publishKeyPackage(record: KeyPackageRecord, options: PublishOptions = {}): PublishResult {
    this.#open();
    checkKeyPackageRecord(record);
    const max = options.maxOrdinaryPerDevice;
    if (max !== undefined) checkInt("options.maxOrdinaryPerDevice", max, 0);
    const s = this.#sql;
    return this.#write((): PublishResult => {
      const existing = s.kpByRef.get(record.ref) as KeyPackageRow | undefined;
      if (existing !== undefined) {
        if (sameKeyPackage(existing, record)) return { kind: "duplicate" };
        throw new DsError("ds.ref_conflict", `KeyPackageRef ${record.ref} is already stored with different content`);
      }
      if (!record.lastResort && max !== undefined) {
        const count = (s.countOrdinary.get(record.owner, record.deviceId) as { n: number }).n;
        if (count >= max) return { kind: "limitReached", count };
      }
      let replacedLastResortRef: string | undefined;
      if (record.lastResort) {
        const old = s.lastResortOf.get(record.owner, record.deviceId) as { ref: string } | undefined;
        if (old !== undefined) {
          s.deleteKp.run(old.ref);
          replacedLastResortRef = old.ref;
        }
      }
      s.insertKp.run(record.ref, record.owner, record.deviceId, record.cipherSuite, record.lastResort ? 1 : 0, record.bytes, record.createdAt);
      s.insertDevice.run(record.owner, record.deviceId, record.createdAt);
      return replacedLastResortRef === undefined ? { kind: "stored" } : { kind: "stored", replacedLastResortRef };
    });
  }

  listKeyPackages(owner: string): KeyPackageRecord[] {
    this.#open();
    checkBareJid("owner", owner);
    return (this.#sql.kpsOf.all(owner) as KeyPackageRow[]).map(kpFromRow);
  }

  retractKeyPackage(owner: string, ref: string): boolean {
    this.#open();
    checkBareJid("owner", owner);
    checkHex("ref", ref);
    return this.#write(() => this.#sql.retractKp.run(ref, owner).changes > 0);
  }

  countKeyPackages(owner: string): DeviceKeyPackageCount[] {
    this.#open();
    checkBareJid("owner", owner);
    const rows = this.#sql.countByDevice.all(owner) as { device_id: string; ordinary: number; has_lr: number }[];
    return rows
      .map((r) => ({ deviceId: r.device_id, ordinary: r.ordinary, hasLastResort: r.has_lr === 1 }))
      .sort((a, b) => compareStrings(a.deviceId, b.deviceId));
  }

  claimKeyPackages(owner: string, cipherSuite: number): KeyPackageRecord[] {
    this.#open();
    checkBareJid("owner", owner);
    checkCipherSuite("cipherSuite", cipherSuite);
    const s = this.#sql;
    return this.#write(() => {
      // Ordered per device: ordinary before last-resort, oldest first; the first row per device wins.
      const rows = s.claimCandidates.all(owner, cipherSuite) as KeyPackageRow[];
      const best = new Map<string, KeyPackageRow>();
      for (const r of rows) if (!best.has(r.device_id)) best.set(r.device_id, r);
      const out: KeyPackageRecord[] = [];
      for (const deviceId of [...best.keys()].sort(compareStrings)) {
        const r = best.get(deviceId)!;
        if (r.last_resort === 0) s.deleteKp.run(r.ref); // RFC 9420 §16.8: last-resort ones stay
        out.push(kpFromRow(r));
      }
      return out;
    });
  }

  // -------------------------------------------------------------------------------------------
  // Groups
  // -------------------------------------------------------------------------------------------

  createGroup(group: NewGroup): GroupRecord {
    this.#open();
    checkNewGroup(group);
    const s = this.#sql;
    return this.#write(() => {
      if (s.groupById.get(group.groupId) !== undefined) throw new DsError("ds.group_exists", `group ${group.groupId} is already registered`);
      if (s.groupByRoom.get(group.roomJid) !== undefined) throw new DsError("ds.group_exists", `room ${group.roomJid} already has a group`);
      s.insertGroup.run(
        group.groupId,
        group.roomJid,
        JSON.stringify(group.policy),
        group.createdBy,
        group.epoch,
        group.handshakeWireFormat,
        group.createdAt,
      );
      if (group.groupInfo !== undefined) s.upsertGroupInfo.run(group.groupId, group.epoch, group.groupInfo);
      if (group.externalSenders !== undefined) s.upsertExternalSenders.run(group.groupId, group.externalSenders.bytes, group.externalSenders.dsIndex);
      return groupFromRow(s.groupById.get(group.groupId) as GroupRow);
    });
  }

  findGroup(groupId: string): GroupRecord | undefined {
    this.#open();
    checkHex("groupId", groupId);
    const row = this.#sql.groupById.get(groupId) as GroupRow | undefined;
    return row === undefined ? undefined : groupFromRow(row);
  }

  findGroupByRoom(roomJid: string): GroupRecord | undefined {
    this.#open();
    checkBareJid("roomJid", roomJid);
    const row = this.#sql.groupByRoom.get(roomJid) as GroupRow | undefined;
    return row === undefined ? undefined : groupFromRow(row);
  }

  getGroup(groupId: string): GroupRecord {
    return groupFromRow(this.#groupRow(groupId));
  }

  updateGroupPolicy(groupId: string, policy: GroupPolicy): void {
    this.#open();
    checkHex("groupId", groupId);
    checkPolicy("policy", policy);
    this.#write(() => {
      if (this.#sql.updatePolicy.run(JSON.stringify(policy), groupId).changes === 0) throw unknownGroup(groupId);
    });
  }

  deleteGroup(groupId: string): boolean {
    this.#open();
    checkHex("groupId", groupId);
    return this.#write(() => this.#sql.deleteGroup.run(groupId).changes > 0);
  }

  getGroupInfo(groupId: string): StoredGroupInfo | undefined {
    return this.#read(() => {
      this.#groupRow(groupId);
      const r = this.#sql.groupInfo.get(groupId) as { epoch: bigint; bytes: Buffer } | undefined;
      return r === undefined ? undefined : { epoch: r.epoch, bytes: new Uint8Array(r.bytes) };
    });
  }

  setGroupInfo(groupId: string, epoch: bigint, bytes: Uint8Array): { readonly kind: "stored" } | { readonly kind: "wrongEpoch"; readonly currentEpoch: bigint } {
    this.#open();
    checkHex("groupId", groupId);
    checkEpoch("epoch", epoch);
    checkBytes("bytes", bytes);
    return this.#write(() => {
      const g = this.#groupRow(groupId);
      if (g.epoch !== epoch) return { kind: "wrongEpoch" as const, currentEpoch: g.epoch };
      this.#sql.upsertGroupInfo.run(groupId, epoch, bytes);
      return { kind: "stored" as const };
    });
  }

  getExternalSenders(groupId: string): ExternalSendersInfo | undefined {
    return this.#read(() => {
      this.#groupRow(groupId);
      const r = this.#sql.externalSenders.get(groupId) as { bytes: Buffer; ds_index: number | null } | undefined;
      return r === undefined ? undefined : { bytes: new Uint8Array(r.bytes), dsIndex: r.ds_index };
    });
  }

  setExternalSenders(groupId: string, info: ExternalSendersInfo): void {
    this.#open();
    checkHex("groupId", groupId);
    checkExternalSenders("info", info);
    this.#write(() => {
      this.#groupRow(groupId);
      this.#sql.upsertExternalSenders.run(groupId, info.bytes, info.dsIndex);
    });
  }

  getObserverCheckpoint(groupId: string): ObserverCheckpoint | undefined {
    return this.#read(() => {
      this.#groupRow(groupId);
      const r = this.#sql.observerCheckpoint.get(groupId) as { epoch: bigint; group_info: Buffer; ratchet_tree: Buffer } | undefined;
      return r === undefined ? undefined : { epoch: r.epoch, groupInfo: new Uint8Array(r.group_info), ratchetTree: new Uint8Array(r.ratchet_tree) };
    });
  }

  setObserverCheckpoint(groupId: string, checkpoint: ObserverCheckpoint): { readonly kind: "stored" } | { readonly kind: "wrongEpoch"; readonly currentEpoch: bigint } {
    this.#open();
    checkHex("groupId", groupId);
    checkObserverCheckpoint("checkpoint", checkpoint);
    return this.#write(() => {
      const g = this.#groupRow(groupId);
      if (checkpoint.epoch > g.epoch) return { kind: "wrongEpoch" as const, currentEpoch: g.epoch };
      this.#sql.upsertObserverCheckpoint.run(groupId, checkpoint.epoch, checkpoint.groupInfo, checkpoint.ratchetTree);
      return { kind: "stored" as const };
    });
  }

  /** The group's row; validates the id and throws `ds.unknown_group`. */
  #groupRow(groupId: string): GroupRow {
    this.#open();
    checkHex("groupId", groupId);
    const row = this.#sql.groupById.get(groupId) as GroupRow | undefined;
    if (row === undefined) throw unknownGroup(groupId);
    return row;
  }

  // -------------------------------------------------------------------------------------------
  // Log
  // -------------------------------------------------------------------------------------------

  appendCommit(groupId: string, expectedEpoch: bigint, entry: LogEntryInput, options?: AppendCommitOptions): AppendResult {
    this.#open();
    checkAppendCommit(groupId, expectedEpoch, entry, options);
    const s = this.#sql;
    return this.#write((): AppendResult => {
      const g = s.groupState.get(groupId) as { epoch: bigint; next_seq: bigint } | undefined;
      if (g === undefined) throw unknownGroup(groupId);
      if (g.epoch !== expectedEpoch) return { kind: "wrongEpoch", currentEpoch: g.epoch };
      const newEpoch = expectedEpoch + 1n;
      const seq = Number(g.next_seq);
      s.insertLog.run(groupId, seq, expectedEpoch, "commit", entry.sender, entry.bytes, entry.stamp);
      let welcomeSeq: number | undefined;
      if (options?.welcome !== undefined) {
        welcomeSeq = seq + 1;
        s.insertLog.run(groupId, welcomeSeq, newEpoch, "welcome-record", entry.sender, options.welcome.bytes, entry.stamp);
        for (const r of options.welcome.recipients) s.insertWelcome.run(groupId, seq, welcomeSeq, r.jid, r.keyPackageRef);
      }
      s.advanceGroup.run(newEpoch, (welcomeSeq ?? seq) + 1, groupId);
      if (options?.groupInfo !== undefined) s.upsertGroupInfo.run(groupId, newEpoch, options.groupInfo);
      return welcomeSeq === undefined ? { kind: "accepted", seq, epoch: newEpoch } : { kind: "accepted", seq, epoch: newEpoch, welcomeSeq };
    });
  }

  appendProposal(groupId: string, epoch: bigint, entry: LogEntryInput): AppendResult {
    this.#open();
    checkHex("groupId", groupId);
    checkEpoch("epoch", epoch);
    checkLogEntry(entry);
    const s = this.#sql;
    return this.#write((): AppendResult => {
      const g = s.groupState.get(groupId) as { epoch: bigint; next_seq: bigint } | undefined;
      if (g === undefined) throw unknownGroup(groupId);
      if (g.epoch !== epoch) return { kind: "wrongEpoch", currentEpoch: g.epoch };
      const seq = Number(g.next_seq);
      s.insertLog.run(groupId, seq, epoch, "proposal", entry.sender, entry.bytes, entry.stamp);
      s.advanceGroup.run(epoch, seq + 1, groupId);
      return { kind: "accepted", seq, epoch };
    });
  }

  readLog(groupId: string, query: LogQuery): LogPage {
    this.#open();
    checkHex("groupId", groupId);
    checkLogQuery(query);
    const s = this.#sql;
    return this.#read(() => {
      this.#groupRow(groupId);
      const fromEpoch = query.afterEpoch ?? 0n;
      const count = Number((s.logCount.get(groupId, fromEpoch) as { n: bigint }).n);
      const rows = s.logPage.all(groupId, fromEpoch, query.afterSeq ?? 0, query.max + 1) as LogRow[];
      const entries = rows.slice(0, query.max).map((r): LogEntry => ({
        groupId,
        seq: Number(r.seq),
        epoch: r.epoch,
        kind: r.kind as LogKind,
        sender: r.sender,
        bytes: new Uint8Array(r.bytes),
        stamp: Number(r.stamp),
      }));
      const page: LogPage = { entries, count, complete: rows.length <= query.max };
      return entries.length === 0 ? page : { ...page, first: entries[0]!.seq, last: entries[entries.length - 1]!.seq };
    });
  }

  // -------------------------------------------------------------------------------------------
  // Welcome routing
  // -------------------------------------------------------------------------------------------

  listWelcomes(groupId: string, commitSeq?: number): WelcomeRecord[] {
    this.#open();
    checkHex("groupId", groupId);
    if (commitSeq !== undefined) checkInt("commitSeq", commitSeq, 1);
    return this.#read(() => {
      this.#groupRow(groupId);
      const rows = (commitSeq === undefined ? this.#sql.welcomesOf.all(groupId) : this.#sql.welcomesOfCommit.all(groupId, commitSeq)) as WelcomeRow[];
      return rows.map(welcomeFromRow).sort((a, b) => a.commitSeq - b.commitSeq || compareStrings(a.jid, b.jid));
    });
  }

  pendingWelcomesFor(recipientJid: string): WelcomeRecord[] {
    this.#open();
    checkFullJid("recipientJid", recipientJid);
    return (this.#sql.pendingWelcomes.all(recipientJid) as WelcomeRow[]).map(welcomeFromRow);
  }

  markWelcomeDelivered(groupId: string, commitSeq: number, recipientJid: string): boolean {
    this.#open();
    checkHex("groupId", groupId);
    checkInt("commitSeq", commitSeq, 1);
    checkFullJid("recipientJid", recipientJid);
    return this.#write(() => this.#sql.markDelivered.run(groupId, commitSeq, recipientJid).changes > 0);
  }

  // -------------------------------------------------------------------------------------------
  // Maintenance
  // -------------------------------------------------------------------------------------------

  *scanBlobs(): Iterable<StoredBlob> {
    this.#open();
    const tables: [string, string][] = [
      ["key_packages.bytes", "SELECT ref AS key, bytes FROM key_packages"],
      ["group_info.bytes", "SELECT group_id AS key, bytes FROM group_info"],
      ["external_senders.bytes", "SELECT group_id AS key, bytes FROM external_senders"],
      ["observer_checkpoints.group_info", "SELECT group_id AS key, group_info AS bytes FROM observer_checkpoints"],
      ["observer_checkpoints.ratchet_tree", "SELECT group_id AS key, ratchet_tree AS bytes FROM observer_checkpoints"],
      ["group_log.bytes", "SELECT group_id || '#' || seq AS key, bytes FROM group_log"],
    ];
    for (const [location, sql] of tables) {
      const rows = this.#db.prepare(sql).all() as { key: string; bytes: Buffer }[];
      for (const r of rows) yield { location, key: r.key, bytes: new Uint8Array(r.bytes) };
    }
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}

function unknownGroup(groupId: string): DsError {
  return new DsError("ds.unknown_group", `group ${groupId} is not registered`);
}

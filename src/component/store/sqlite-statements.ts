/**
 * SQL of the SQLite store: row shapes, the prepared statements (one set per connection) and the
 * row ↔ record conversions. Columns follow ./migrations.ts.
 * @module
 */

import type Database from "better-sqlite3";
import type { GroupPolicy } from "../config.js";
import type { GroupRecord, HandshakeWireFormat, KeyPackageRecord, WelcomeRecord } from "./types.js";

export interface KeyPackageRow {
  ref: string;
  owner: string;
  device_id: string;
  cipher_suite: number;
  last_resort: number;
  bytes: Buffer;
  created_at: number;
}

export interface GroupRow {
  group_id: string;
  room_jid: string;
  policy: string;
  created_by: string;
  epoch: bigint;
  handshake_wire_format: string;
  created_at: bigint;
}

export interface LogRow {
  seq: bigint;
  epoch: bigint;
  kind: string;
  sender: string;
  bytes: Buffer;
  stamp: bigint;
}

export interface WelcomeRow {
  group_id: string;
  commit_seq: number;
  welcome_seq: number;
  recipient_jid: string;
  key_package_ref: string;
  delivered: number;
}

const KP_COLUMNS = "ref, owner, device_id, cipher_suite, last_resort, bytes, created_at";
const GROUP_COLUMNS = "group_id, room_jid, policy, created_by, epoch, handshake_wire_format, created_at";
const WELCOME_COLUMNS = "group_id, commit_seq, welcome_seq, recipient_jid, key_package_ref, delivered";

/** Names of the prepared statements. */
export type StatementName =
  | "kpByRef"
  | "kpsOf"
  | "countOrdinary"
  | "lastResortOf"
  | "insertKp"
  | "insertDevice"
  | "deleteKp"
  | "retractKp"
  | "countByDevice"
  | "claimCandidates"
  | "groupById"
  | "groupByRoom"
  | "groupState"
  | "insertGroup"
  | "updatePolicy"
  | "advanceGroup"
  | "deleteGroup"
  | "groupInfo"
  | "upsertGroupInfo"
  | "externalSenders"
  | "upsertExternalSenders"
  | "observerCheckpoint"
  | "upsertObserverCheckpoint"
  | "insertLog"
  | "logCount"
  | "logPage"
  | "insertWelcome"
  | "welcomesOf"
  | "welcomesOfCommit"
  | "pendingWelcomes"
  | "markDelivered";

export type Statements = Readonly<Record<StatementName, Database.Statement>>;

/** All statements, prepared once per connection. Reads of epochs use safe integers (bigint). */
export function prepare(db: Database.Database): Statements {
  return {
    kpByRef: db.prepare(`SELECT ${KP_COLUMNS} FROM key_packages WHERE ref = ?`),
    kpsOf: db.prepare(`SELECT ${KP_COLUMNS} FROM key_packages WHERE owner = ? ORDER BY created_at, rowid`),
    countOrdinary: db.prepare("SELECT COUNT(*) AS n FROM key_packages WHERE owner = ? AND device_id = ? AND last_resort = 0"),
    lastResortOf: db.prepare("SELECT ref FROM key_packages WHERE owner = ? AND device_id = ? AND last_resort = 1"),
    insertKp: db.prepare(`INSERT INTO key_packages (${KP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`),
    insertDevice: db.prepare("INSERT OR IGNORE INTO key_package_devices (owner, device_id, first_published_at) VALUES (?, ?, ?)"),
    deleteKp: db.prepare("DELETE FROM key_packages WHERE ref = ?"),
    retractKp: db.prepare("DELETE FROM key_packages WHERE ref = ? AND owner = ?"),
    countByDevice: db.prepare(
      `SELECT d.device_id AS device_id,
              COALESCE(SUM(CASE WHEN k.last_resort = 0 THEN 1 ELSE 0 END), 0) AS ordinary,
              COALESCE(MAX(k.last_resort), 0) AS has_lr
         FROM key_package_devices d
         LEFT JOIN key_packages k ON k.owner = d.owner AND k.device_id = d.device_id
        WHERE d.owner = ?
        GROUP BY d.device_id`,
    ),
    claimCandidates: db.prepare(
      `SELECT ${KP_COLUMNS} FROM key_packages WHERE owner = ? AND cipher_suite = ?
        ORDER BY device_id, last_resort, created_at, rowid`,
    ),
    groupById: db.prepare(`SELECT ${GROUP_COLUMNS} FROM groups WHERE group_id = ?`).safeIntegers(true),
    groupByRoom: db.prepare(`SELECT ${GROUP_COLUMNS} FROM groups WHERE room_jid = ?`).safeIntegers(true),
    groupState: db.prepare("SELECT epoch, next_seq FROM groups WHERE group_id = ?").safeIntegers(true),
    insertGroup: db.prepare(`INSERT INTO groups (${GROUP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`),
    updatePolicy: db.prepare("UPDATE groups SET policy = ? WHERE group_id = ?"),
    advanceGroup: db.prepare("UPDATE groups SET epoch = ?, next_seq = ? WHERE group_id = ?"),
    deleteGroup: db.prepare("DELETE FROM groups WHERE group_id = ?"),
    groupInfo: db.prepare("SELECT epoch, bytes FROM group_info WHERE group_id = ?").safeIntegers(true),
    upsertGroupInfo: db.prepare(
      "INSERT INTO group_info (group_id, epoch, bytes) VALUES (?, ?, ?) ON CONFLICT (group_id) DO UPDATE SET epoch = excluded.epoch, bytes = excluded.bytes",
    ),
    externalSenders: db.prepare("SELECT bytes, ds_index FROM external_senders WHERE group_id = ?"),
    upsertExternalSenders: db.prepare(
      "INSERT INTO external_senders (group_id, bytes, ds_index) VALUES (?, ?, ?) ON CONFLICT (group_id) DO UPDATE SET bytes = excluded.bytes, ds_index = excluded.ds_index",
    ),
    observerCheckpoint: db.prepare("SELECT epoch, group_info, ratchet_tree FROM observer_checkpoints WHERE group_id = ?").safeIntegers(true),
    upsertObserverCheckpoint: db.prepare(
      `INSERT INTO observer_checkpoints (group_id, epoch, group_info, ratchet_tree) VALUES (?, ?, ?, ?)
       ON CONFLICT (group_id) DO UPDATE SET epoch = excluded.epoch, group_info = excluded.group_info, ratchet_tree = excluded.ratchet_tree`,
    ),
    insertLog: db.prepare("INSERT INTO group_log (group_id, seq, epoch, kind, sender, bytes, stamp) VALUES (?, ?, ?, ?, ?, ?, ?)"),
    logCount: db.prepare("SELECT COUNT(*) AS n FROM group_log WHERE group_id = ? AND epoch >= ?").safeIntegers(true),
    logPage: db
      .prepare("SELECT seq, epoch, kind, sender, bytes, stamp FROM group_log WHERE group_id = ? AND epoch >= ? AND seq > ? ORDER BY seq LIMIT ?")
      .safeIntegers(true),
    insertWelcome: db.prepare(
      "INSERT INTO welcome_routes (group_id, commit_seq, welcome_seq, recipient_jid, key_package_ref) VALUES (?, ?, ?, ?, ?)",
    ),
    welcomesOf: db.prepare(`SELECT ${WELCOME_COLUMNS} FROM welcome_routes WHERE group_id = ?`),
    welcomesOfCommit: db.prepare(`SELECT ${WELCOME_COLUMNS} FROM welcome_routes WHERE group_id = ? AND commit_seq = ?`),
    pendingWelcomes: db.prepare(`SELECT ${WELCOME_COLUMNS} FROM welcome_routes WHERE recipient_jid = ? AND delivered = 0 ORDER BY rowid`),
    markDelivered: db.prepare("UPDATE welcome_routes SET delivered = 1 WHERE group_id = ? AND commit_seq = ? AND recipient_jid = ?"),
  };
}


export function sameKeyPackage(row: KeyPackageRow, r: KeyPackageRecord): boolean {
  return (
    row.owner === r.owner &&
    row.device_id === r.deviceId &&
    row.cipher_suite === r.cipherSuite &&
    row.last_resort === (r.lastResort ? 1 : 0) &&
    Buffer.compare(row.bytes, r.bytes) === 0
  );
}

export function kpFromRow(r: KeyPackageRow): KeyPackageRecord {
  return {
    owner: r.owner,
    deviceId: r.device_id,
    ref: r.ref,
    cipherSuite: r.cipher_suite,
    lastResort: r.last_resort === 1,
    bytes: new Uint8Array(r.bytes),
    createdAt: r.created_at,
  };
}

export function groupFromRow(r: GroupRow): GroupRecord {
  return {
    groupId: r.group_id,
    roomJid: r.room_jid,
    policy: JSON.parse(r.policy) as GroupPolicy,
    createdBy: r.created_by,
    epoch: r.epoch,
    handshakeWireFormat: r.handshake_wire_format as HandshakeWireFormat,
    createdAt: Number(r.created_at),
  };
}

export function welcomeFromRow(r: WelcomeRow): WelcomeRecord {
  return {
    groupId: r.group_id,
    commitSeq: r.commit_seq,
    welcomeSeq: r.welcome_seq,
    jid: r.recipient_jid,
    keyPackageRef: r.key_package_ref,
    delivered: r.delivered === 1,
  };
}

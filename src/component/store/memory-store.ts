/**
 * In-memory {@link DsStore} for unit tests and throw-away gateways (`database: ":memory:"`).
 * Same semantics as the SQLite store (the same contract tests run against both): every method
 * validates all of its arguments first and only then changes state, so a failed call changes
 * nothing; since JavaScript runs one call at a time, each method is atomic. Nothing survives the
 * process.
 * @module
 */

import { DsError, StoreError } from "../errors.js";
import type { GroupPolicy } from "../config.js";
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

const copy = (b: Uint8Array): Uint8Array => new Uint8Array(b);
/** Policies are stored as JSON (as in SQLite), so what comes back is a fresh plain object. */
const clonePolicy = (p: GroupPolicy): GroupPolicy => JSON.parse(JSON.stringify(p)) as GroupPolicy;

interface StoredKeyPackage {
  readonly record: KeyPackageRecord;
  /** Insertion order, the tie-breaker after `createdAt` (SQLite: rowid). */
  readonly order: number;
}

interface StoredWelcome {
  readonly groupId: string;
  readonly commitSeq: number;
  readonly welcomeSeq: number;
  readonly jid: string;
  readonly keyPackageRef: string;
  delivered: boolean;
  readonly order: number;
}

interface GroupState {
  record: GroupRecord;
  nextSeq: number;
  groupInfo: StoredGroupInfo | undefined;
  externalSenders: ExternalSendersInfo | undefined;
  checkpoint: ObserverCheckpoint | undefined;
  readonly log: LogEntry[];
  readonly welcomes: StoredWelcome[];
}

export class MemoryStore implements DsStore {
  readonly #keyPackages = new Map<string, StoredKeyPackage>();
  /** owner → device ids that ever published. */
  readonly #devices = new Map<string, Set<string>>();
  readonly #groups = new Map<string, GroupState>();
  readonly #rooms = new Map<string, string>();
  #order = 0;
  #closed = false;

  // -------------------------------------------------------------------------------------------
  // KeyPackages
  // -------------------------------------------------------------------------------------------

  publishKeyPackage(record: KeyPackageRecord, options: PublishOptions = {}): PublishResult {
    this.#open();
    checkKeyPackageRecord(record);
    if (options.maxOrdinaryPerDevice !== undefined) checkInt("options.maxOrdinaryPerDevice", options.maxOrdinaryPerDevice, 0);
    const existing = this.#keyPackages.get(record.ref);
    if (existing !== undefined) {
      if (sameKeyPackage(existing.record, record)) return { kind: "duplicate" };
      throw new DsError("ds.ref_conflict", `KeyPackageRef ${record.ref} is already stored with different content`);
    }
    const mine = [...this.#keyPackages.values()].filter((k) => k.record.owner === record.owner && k.record.deviceId === record.deviceId);
    if (!record.lastResort && options.maxOrdinaryPerDevice !== undefined) {
      const count = mine.filter((k) => !k.record.lastResort).length;
      if (count >= options.maxOrdinaryPerDevice) return { kind: "limitReached", count };
    }
    let replacedLastResortRef: string | undefined;
    if (record.lastResort) {
      const old = mine.find((k) => k.record.lastResort);
      if (old !== undefined) {
        this.#keyPackages.delete(old.record.ref);
        replacedLastResortRef = old.record.ref;
      }
    }
    this.#keyPackages.set(record.ref, { record: { ...record, bytes: copy(record.bytes) }, order: ++this.#order });
    let devices = this.#devices.get(record.owner);
    if (devices === undefined) this.#devices.set(record.owner, (devices = new Set()));
    devices.add(record.deviceId);
    return replacedLastResortRef === undefined ? { kind: "stored" } : { kind: "stored", replacedLastResortRef };
  }

  listKeyPackages(owner: string): KeyPackageRecord[] {
    this.#open();
    checkBareJid("owner", owner);
    return this.#ownedBy(owner).map((k) => exportKeyPackage(k.record));
  }

  retractKeyPackage(owner: string, ref: string): boolean {
    this.#open();
    checkBareJid("owner", owner);
    checkHex("ref", ref);
    const k = this.#keyPackages.get(ref);
    if (k === undefined || k.record.owner !== owner) return false;
    this.#keyPackages.delete(ref);
    return true;
  }

  countKeyPackages(owner: string): DeviceKeyPackageCount[] {
    this.#open();
    checkBareJid("owner", owner);
    const owned = this.#ownedBy(owner);
    return [...(this.#devices.get(owner) ?? [])].sort(compareStrings).map((deviceId) => {
      const mine = owned.filter((k) => k.record.deviceId === deviceId);
      return { deviceId, ordinary: mine.filter((k) => !k.record.lastResort).length, hasLastResort: mine.some((k) => k.record.lastResort) };
    });
  }

  claimKeyPackages(owner: string, cipherSuite: number): KeyPackageRecord[] {
    this.#open();
    checkBareJid("owner", owner);
    checkCipherSuite("cipherSuite", cipherSuite);
    const candidates = this.#ownedBy(owner).filter((k) => k.record.cipherSuite === cipherSuite);
    const byDevice = new Map<string, StoredKeyPackage>();
    // Oldest first; an ordinary KeyPackage always beats the last-resort one.
    for (const k of candidates) {
      const best = byDevice.get(k.record.deviceId);
      if (best === undefined || (best.record.lastResort && !k.record.lastResort)) byDevice.set(k.record.deviceId, k);
    }
    const out: KeyPackageRecord[] = [];
    for (const deviceId of [...byDevice.keys()].sort(compareStrings)) {
      const k = byDevice.get(deviceId)!;
      if (!k.record.lastResort) this.#keyPackages.delete(k.record.ref);
      out.push(exportKeyPackage(k.record));
    }
    return out;
  }

  /** KeyPackages of `owner`, oldest first (createdAt, then insertion order). */
  #ownedBy(owner: string): StoredKeyPackage[] {
    return [...this.#keyPackages.values()]
      .filter((k) => k.record.owner === owner)
      .sort((a, b) => a.record.createdAt - b.record.createdAt || a.order - b.order);
  }

  // -------------------------------------------------------------------------------------------
  // Groups
  // -------------------------------------------------------------------------------------------

  createGroup(group: NewGroup): GroupRecord {
    this.#open();
    checkNewGroup(group);
    if (this.#groups.has(group.groupId)) throw new DsError("ds.group_exists", `group ${group.groupId} is already registered`);
    if (this.#rooms.has(group.roomJid)) throw new DsError("ds.group_exists", `room ${group.roomJid} already has a group`);
    const record: GroupRecord = {
      groupId: group.groupId,
      roomJid: group.roomJid,
      policy: clonePolicy(group.policy),
      createdBy: group.createdBy,
      epoch: group.epoch,
      handshakeWireFormat: group.handshakeWireFormat,
      createdAt: group.createdAt,
    };
    this.#groups.set(group.groupId, {
      record,
      nextSeq: 1,
      groupInfo: group.groupInfo === undefined ? undefined : { epoch: group.epoch, bytes: copy(group.groupInfo) },
      externalSenders: group.externalSenders === undefined ? undefined : { bytes: copy(group.externalSenders.bytes), dsIndex: group.externalSenders.dsIndex },
      checkpoint: undefined,
      log: [],
      welcomes: [],
    });
    this.#rooms.set(group.roomJid, group.groupId);
    return exportGroup(record);
  }

  findGroup(groupId: string): GroupRecord | undefined {
    this.#open();
    checkHex("groupId", groupId);
    const g = this.#groups.get(groupId);
    return g === undefined ? undefined : exportGroup(g.record);
  }

  findGroupByRoom(roomJid: string): GroupRecord | undefined {
    this.#open();
    checkBareJid("roomJid", roomJid);
    const id = this.#rooms.get(roomJid);
    return id === undefined ? undefined : this.findGroup(id);
  }

  getGroup(groupId: string): GroupRecord {
    return exportGroup(this.#group(groupId).record);
  }

  updateGroupPolicy(groupId: string, policy: GroupPolicy): void {
    this.#open();
    checkHex("groupId", groupId);
    checkPolicy("policy", policy);
    const g = this.#group(groupId);
    g.record = { ...g.record, policy: clonePolicy(policy) };
  }

  deleteGroup(groupId: string): boolean {
    this.#open();
    checkHex("groupId", groupId);
    const g = this.#groups.get(groupId);
    if (g === undefined) return false;
    this.#groups.delete(groupId);
    this.#rooms.delete(g.record.roomJid);
    return true;
  }

  getGroupInfo(groupId: string): StoredGroupInfo | undefined {
    const gi = this.#group(groupId).groupInfo;
    return gi === undefined ? undefined : { epoch: gi.epoch, bytes: copy(gi.bytes) };
  }

  setGroupInfo(groupId: string, epoch: bigint, bytes: Uint8Array): { readonly kind: "stored" } | { readonly kind: "wrongEpoch"; readonly currentEpoch: bigint } {
    this.#open();
    checkHex("groupId", groupId);
    checkEpoch("epoch", epoch);
    checkBytes("bytes", bytes);
    const g = this.#group(groupId);
    if (g.record.epoch !== epoch) return { kind: "wrongEpoch", currentEpoch: g.record.epoch };
    g.groupInfo = { epoch, bytes: copy(bytes) };
    return { kind: "stored" };
  }

  getExternalSenders(groupId: string): ExternalSendersInfo | undefined {
    const es = this.#group(groupId).externalSenders;
    return es === undefined ? undefined : { bytes: copy(es.bytes), dsIndex: es.dsIndex };
  }

  setExternalSenders(groupId: string, info: ExternalSendersInfo): void {
    this.#open();
    checkHex("groupId", groupId);
    checkExternalSenders("info", info);
    this.#group(groupId).externalSenders = { bytes: copy(info.bytes), dsIndex: info.dsIndex };
  }

  getObserverCheckpoint(groupId: string): ObserverCheckpoint | undefined {
    const c = this.#group(groupId).checkpoint;
    return c === undefined ? undefined : copyCheckpoint(c);
  }

  setObserverCheckpoint(groupId: string, checkpoint: ObserverCheckpoint): { readonly kind: "stored" } | { readonly kind: "wrongEpoch"; readonly currentEpoch: bigint } {
    this.#open();
    checkHex("groupId", groupId);
    checkObserverCheckpoint("checkpoint", checkpoint);
    const g = this.#group(groupId);
    if (checkpoint.epoch > g.record.epoch) return { kind: "wrongEpoch", currentEpoch: g.record.epoch };
    g.checkpoint = copyCheckpoint(checkpoint);
    return { kind: "stored" };
  }

  /** The group's state; validates the id and throws `ds.unknown_group`. */
  #group(groupId: string): GroupState {
    this.#open();
    checkHex("groupId", groupId);
    const g = this.#groups.get(groupId);
    if (g === undefined) throw new DsError("ds.unknown_group", `group ${groupId} is not registered`);
    return g;
  }

  // -------------------------------------------------------------------------------------------
  // Log
  // -------------------------------------------------------------------------------------------

  appendCommit(groupId: string, expectedEpoch: bigint, entry: LogEntryInput, options?: AppendCommitOptions): AppendResult {
    this.#open();
    checkAppendCommit(groupId, expectedEpoch, entry, options);
    const g = this.#group(groupId);
    if (g.record.epoch !== expectedEpoch) return { kind: "wrongEpoch", currentEpoch: g.record.epoch };
    const newEpoch = expectedEpoch + 1n;
    const seq = g.nextSeq;
    g.log.push(logEntry(groupId, seq, expectedEpoch, "commit", entry));
    let welcomeSeq: number | undefined;
    if (options?.welcome !== undefined) {
      welcomeSeq = seq + 1;
      g.log.push(logEntry(groupId, welcomeSeq, newEpoch, "welcome-record", { ...entry, bytes: options.welcome.bytes }));
      for (const r of options.welcome.recipients) {
        g.welcomes.push({ groupId, commitSeq: seq, welcomeSeq, jid: r.jid, keyPackageRef: r.keyPackageRef, delivered: false, order: ++this.#order });
      }
    }
    g.nextSeq = (welcomeSeq ?? seq) + 1;
    g.record = { ...g.record, epoch: newEpoch };
    if (options?.groupInfo !== undefined) g.groupInfo = { epoch: newEpoch, bytes: copy(options.groupInfo) };
    return welcomeSeq === undefined ? { kind: "accepted", seq, epoch: newEpoch } : { kind: "accepted", seq, epoch: newEpoch, welcomeSeq };
  }

  appendProposal(groupId: string, epoch: bigint, entry: LogEntryInput): AppendResult {
    this.#open();
    checkHex("groupId", groupId);
    checkEpoch("epoch", epoch);
    checkLogEntry(entry);
    const g = this.#group(groupId);
    if (g.record.epoch !== epoch) return { kind: "wrongEpoch", currentEpoch: g.record.epoch };
    const seq = g.nextSeq++;
    g.log.push(logEntry(groupId, seq, epoch, "proposal", entry));
    return { kind: "accepted", seq, epoch };
  }

  readLog(groupId: string, query: LogQuery): LogPage {
    this.#open();
    checkHex("groupId", groupId);
    checkLogQuery(query);
    const g = this.#group(groupId);
    const set = query.afterEpoch === undefined ? g.log : g.log.filter((e) => e.epoch >= query.afterEpoch!);
    const after = query.afterSeq ?? 0;
    const rest = set.filter((e) => e.seq > after);
    const entries = rest.slice(0, query.max).map((e) => ({ ...e, bytes: copy(e.bytes) }));
    const page: LogPage = { entries, count: set.length, complete: rest.length <= query.max };
    return entries.length === 0 ? page : { ...page, first: entries[0]!.seq, last: entries[entries.length - 1]!.seq };
  }

  // -------------------------------------------------------------------------------------------
  // Welcome routing
  // -------------------------------------------------------------------------------------------

  listWelcomes(groupId: string, commitSeq?: number): WelcomeRecord[] {
    this.#open();
    checkHex("groupId", groupId);
    if (commitSeq !== undefined) checkInt("commitSeq", commitSeq, 1);
    return this.#group(groupId)
      .welcomes.filter((w) => commitSeq === undefined || w.commitSeq === commitSeq)
      .sort((a, b) => a.commitSeq - b.commitSeq || compareStrings(a.jid, b.jid))
      .map(exportWelcome);
  }

  pendingWelcomesFor(recipientJid: string): WelcomeRecord[] {
    this.#open();
    checkFullJid("recipientJid", recipientJid);
    const out: StoredWelcome[] = [];
    for (const g of this.#groups.values()) for (const w of g.welcomes) if (w.jid === recipientJid && !w.delivered) out.push(w);
    return out.sort((a, b) => a.order - b.order).map(exportWelcome);
  }

  markWelcomeDelivered(groupId: string, commitSeq: number, recipientJid: string): boolean {
    this.#open();
    checkHex("groupId", groupId);
    checkInt("commitSeq", commitSeq, 1);
    checkFullJid("recipientJid", recipientJid);
    const w = this.#groups.get(groupId)?.welcomes.find((x) => x.commitSeq === commitSeq && x.jid === recipientJid);
    if (w === undefined) return false;
    w.delivered = true;
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Maintenance
  // -------------------------------------------------------------------------------------------

  *scanBlobs(): Iterable<StoredBlob> {
    this.#open();
    for (const k of this.#keyPackages.values()) yield { location: "key_packages.bytes", key: k.record.ref, bytes: copy(k.record.bytes) };
    for (const [id, g] of this.#groups) {
      if (g.groupInfo !== undefined) yield { location: "group_info.bytes", key: id, bytes: copy(g.groupInfo.bytes) };
      if (g.externalSenders !== undefined) yield { location: "external_senders.bytes", key: id, bytes: copy(g.externalSenders.bytes) };
      if (g.checkpoint !== undefined) {
        yield { location: "observer_checkpoints.group_info", key: id, bytes: copy(g.checkpoint.groupInfo) };
        yield { location: "observer_checkpoints.ratchet_tree", key: id, bytes: copy(g.checkpoint.ratchetTree) };
      }
      for (const e of g.log) yield { location: "group_log.bytes", key: `${id}#${e.seq}`, bytes: copy(e.bytes) };
    }
  }

  close(): void {
    this.#closed = true;
  }

  #open(): void {
    if (this.#closed) throw new StoreError("store.closed", "the store is closed");
  }
}

function sameKeyPackage(a: KeyPackageRecord, b: KeyPackageRecord): boolean {
  if (a.owner !== b.owner || a.deviceId !== b.deviceId || a.cipherSuite !== b.cipherSuite || a.lastResort !== b.lastResort) return false;
  if (a.bytes.length !== b.bytes.length) return false;
  return a.bytes.every((x, i) => x === b.bytes[i]);
}

function copyCheckpoint(c: ObserverCheckpoint): ObserverCheckpoint {
  return { epoch: c.epoch, groupInfo: copy(c.groupInfo), ratchetTree: copy(c.ratchetTree) };
}

function exportKeyPackage(r: KeyPackageRecord): KeyPackageRecord {
  return { owner: r.owner, deviceId: r.deviceId, ref: r.ref, cipherSuite: r.cipherSuite, lastResort: r.lastResort, bytes: copy(r.bytes), createdAt: r.createdAt };
}

function exportGroup(g: GroupRecord): GroupRecord {
  return { ...g, policy: clonePolicy(g.policy) };
}

function exportWelcome(w: StoredWelcome): WelcomeRecord {
  return { groupId: w.groupId, commitSeq: w.commitSeq, welcomeSeq: w.welcomeSeq, jid: w.jid, keyPackageRef: w.keyPackageRef, delivered: w.delivered };
}

function logEntry(groupId: string, seq: number, epoch: bigint, kind: LogEntry["kind"], e: LogEntryInput): LogEntry {
  return { groupId, seq, epoch, kind, sender: e.sender, bytes: copy(e.bytes), stamp: e.stamp };
}

/**
 * The Delivery Service's durable state, as one synchronous interface with two implementations:
 * {@link ./sqlite-store.ts} (production, better-sqlite3) and {@link ./memory-store.ts} (unit tests).
 * Both pass the same contract tests (test/component/store-contract.test.ts).
 *
 * What is stored (all payloads are opaque MLS bytes; the DS never holds plaintext or private keys):
 * - the KeyPackage directory: published KeyPackages per (owner bare JID, device id);
 * - registered groups: id, room binding, policy, current epoch, latest GroupInfo, external senders,
 *   and the checkpoint of the DS's public view of the group ({@link ObserverCheckpoint});
 * - the per-group handshake log: commits, proposals and Welcome records, in one total order (`seq`);
 * - Welcome routing records: which device gets which Welcome, and whether it was sent.
 *
 * Rules every implementation keeps:
 * - Each method is atomic: it either applies completely or not at all (one SQL transaction).
 *   When a method returns, its effect is durable (sqlite: WAL + synchronous=FULL).
 * - Arguments are validated before anything is changed; bad input throws `UsageError`
 *   (`usage.bad_argument`) and leaves the state untouched.
 * - Expected outcomes of a race (another commit won the epoch) are results, not exceptions:
 *   see {@link AppendResult}. Missing groups throw `DsError("ds.unknown_group")`.
 * - Bytes are copied in and out: callers may reuse or wipe their buffers.
 * - Epochs are `bigint` (MLS uint64, RFC 9420 §6); stored as SQLite INTEGER, so at most 2^63 − 1.
 *   Sequence numbers and timestamps are `number` (safe integers; timestamps in ms since 1970).
 * @module
 */

import type { GroupPolicy } from "../config.js";

// ---------------------------------------------------------------------------------------------
// KeyPackage directory
// ---------------------------------------------------------------------------------------------

/** One published KeyPackage (protocol §2), as stored. */
export interface KeyPackageRecord {
  /** Bare JID of the owner (the publisher), e.g. `alice@example.org`. */
  readonly owner: string;
  /** The device id: the resource part of the credential identity `owner/deviceId`. */
  readonly deviceId: string;
  /** KeyPackageRef (RFC 9420 §5.2), lowercase hex. Unique across the store; also the pubsub item id. */
  readonly ref: string;
  /** RFC 9420 cipher suite id of the KeyPackage. */
  readonly cipherSuite: number;
  /** A last-resort KeyPackage (RFC 9420 §16.8): handed out repeatedly, never deleted by a claim. */
  readonly lastResort: boolean;
  /** The MLSMessage(KeyPackage) bytes as published. */
  readonly bytes: Uint8Array;
  /** When it was published (ms since 1970), from the caller's clock. Claims hand out the oldest first. */
  readonly createdAt: number;
}

/** Options of {@link DsStore.publishKeyPackage}. */
export interface PublishOptions {
  /**
   * Refuse an ordinary KeyPackage if the device already holds this many ordinary ones.
   * Checked inside the publishing transaction, so concurrent publishers cannot overshoot.
   */
  readonly maxOrdinaryPerDevice?: number;
}

/** Outcome of a publish. */
export type PublishResult =
  /** Stored. `replacedLastResortRef` is the previous last-resort KeyPackage of the device, now deleted. */
  | { readonly kind: "stored"; readonly replacedLastResortRef?: string }
  /** The identical KeyPackage (same ref, owner, device, bytes) was already stored: nothing changed. */
  | { readonly kind: "duplicate" }
  /** The device already holds `maxOrdinaryPerDevice` ordinary KeyPackages: nothing changed. */
  | { readonly kind: "limitReached"; readonly count: number };

/** Number of ordinary (not last-resort) KeyPackages a device has left, and whether it has a last-resort one. */
export interface DeviceKeyPackageCount {
  readonly deviceId: string;
  readonly ordinary: number;
  readonly hasLastResort: boolean;
}

// ---------------------------------------------------------------------------------------------
// Groups
// ---------------------------------------------------------------------------------------------

/** How handshake messages (proposals, commits) of a group are framed (RFC 9420 §6). */
export type HandshakeWireFormat = "public" | "private";

/** A group registered with the DS (protocol §3). */
export interface GroupRecord {
  /** MLS group id, lowercase hex. */
  readonly groupId: string;
  /** Bare JID of the MUC room bound to the group (xmpp_binding extension); unique. */
  readonly roomJid: string;
  /** The DS policy of this group (who may add/remove, external joins, ...). */
  readonly policy: GroupPolicy;
  /** JID of the room owner who registered the group. */
  readonly createdBy: string;
  /** The group's current epoch as sequenced by the DS. */
  readonly epoch: bigint;
  /** Handshake framing: with `public` the DS validates commits, with `private` it only sequences. */
  readonly handshakeWireFormat: HandshakeWireFormat;
  readonly createdAt: number;
}

/** The latest GroupInfo of a group (for external joins, protocol §7), with the epoch it describes. */
export interface StoredGroupInfo {
  readonly epoch: bigint;
  /** MLSMessage(GroupInfo) bytes. */
  readonly bytes: Uint8Array;
}

/**
 * The group's `external_senders` extension (RFC 9420 §12.1.8.1) as the DS knows it: the encoded
 * extension data and the index of the DS's own entry in it (for DS-originated removals).
 */
export interface ExternalSendersInfo {
  readonly bytes: Uint8Array;
  /** Index of the DS's signature key in the list, or `null` if the DS is not an external sender. */
  readonly dsIndex: number | null;
}

/** What {@link DsStore.createGroup} needs. */
export interface NewGroup extends GroupRecord {
  /** MLSMessage(GroupInfo) at `epoch` (the epoch at registration), if known. */
  readonly groupInfo?: Uint8Array;
  readonly externalSenders?: ExternalSendersInfo;
}

/**
 * Where the DS's public view of a PublicMessage group (ratchet tree, GroupContext, transcript
 * hashes: XEP "Processing by the Hub") restarts from: a GroupInfo of `epoch` signed by a member,
 * and the ratchet tree of that epoch. The observer (../observer-validator.ts) rebuilds its view
 * from it and replays the log entries of `epoch` and later; so a checkpoint may lag behind the
 * group's epoch, but never run ahead of it.
 */
export interface ObserverCheckpoint {
  readonly epoch: bigint;
  /** MLSMessage(GroupInfo) of `epoch`. */
  readonly groupInfo: Uint8Array;
  /** The ratchet tree of `epoch`, encoded as the `ratchet_tree` extension data (RFC 9420 §12.4.3.3). */
  readonly ratchetTree: Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// The per-group log
// ---------------------------------------------------------------------------------------------

/** Kinds of log entries (protocol §7). */
export type LogKind = "commit" | "proposal" | "welcome-record";

/** The caller-supplied part of a log entry. */
export interface LogEntryInput {
  /** JID of the submitter (as stamped by the server). */
  readonly sender: string;
  /** The MLSMessage bytes. */
  readonly bytes: Uint8Array;
  /** Acceptance time, ms since 1970. */
  readonly stamp: number;
}

/** One entry of a group's log. */
export interface LogEntry extends LogEntryInput {
  readonly groupId: string;
  /** Position in the group's log: 1, 2, 3, ... strictly increasing, never reused. */
  readonly seq: number;
  /**
   * The epoch the message applies to: for a commit and a proposal the epoch it was sent in
   * (the commit moves the group to `epoch + 1`); for a welcome-record the epoch it joins into.
   */
  readonly epoch: bigint;
  readonly kind: LogKind;
}

/** A device that is welcomed by a commit (protocol §5). */
export interface WelcomeRecipient {
  /** Full JID of the device, `user@domain/<device-id>`. */
  readonly jid: string;
  /** Lowercase hex KeyPackageRef the Welcome is encrypted to. */
  readonly keyPackageRef: string;
}

/** Options of {@link DsStore.appendCommit}, all stored in the same transaction as the commit. */
export interface AppendCommitOptions {
  /** MLSMessage(GroupInfo) for the new epoch; replaces the stored one. */
  readonly groupInfo?: Uint8Array;
  /** The Welcome: stored as a `welcome-record` log entry right after the commit, plus one routing record per recipient. */
  readonly welcome?: { readonly bytes: Uint8Array; readonly recipients: readonly WelcomeRecipient[] };
}

/**
 * Result of sequencing a handshake message. `accepted` carries the entry's `seq` and the group's
 * epoch after the append (for a commit, the new epoch). `wrongEpoch` carries the current epoch:
 * another commit won, or the submitter is behind (protocol §4, first valid commit wins).
 */
export type AppendResult =
  | { readonly kind: "accepted"; readonly seq: number; readonly epoch: bigint; readonly welcomeSeq?: number }
  | { readonly kind: "wrongEpoch"; readonly currentEpoch: bigint };

/** Query of {@link DsStore.readLog}: an RSM page (XEP-0059) over the group's log. */
export interface LogQuery {
  /** RSM `<after>`: only entries with `seq > afterSeq`. */
  readonly afterSeq?: number;
  /**
   * The caller has reached this epoch: only entries with `epoch >= afterEpoch` (everything sent in
   * or after that epoch: its proposals, the commit that ends it, later epochs). Defines the result
   * set that `count` describes.
   */
  readonly afterEpoch?: bigint;
  /** RSM `<max>`: page size, 1..10000. */
  readonly max: number;
}

/** One RSM page of the log. */
export interface LogPage {
  readonly entries: readonly LogEntry[];
  /** `seq` of the first/last entry of this page (RSM `<first>`/`<last>`), absent on an empty page. */
  readonly first?: number;
  readonly last?: number;
  /** Number of entries in the whole result set (the `afterEpoch` filter, ignoring `afterSeq`). */
  readonly count: number;
  /** True when no entry follows this page. */
  readonly complete: boolean;
}

/** A stored Welcome routing record. */
export interface WelcomeRecord extends WelcomeRecipient {
  readonly groupId: string;
  /** `seq` of the commit that added the device. */
  readonly commitSeq: number;
  /** `seq` of the welcome-record log entry holding the Welcome bytes. */
  readonly welcomeSeq: number;
  readonly delivered: boolean;
}

/** One stored blob, for the "the DS stores no plaintext" test. */
export interface StoredBlob {
  /** Where it lives, e.g. `key_packages.bytes`. */
  readonly location: string;
  /** Identifies the row, e.g. the ref or `groupId#seq`. */
  readonly key: string;
  readonly bytes: Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------

/** KeyPackage directory operations (the part {@link KeyDirectory} needs). */
export interface KeyPackageStore {
  /**
   * Store a KeyPackage. A new last-resort one replaces the device's previous last-resort one.
   * Publishing the identical package again is a no-op (`duplicate`); the same ref with other
   * content or owner throws `DsError("ds.ref_conflict")`.
   */
  publishKeyPackage(record: KeyPackageRecord, options?: PublishOptions): PublishResult;
  /** All KeyPackages of an owner, oldest first. */
  listKeyPackages(owner: string): KeyPackageRecord[];
  /** Delete one KeyPackage of `owner`. Returns false if there was none with that ref for that owner. */
  retractKeyPackage(owner: string, ref: string): boolean;
  /** Per device of `owner` that ever published: ordinary KeyPackages left, and whether a last-resort one exists. Sorted by device id. */
  countKeyPackages(owner: string): DeviceKeyPackageCount[];
  /**
   * Atomically hand out one KeyPackage of `cipherSuite` per device of `owner`: the oldest ordinary
   * one (deleted in the same transaction), else the device's last-resort one (kept). Devices with
   * neither are skipped. Never hands the same ordinary KeyPackage to two callers, even across
   * processes. Sorted by device id.
   */
  claimKeyPackages(owner: string, cipherSuite: number): KeyPackageRecord[];
}

export interface DsStore extends KeyPackageStore {
  // groups
  /** Register a group. Throws `ds.group_exists` if the group id or the room is taken. */
  createGroup(group: NewGroup): GroupRecord;
  findGroup(groupId: string): GroupRecord | undefined;
  findGroupByRoom(roomJid: string): GroupRecord | undefined;
  /** Like {@link findGroup} but throws `ds.unknown_group`. */
  getGroup(groupId: string): GroupRecord;
  updateGroupPolicy(groupId: string, policy: GroupPolicy): void;
  /** Remove a group and everything stored for it. Returns false if it did not exist. */
  deleteGroup(groupId: string): boolean;
  getGroupInfo(groupId: string): StoredGroupInfo | undefined;
  /** Replace the GroupInfo; only for the current epoch (else `wrongEpoch`, nothing stored). */
  setGroupInfo(groupId: string, epoch: bigint, bytes: Uint8Array): { readonly kind: "stored" } | { readonly kind: "wrongEpoch"; readonly currentEpoch: bigint };
  getExternalSenders(groupId: string): ExternalSendersInfo | undefined;
  setExternalSenders(groupId: string, info: ExternalSendersInfo): void;
  getObserverCheckpoint(groupId: string): ObserverCheckpoint | undefined;
  /**
   * Replace the observer checkpoint. Its epoch may be at most the group's current epoch (else
   * `wrongEpoch`, nothing stored); an older one than the stored one is accepted too (the caller
   * decides; the log covers the gap).
   */
  setObserverCheckpoint(groupId: string, checkpoint: ObserverCheckpoint): { readonly kind: "stored" } | { readonly kind: "wrongEpoch"; readonly currentEpoch: bigint };

  // log
  /**
   * Sequence a commit: in one transaction, check the group is at `expectedEpoch` (else
   * `wrongEpoch`), append the commit with epoch `expectedEpoch`, move the group to
   * `expectedEpoch + 1`, store the GroupInfo and the Welcome (entry + routing records).
   * Durable when it returns.
   */
  appendCommit(groupId: string, expectedEpoch: bigint, entry: LogEntryInput, options?: AppendCommitOptions): AppendResult;
  /** Sequence a proposal for the current epoch (else `wrongEpoch`). */
  appendProposal(groupId: string, epoch: bigint, entry: LogEntryInput): AppendResult;
  readLog(groupId: string, query: LogQuery): LogPage;

  // welcome routing
  /** Routing records of a group (optionally only those of one commit), by commit seq then JID. */
  listWelcomes(groupId: string, commitSeq?: number): WelcomeRecord[];
  /** Undelivered routing records addressed to one full JID, oldest first. */
  pendingWelcomesFor(recipientJid: string): WelcomeRecord[];
  /** Mark a routing record delivered. Returns false if no such record. */
  markWelcomeDelivered(groupId: string, commitSeq: number, recipientJid: string): boolean;

  // tests and maintenance
  /** Every stored blob (KeyPackages, GroupInfos, external senders, observer checkpoints, log entries). For tests. */
  scanBlobs(): Iterable<StoredBlob>;
  close(): void;
}

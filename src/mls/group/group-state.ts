/**
 * The member's view of one MLS group at one epoch (RFC 9420 §8, §12), as an immutable value.
 *
 * Every operation of the group layer takes a {@link GroupState} and returns a new one; the old
 * one stays valid. Two parts are deliberately shared and mutable, grouped in {@link EpochRuntime}:
 *
 * - the epoch's SecretTree (RFC 9420 §9.2: a consumed key must be deleted from every copy, so
 *   there is exactly one copy), and the per-sender generation tracker next to it;
 * - a `retired` flag, set when a newer epoch is merged.
 *
 * So: states of the same epoch share their sending ratchets. Sending from an older state after a
 * newer state of the same epoch has sent is harmless (each key is handed out once), but using a
 * state whose epoch was left by {@link mergeStagedCommit} to create or process Commits is misuse
 * and fails with `usage.stale_state`. Late application messages of recent epochs stay
 * decryptable through {@link GroupState.pastEpochs}.
 *
 * What is here: GroupContext (+ its encoding), ratchet tree, transcript hashes, epoch secrets,
 * own leaf index and private keys, the proposal cache of the epoch, recent resumption PSKs, the
 * decryption material of recent epochs, and the lifecycle status.
 * @module
 */
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { UsageError } from "../../errors.js";
import { toHex } from "../../util/bytes.js";
import type { Credential } from "../core/credential.js";
import type { Sender } from "../framing/sender.js";
import type { Proposal, ReInit } from "../messages/proposal.js";
import { encodeGroupContext, type GroupContext } from "../schedule/group-context.js";
import { mlsExporter, type EpochSecrets } from "../schedule/key-schedule.js";
import { SecretTree } from "../schedule/secret-tree.js";
import type { LeafNode } from "../tree/leaf-node.js";
import type { LeafIndex } from "../tree/tree-math.js";
import type { TreePrivateKeys } from "../tree/tree-private-keys.js";
import type { TreeState } from "../tree/tree-state.js";
import { GenerationTracker, type SenderGenerationGaps } from "./generation-tracker.js";
import type { GroupConfig } from "./group-config.js";

/**
 * Lifecycle of the member in the group:
 * - active: can send and receive;
 * - removed: a Commit removed us (RFC 9420 §12.4.2: "the client cannot send any more messages");
 *   late application messages of the last epochs still decrypt;
 * - pendingReinit: a Commit with a ReInit was merged (RFC 9420 §12.4.2: "MUST NOT use the group to
 *   send messages anymore"); wait for the Welcome of the new group (RFC 9420 §11.2).
 */
export type GroupStatus =
  | { readonly kind: "active" }
  | { readonly kind: "removed"; readonly epoch: bigint }
  | { readonly kind: "pendingReinit"; readonly reinit: ReInit; readonly epoch: bigint };

/** A proposal received or sent in the current epoch, cached by ProposalRef (RFC 9420 §12.1). */
export interface PendingProposal {
  readonly ref: Uint8Array;
  readonly proposal: Proposal;
  readonly sender: Sender;
}

/**
 * The mutable per-epoch material shared by every {@link GroupState} of an epoch (see the module
 * doc): the SecretTree, the sender-data secret, the generation tracker and the retired flag.
 */
export class EpochRuntime {
  #retired = false;

  /** From existing parts (e.g. a restored SecretTree). Use {@link EpochRuntime.create} for a new epoch. */
  constructor(
    readonly epoch: bigint,
    readonly secretTree: SecretTree,
    readonly senderDataSecret: Uint8Array,
    readonly generations: GenerationTracker = new GenerationTracker(epoch),
  ) {}

  /** The runtime of a new epoch: its SecretTree rooted at `encryptionSecret` (RFC 9420 §9). */
  static create(cs: CipherSuite, epoch: bigint, encryptionSecret: Uint8Array, senderDataSecret: Uint8Array, nLeaves: number, limits: GroupConfig["ratchetLimits"]): EpochRuntime {
    return new EpochRuntime(epoch, new SecretTree(cs, encryptionSecret, nLeaves, limits), senderDataSecret);
  }

  get retired(): boolean {
    return this.#retired;
  }

  /** Mark the epoch as left (a later epoch was merged). */
  retire(): void {
    this.#retired = true;
  }

  /** Wipe the epoch's message keys (it fell out of the past-epoch window). */
  destroy(): void {
    this.#retired = true;
    this.secretTree.destroy();
    this.senderDataSecret.fill(0);
  }
}

/** What is kept of an earlier epoch to decrypt and verify its late application messages. */
export interface PastEpoch {
  readonly epoch: bigint;
  /** The epoch's tree: the sender's leaf and signature key. */
  readonly tree: TreeState;
  /** The epoch's encoded GroupContext: part of FramedContentTBS (RFC 9420 §6.1). */
  readonly groupContextBytes: Uint8Array;
  readonly runtime: EpochRuntime;
}

/** A member of the group as the application sees it. */
export interface MemberInfo {
  readonly leafIndex: LeafIndex;
  readonly credential: Credential;
  readonly signatureKey: Uint8Array;
  /** The Authentication Service's rendering of the credential. */
  readonly identity: string;
}

/** The fields of a {@link GroupState}. */
export interface GroupStateFields {
  readonly cs: CipherSuite;
  readonly config: GroupConfig;
  readonly groupContext: GroupContext;
  readonly tree: TreeState;
  readonly interimTranscriptHash: Uint8Array;
  /** The confirmation_tag of the Commit that started this epoch (or of group creation, RFC 9420 §11). */
  readonly confirmationTag: Uint8Array;
  /**
   * The epoch's secrets (RFC 9420 §8 Table 4). `encryptionSecret` is all zeros: it is consumed
   * into the SecretTree when the epoch starts (RFC 9420 §9.2).
   */
  readonly epochSecrets: EpochSecrets;
  readonly runtime: EpochRuntime;
  readonly ownLeafIndex: LeafIndex;
  readonly signaturePrivateKey: Uint8Array;
  /** HPKE private keys of our leaf and the nodes of our direct path we know (RFC 9420 §4.2). */
  readonly privateKeys: TreePrivateKeys;
  /** Proposals of this epoch by hex ProposalRef, in arrival order. */
  readonly pendingProposals: ReadonlyMap<string, PendingProposal>;
  /** Leaf private keys of our own Update proposals of this epoch, by hex ProposalRef. */
  readonly ownUpdateKeys: ReadonlyMap<string, Uint8Array>;
  /** resumption_psk of this and recent epochs (RFC 9420 §8.6), newest last. */
  readonly resumptionPsks: readonly { readonly epoch: bigint; readonly psk: Uint8Array }[];
  /** Recent epochs, newest last, at most `config.maxPastEpochs`. */
  readonly pastEpochs: readonly PastEpoch[];
  readonly status: GroupStatus;
}

export class GroupState implements GroupStateFields {
  readonly cs!: CipherSuite;
  readonly config!: GroupConfig;
  readonly groupContext!: GroupContext;
  readonly tree!: TreeState;
  readonly interimTranscriptHash!: Uint8Array;
  readonly confirmationTag!: Uint8Array;
  readonly epochSecrets!: EpochSecrets;
  readonly runtime!: EpochRuntime;
  readonly ownLeafIndex!: LeafIndex;
  readonly signaturePrivateKey!: Uint8Array;
  readonly privateKeys!: TreePrivateKeys;
  readonly pendingProposals!: ReadonlyMap<string, PendingProposal>;
  readonly ownUpdateKeys!: ReadonlyMap<string, Uint8Array>;
  readonly resumptionPsks!: readonly { readonly epoch: bigint; readonly psk: Uint8Array }[];
  readonly pastEpochs!: readonly PastEpoch[];
  readonly status!: GroupStatus;
  /** The TLS encoding of {@link groupContext} (RFC 9420 §8.1), cached. */
  readonly groupContextBytes: Uint8Array;

  private constructor(f: GroupStateFields, groupContextBytes?: Uint8Array) {
    Object.assign(this, f);
    this.groupContextBytes = groupContextBytes ?? encodeGroupContext(f.groupContext);
    Object.freeze(this);
  }

  /**
   * Build a state from its fields (used by create, join, commits and persistence).
   * `groupContextBytes`, when given, must be the encoding of `f.groupContext`.
   */
  static fromFields(f: GroupStateFields, groupContextBytes?: Uint8Array): GroupState {
    return new GroupState(f, groupContextBytes);
  }

  /** A copy with some fields replaced. */
  with(changes: Partial<GroupStateFields>): GroupState {
    const f: GroupStateFields = { ...this.fields(), ...changes };
    return new GroupState(f, changes.groupContext === undefined ? this.groupContextBytes : undefined);
  }

  /** The plain fields (for persistence). */
  fields(): GroupStateFields {
    const {
      cs, config, groupContext, tree, interimTranscriptHash, confirmationTag, epochSecrets, runtime, ownLeafIndex,
      signaturePrivateKey, privateKeys, pendingProposals, ownUpdateKeys, resumptionPsks, pastEpochs, status,
    } = this;
    return {
      cs, config, groupContext, tree, interimTranscriptHash, confirmationTag, epochSecrets, runtime, ownLeafIndex,
      signaturePrivateKey, privateKeys, pendingProposals, ownUpdateKeys, resumptionPsks, pastEpochs, status,
    };
  }

  get epoch(): bigint {
    return this.groupContext.epoch;
  }

  get groupId(): Uint8Array {
    return this.groupContext.groupId;
  }

  get cipherSuite(): number {
    return this.groupContext.cipherSuite;
  }

  get isActive(): boolean {
    return this.status.kind === "active";
  }

  /** Our own LeafNode. */
  get ownLeafNode(): LeafNode {
    const l = this.tree.leaf(this.ownLeafIndex);
    if (l === null) throw new UsageError("removed", "our leaf is blank: we are not a member of this group");
    return l;
  }

  /** The current members by leaf index (O(n)). */
  members(): MemberInfo[] {
    const as = this.config.authenticationService;
    return this.tree.members().map((m) => ({
      leafIndex: m.leafIndex,
      credential: m.leafNode.credential,
      signatureKey: m.leafNode.signatureKey,
      identity: as.identity(m.leafNode.credential),
    }));
  }

  /** The member at `leafIndex`; UsageError when the leaf is blank. */
  member(leafIndex: number): MemberInfo {
    const l = this.tree.leaf(leafIndex);
    if (l === null) throw new UsageError("blank_leaf", `leaf ${leafIndex} is not a member`);
    return { leafIndex: leafIndex as LeafIndex, credential: l.credential, signatureKey: l.signatureKey, identity: this.config.authenticationService.identity(l.credential) };
  }

  /** The proposals cached in this epoch, in arrival order. */
  proposals(): PendingProposal[] {
    return [...this.pendingProposals.values()];
  }

  /** RFC 9420 §8.7: the epoch authenticator (compare out of band to detect impersonation). */
  epochAuthenticator(): Uint8Array {
    return this.epochSecrets.epochAuthenticator.slice();
  }

  /** RFC 9420 §8.5 MLS-Exporter(label, context, length). */
  exportSecret(label: string, context: Uint8Array, length: number): Uint8Array {
    if (!Number.isInteger(length) || length < 0 || length > 0xffff) throw new UsageError("bad_length", `"length" expected a uint16, got ${length}`);
    return mlsExporter(this.cs, this.epochSecrets.exporterSecret, label, context, length);
  }

  /** The resumption PSK of `epoch` of this group, or null when it is not (or no longer) kept. */
  resumptionPsk(epoch: bigint): Uint8Array | null {
    for (const r of this.resumptionPsks) if (r.epoch === epoch) return r.psk;
    return null;
  }

  /** Gaps in the generations received from each sender (RFC 9750 §8.1.4), current and kept past epochs. */
  generationGaps(): SenderGenerationGaps[] {
    return [...this.pastEpochs.map((p) => p.runtime), this.runtime].flatMap((r) => r.generations.report());
  }

  /** UsageError unless this state may still change the group: current epoch, member, not waiting for ReInit. */
  assertCanCommit(what: string): void {
    this.assertCurrent();
    if (this.status.kind === "removed") throw new UsageError("removed", `cannot ${what}: we were removed from the group`);
    if (this.status.kind === "pendingReinit") throw new UsageError("pending_reinit", `cannot ${what}: the group is being reinitialized (RFC 9420 §12.4.2)`);
  }

  /** UsageError when a later epoch has been merged from another state of this group. */
  assertCurrent(): void {
    if (this.runtime.retired) throw new UsageError("stale_state", `epoch ${this.epoch} has been left; use the state returned by mergeStagedCommit`);
  }

  /** Debug output never shows secrets. */
  toString(): string {
    return `GroupState(${toHex(this.groupId)}, epoch ${this.epoch}, leaf ${this.ownLeafIndex}, ${this.status.kind})`;
  }

  /** `util.inspect` / console.log show the summary only, never key material. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/**
 * Resumption of a group in a new one (RFC 9420 §11.2 reinitialization, §11.3 subgroup branching),
 * linked to the old group by a resumption PSK (§8.6).
 *
 *   ReInit committed ─► old state "pendingReinit" ─► createReinitGroup(old, KeyPackages of the
 *     other members for the new suite) ─► new group (ReInit's suite, version, group_id,
 *     extensions) ─► first Commit: Adds + PreSharedKey(resumption, usage reinit, old group, epoch
 *     of the ReInit) ─► Welcome ─► joinReinitGroup(old state, Welcome) checks §11.2
 *
 *   branchGroup(state, KeyPackages of some members) ─► new group (same suite and version) ─►
 *     first Commit: Adds + PreSharedKey(resumption, usage branch, old group, current epoch)
 *     ─► Welcome ─► joinBranchGroup(old state, Welcome) checks §11.3
 *
 * The new group's first Commit only matters to its creator (the group has no other member at
 * epoch 0), so it is merged at once; everybody else joins from the Welcome.
 * @module
 */
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { encode } from "../../codec/writer.js";
import { UsageError, ValidationError } from "../../errors.js";
import { bytesEqual } from "../../util/bytes.js";
import type { AuthenticationService } from "../auth/authentication-service.js";
import { writeExtensions, type Extension } from "../core/extension.js";
import { pskTypes, resumptionPskUsages, type PreSharedKeyId, type ResumptionPskUsage } from "../core/pre-shared-key-id.js";
import { proposalTypes, protocolVersions } from "../core/protocol.js";
import type { MlsMessage } from "../framing/mls-message.js";
import type { KeyPackage } from "../messages/key-package.js";
import type { Proposal } from "../messages/proposal.js";
import type { LeafNode } from "../tree/leaf-node.js";
import type { TreeState } from "../tree/tree-state.js";
import { createCommit } from "./commit-create.js";
import { createGroup, type CreatorLeaf } from "./create.js";
import type { GroupConfig } from "./group-config.js";
import type { GroupState } from "./group-state.js";
import { freshPskNonce, type ResumptionPskSource } from "./psk-lookup.js";
import { mergeStagedCommit } from "./staged-commit.js";
import { joinFromWelcome, type JoinedGroup, type JoinFromWelcomeParams } from "./welcome.js";

const REINIT = "RFC 9420 §11.2";
const BRANCH = "RFC 9420 §11.3";

/** A group created by ReInit or branching: the creator's state at epoch 1 and the Welcome for the others. */
export interface ResumedGroup {
  readonly state: GroupState;
  readonly welcome: MlsMessage;
  /** The new group's GroupInfo (to publish), or null when not requested. */
  readonly groupInfo: MlsMessage | null;
}

export interface ReinitGroupParams {
  /** The suite of the ReInit proposal (`reinit.cipher_suite`). */
  readonly cs: CipherSuite;
  /** A KeyPackage for the new suite of every other member of the old group, one each. */
  readonly keyPackages: readonly KeyPackage[];
  /**
   * Our leaf in the new group. Default: our credential and signature key, which only works when
   * the new suite has the old one's signature scheme.
   */
  readonly leaf?: CreatorLeaf;
  /** Default: the old group's config. */
  readonly config?: GroupConfig;
  /** Put the ratchet tree into the Welcome's GroupInfo. Default: `config.useRatchetTreeExtension`. */
  readonly ratchetTreeExtension?: boolean;
}

export interface BranchGroupParams {
  /** KeyPackages (same suite) of the members of the old group to take along, one each. */
  readonly keyPackages: readonly KeyPackage[];
  /** Default: KDF.Nh random bytes. */
  readonly groupId?: Uint8Array;
  /** GroupContext extensions of the subgroup. Default: the old group's. */
  readonly extensions?: readonly Extension[];
  /** Our leaf in the subgroup. Default: our credential and signature key, with a fresh HPKE key. */
  readonly leaf?: CreatorLeaf;
  /** Default: the old group's config. */
  readonly config?: GroupConfig;
  readonly ratchetTreeExtension?: boolean;
}

/** One member leaf of the old group matched for each KeyPackage, by the AS's notion of the same client. */
function matchKeyPackages(as: AuthenticationService, old: GroupState, keyPackages: readonly KeyPackage[], rfc: string): void {
  const others = old.tree.members().filter((m) => m.leafIndex !== old.ownLeafIndex);
  // Candidates by the AS's identity first (O(n) overall), a full scan only when that finds none.
  const byIdentity = new Map<string, typeof others>();
  for (const o of others) {
    const k = as.identity(o.leafNode.credential);
    byIdentity.set(k, [...(byIdentity.get(k) ?? []), o]);
  }
  const used = new Set<number>();
  const match = (list: typeof others, kp: KeyPackage) => list.find((o) => !used.has(o.leafIndex) && as.isSameClient(o.leafNode.credential, kp.leafNode.credential));
  for (const kp of keyPackages) {
    const m = match(byIdentity.get(as.identity(kp.leafNode.credential)) ?? [], kp) ?? match(others, kp);
    if (m === undefined) throw new UsageError("not_a_member", `the KeyPackage of ${as.identity(kp.leafNode.credential)} matches no (other) member of the old group (${rfc})`);
    used.add(m.leafIndex);
  }
  if (rfc === REINIT && used.size !== others.length) {
    const missing = others.filter((o) => !used.has(o.leafIndex)).map((o) => as.identity(o.leafNode.credential));
    throw new UsageError("reinit_membership", `a reinitialized group has the same members (${REINIT}); no KeyPackage for ${missing.join(", ")}`);
  }
}

/** Our own leaf by default: same credential and signature key, fresh encryption key (create.ts). */
function defaultLeaf(old: GroupState, cs: CipherSuite): CreatorLeaf {
  if (cs.params.signature !== old.cs.params.signature) {
    throw new UsageError("leaf_required", `suite ${cs.params.id} signs with ${cs.params.signature}, the old group with ${old.cs.params.signature}: pass "leaf"`);
  }
  return { credential: old.ownLeafNode.credential, signaturePrivateKey: old.signaturePrivateKey };
}

interface FirstCommitParams {
  readonly cs: CipherSuite;
  readonly config: GroupConfig;
  readonly leaf: CreatorLeaf;
  readonly groupId: Uint8Array | undefined;
  readonly extensions: readonly Extension[];
  readonly keyPackages: readonly KeyPackage[];
  readonly usage: ResumptionPskUsage;
  readonly old: GroupState;
  readonly pskEpoch: bigint;
  readonly ratchetTreeExtension: boolean | undefined;
}

/** RFC 9420 §11.2 step 3, §11.3 steps 2–3: the new group at epoch 0, its first Commit with the resumption PSK, merged. */
async function resume(p: FirstCommitParams): Promise<ResumedGroup> {
  const { cs, old } = p;
  const psk = old.resumptionPsk(p.pskEpoch);
  if (psk === null) throw new UsageError("unknown_resumption_psk", `the resumption PSK of epoch ${p.pskEpoch} is not kept`);
  const g0 = await createGroup({ cs, config: p.config, leaf: p.leaf, groupId: p.groupId, extensions: p.extensions });
  // RFC 9420 §11.3: "the psk_nonce included in the PreSharedKeyID object MUST be a randomly sampled nonce of length KDF.Nh".
  const id: PreSharedKeyId = { psktype: pskTypes.resumption, usage: p.usage, pskGroupId: old.groupId, pskEpoch: p.pskEpoch, pskNonce: freshPskNonce(cs) };
  const proposals: Proposal[] = [
    ...p.keyPackages.map((keyPackage): Proposal => ({ proposalType: proposalTypes.add, add: { keyPackage } })),
    { proposalType: proposalTypes.psk, psk: { psk: id } },
  ];
  const source: ResumptionPskSource = (g, e) => (bytesEqual(g, old.groupId) && e === p.pskEpoch ? psk : null);
  const created = await createCommit(g0, { proposals, includePending: false, resumption: { usage: p.usage, psks: source }, ratchetTreeExtension: p.ratchetTreeExtension });
  if (created.welcome === null) throw new UsageError("no_members", "a resumed group needs at least one other member");
  return { state: mergeStagedCommit(g0, created.staged), welcome: created.welcome, groupInfo: created.groupInfo };
}

/**
 * RFC 9420 §11.2 step 3: after a Commit with a ReInit (the old state is "pendingReinit"), create
 * the group the ReInit describes with the same members and send them the Welcome.
 */
export async function createReinitGroup(old: GroupState, p: ReinitGroupParams): Promise<ResumedGroup> {
  old.assertCurrent();
  const status = old.status;
  if (status.kind !== "pendingReinit") throw new UsageError("not_pending_reinit", "no ReInit has been committed in this group");
  const { reinit } = status;
  const { cs } = p;
  if (cs.params.id !== reinit.cipherSuite) throw new UsageError("wrong_cipher_suite", `the ReInit asks for suite ${reinit.cipherSuite}, the given suite is ${cs.params.id}`);
  if (reinit.version !== protocolVersions.mls10) throw new UsageError("unsupported_version", `the ReInit asks for protocol version ${reinit.version}`);
  const config = p.config ?? old.config;
  for (const kp of p.keyPackages) {
    if (kp.cipherSuite !== reinit.cipherSuite || kp.version !== reinit.version) throw new UsageError("wrong_cipher_suite", `a KeyPackage uses suite ${kp.cipherSuite}, the ReInit ${reinit.cipherSuite}`);
  }
  matchKeyPackages(config.authenticationService, old, p.keyPackages, REINIT);
  return resume({
    cs,
    config,
    leaf: p.leaf ?? defaultLeaf(old, cs),
    groupId: reinit.groupId,
    extensions: reinit.extensions,
    keyPackages: p.keyPackages,
    usage: resumptionPskUsages.reinit,
    old,
    // RFC 9420 §11.2: "the epoch field indicates the epoch after the Commit covering the ReInit".
    pskEpoch: status.epoch,
    ratchetTreeExtension: p.ratchetTreeExtension,
  });
}

/** RFC 9420 §11.3: create a subgroup of `old` with some of its members, linked by a branch resumption PSK. */
export async function branchGroup(old: GroupState, p: BranchGroupParams): Promise<ResumedGroup> {
  old.assertCanCommit("branch the group");
  const config = p.config ?? old.config;
  for (const kp of p.keyPackages) {
    // RFC 9420 §11.3: "using the same parameters as the old group".
    if (kp.cipherSuite !== old.cipherSuite || kp.version !== old.groupContext.version) throw new UsageError("wrong_cipher_suite", `a KeyPackage uses suite ${kp.cipherSuite}, the group ${old.cipherSuite}`);
  }
  matchKeyPackages(config.authenticationService, old, p.keyPackages, BRANCH);
  return resume({
    cs: old.cs,
    config,
    leaf: p.leaf ?? defaultLeaf(old, old.cs),
    groupId: p.groupId,
    extensions: p.extensions ?? old.groupContext.extensions,
    keyPackages: p.keyPackages,
    usage: resumptionPskUsages.branch,
    old,
    pskEpoch: old.epoch,
    ratchetTreeExtension: p.ratchetTreeExtension,
  });
}

/** The Welcome parameters without the resumption source, which the old state provides. */
export type JoinResumedParams = Omit<JoinFromWelcomeParams, "resumptionPsks">;

/** Resumption PSKs of the old group, from the epochs its state keeps. */
function oldGroupPsks(old: GroupState): ResumptionPskSource {
  return (g, e) => (bytesEqual(g, old.groupId) ? old.resumptionPsk(e) : null);
}

/** Do the leaves of `newTree` match distinct leaves of `oldTree` (the application's identity equivalence)? */
function unmatchedLeaves(as: AuthenticationService, oldTree: TreeState, newTree: TreeState, distinct: boolean): LeafNode[] {
  const byIdentity = new Map<string, LeafNode[]>();
  for (const m of oldTree.members()) {
    const k = as.identity(m.leafNode.credential);
    byIdentity.set(k, [...(byIdentity.get(k) ?? []), m.leafNode]);
  }
  const out: LeafNode[] = [];
  for (const m of newTree.members()) {
    const candidates = byIdentity.get(as.identity(m.leafNode.credential)) ?? [];
    const i = candidates.findIndex((c) => as.isSameClient(c.credential, m.leafNode.credential));
    if (i < 0) out.push(m.leafNode);
    else if (distinct) candidates.splice(i, 1);
  }
  return out;
}

const encodeExtensions = (e: readonly Extension[]): Uint8Array => encode(e, writeExtensions);

/**
 * Join the group that reinitializes `old` (RFC 9420 §11.2): `old` must have merged the ReInit
 * Commit. Checks that the Welcome uses exactly one resumption PSK, of usage reinit, for the old
 * group at the epoch of the ReInit; that the new GroupContext has the ReInit's version, suite,
 * group_id and extensions, at epoch 1; and that the members are those of the old group.
 */
export async function joinReinitGroup(old: GroupState, p: JoinResumedParams): Promise<JoinedGroup> {
  const status = old.status;
  if (status.kind !== "pendingReinit") throw new UsageError("not_pending_reinit", "no ReInit has been committed in the old group: process its Commit first");
  const { reinit } = status;
  const joined = await joinFromWelcome({ ...p, resumptionPsks: oldGroupPsks(old) });
  const r = joined.resumption;
  // "The Welcome message MUST specify a PreSharedKeyID of type resumption with usage reinit, where
  // the group_id field matches the old group and the epoch field indicates the epoch after the Commit covering the ReInit."
  if (r === null || r.usage !== "reinit") throw new ValidationError("reinit_psk_missing", "the Welcome has no resumption PSK of usage reinit", REINIT);
  if (!bytesEqual(r.groupId, old.groupId) || r.epoch !== status.epoch) {
    throw new ValidationError("reinit_psk_mismatch", `the reinit PSK names epoch ${r.epoch} of another group or epoch (expected epoch ${status.epoch})`, REINIT);
  }
  const gc = joined.state.groupContext;
  // "The version, cipher_suite, group_id, and extensions fields of the GroupContext object in the
  // Welcome message MUST be the same as the corresponding fields in the ReInit proposal. The epoch in the Welcome message MUST be 1."
  if (gc.version !== reinit.version || gc.cipherSuite !== reinit.cipherSuite || !bytesEqual(gc.groupId, reinit.groupId)) {
    throw new ValidationError("reinit_parameters", `the new group (version ${gc.version}, suite ${gc.cipherSuite}) does not match the ReInit (version ${reinit.version}, suite ${reinit.cipherSuite}) or has another group_id`, REINIT);
  }
  if (!bytesEqual(encodeExtensions(gc.extensions), encodeExtensions(reinit.extensions))) {
    throw new ValidationError("reinit_extensions", "the new group's extensions differ from the ReInit's", REINIT);
  }
  if (gc.epoch !== 1n) throw new ValidationError("resumption_epoch", `the new group starts at epoch ${gc.epoch}, not 1`, REINIT);
  // §11.2: "a new group with the same membership".
  const as = p.config.authenticationService;
  const extra = unmatchedLeaves(as, old.tree, joined.state.tree, true);
  const missing = unmatchedLeaves(as, joined.state.tree, old.tree, true);
  if (extra.length > 0 || missing.length > 0) {
    const names = (l: LeafNode[]) => l.map((x) => as.identity(x.credential)).join(", ") || "none";
    throw new ValidationError("reinit_membership", `the new group's members differ from the old group's (new: ${names(extra)}; missing: ${names(missing)})`, REINIT);
  }
  return joined;
}

/**
 * Join a subgroup branched from `old` (RFC 9420 §11.3): checks that the Welcome's resumption PSK
 * has usage branch and names `old`'s group, that version and suite are the old group's, that it
 * starts at epoch 1, and that every member of the subgroup matches a member of the old group.
 */
export async function joinBranchGroup(old: GroupState, p: JoinResumedParams): Promise<JoinedGroup> {
  const joined = await joinFromWelcome({ ...p, resumptionPsks: oldGroupPsks(old) });
  const r = joined.resumption;
  if (r === null || r.usage !== "branch") throw new ValidationError("branch_psk_missing", "the Welcome has no resumption PSK of usage branch", BRANCH);
  if (!bytesEqual(r.groupId, old.groupId)) throw new ValidationError("branch_psk_mismatch", "the branch PSK names another group", BRANCH);
  const gc = joined.state.groupContext;
  // "The version and cipher_suite values in the Welcome message are the same as those used by the old group."
  if (gc.version !== old.groupContext.version || gc.cipherSuite !== old.cipherSuite) {
    throw new ValidationError("branch_parameters", `the subgroup uses version ${gc.version} and suite ${gc.cipherSuite}, the old group ${old.groupContext.version} and ${old.cipherSuite}`, BRANCH);
  }
  // "The epoch in the Welcome message MUST be 1."
  if (gc.epoch !== 1n) throw new ValidationError("resumption_epoch", `the subgroup starts at epoch ${gc.epoch}, not 1`, BRANCH);
  // "Each LeafNode in a new subgroup MUST match some LeafNode in the original group."
  const as = p.config.authenticationService;
  const strangers = unmatchedLeaves(as, old.tree, joined.state.tree, false);
  if (strangers.length > 0) {
    throw new ValidationError("branch_membership", `members of the subgroup are not in the old group: ${strangers.map((l) => as.identity(l.credential)).join(", ")}`, BRANCH);
  }
  return joined;
}

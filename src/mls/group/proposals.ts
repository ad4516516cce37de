/**
 * Proposals outside Commits (RFC 9420 §12.1): sending them as handshake messages and caching
 * them by ProposalRef, and processing received ones.
 *
 *   proposeX(state, …) ─► Proposal ─► validate (§12.1.x) ─► frame, sign, protect ─► ProposalRef
 *                       ─► { message, ref, state: state + cached proposal }
 *   processProposal(state, verified) ─► validate (§12.1.x) ─► cache by ProposalRef ─► new state
 *
 * Our Update proposals keep the new leaf's private key (in `ownUpdateKeys`) until a Commit
 * covering them arrives. Proposals are only valid in their epoch; a Commit empties the cache.
 * @module
 */
import { makeProposalRef } from "../../crypto/labeled.js";
import { UsageError, ValidationError } from "../../errors.js";
import { EMPTY, toHex } from "../../util/bytes.js";
import type { Extension } from "../core/extension.js";
import { pskTypes, resumptionPskUsages, type PreSharedKeyId } from "../core/pre-shared-key-id.js";
import { contentTypes, leafNodeSources, proposalTypes, senderTypes, type ProtocolVersion } from "../core/protocol.js";
import { encodeAuthenticatedContent, type AuthenticatedContent } from "../framing/framed-content.js";
import type { MlsMessage } from "../framing/mls-message.js";
import type { Sender } from "../framing/sender.js";
import type { KeyPackage } from "../messages/key-package.js";
import type { Proposal } from "../messages/proposal.js";
import type { LeafNodeContent } from "../tree/leaf-node.js";
import { signLeafNode } from "../tree/leaf-node-ops.js";
import type { GroupState, PendingProposal } from "./group-state.js";
import type { VerifiedMessage } from "./inbound.js";
import { frameContent, protectContent, signContent } from "./outbound.js";
import { validateProposal, type ValidationContext } from "./proposal-validation.js";
import { freshPskNonce } from "./psk-lookup.js";

/** A proposal we sent: the message for the Delivery Service, its ref, and the state that caches it. */
export interface SentProposal {
  readonly message: MlsMessage;
  readonly ref: Uint8Array;
  readonly proposal: Proposal;
  readonly state: GroupState;
}

/** A received proposal, now cached. */
export interface ReceivedProposal {
  readonly ref: Uint8Array;
  readonly proposal: Proposal;
  readonly sender: Sender;
  readonly state: GroupState;
}

function ctxOf(state: GroupState): ValidationContext {
  return { cs: state.cs, config: state.config, tree: state.tree, groupContext: state.groupContext };
}

/** RFC 9420 §5.2: ProposalRef = MakeProposalRef(AuthenticatedContent) with the group's suite. */
export function proposalRef(state: GroupState, ac: AuthenticatedContent): Uint8Array {
  return makeProposalRef(state.cs, encodeAuthenticatedContent(ac));
}

function withCached(state: GroupState, p: PendingProposal, updateKey?: Uint8Array): GroupState {
  const key = toHex(p.ref);
  const pending = new Map(state.pendingProposals);
  pending.set(key, p);
  if (updateKey === undefined) return state.with({ pendingProposals: pending });
  const keys = new Map(state.ownUpdateKeys);
  keys.set(key, updateKey);
  return state.with({ pendingProposals: pending, ownUpdateKeys: keys });
}

/** Frame, sign, protect and cache one of our proposals. */
async function send(state: GroupState, proposal: Proposal, authenticatedData: Uint8Array, updateKey?: Uint8Array): Promise<SentProposal> {
  state.assertCanCommit("send a proposal");
  const sender: Sender = { senderType: senderTypes.member, leafIndex: state.ownLeafIndex };
  await validateProposal(ctxOf(state), proposal, sender, { sending: true });
  const ac = signContent(state, frameContent(state, { contentType: contentTypes.proposal, proposal }, authenticatedData));
  const message = protectContent(state, ac);
  const ref = proposalRef(state, ac);
  return { message, ref, proposal, state: withCached(state, { ref, proposal, sender }, updateKey) };
}

export interface ProposeOptions {
  readonly authenticatedData?: Uint8Array;
}

/** RFC 9420 §12.1.1: propose adding the client of `keyPackage`. */
export function proposeAdd(state: GroupState, keyPackage: KeyPackage, opts: ProposeOptions = {}): Promise<SentProposal> {
  return send(state, { proposalType: proposalTypes.add, add: { keyPackage } }, opts.authenticatedData ?? EMPTY);
}

/** RFC 9420 §12.1.3: propose removing the member at `leafIndex`. */
export function proposeRemove(state: GroupState, leafIndex: number, opts: ProposeOptions = {}): Promise<SentProposal> {
  if (state.tree.leaf(leafIndex) === null) throw new UsageError("blank_leaf", `leaf ${leafIndex} is not a member`);
  return send(state, { proposalType: proposalTypes.remove, remove: { removed: leafIndex } }, opts.authenticatedData ?? EMPTY);
}

export interface ProposeUpdateOptions extends ProposeOptions {
  /** New capabilities or leaf extensions (default: unchanged). */
  readonly capabilities?: LeafNodeContent["capabilities"];
  readonly extensions?: LeafNodeContent["extensions"];
}

/**
 * RFC 9420 §12.1.2: propose replacing our leaf with a fresh encryption key (leaf_node_source
 * update, signed for this group and leaf, §7.2). The new private key is kept until committed.
 */
export async function proposeUpdate(state: GroupState, opts: ProposeUpdateOptions = {}): Promise<SentProposal> {
  state.assertCanCommit("send a proposal");
  const { cs } = state;
  const current = state.ownLeafNode;
  const kp = await cs.hpkeKeyPair();
  const leafNode = signLeafNode(
    cs,
    state.signaturePrivateKey,
    {
      encryptionKey: kp.publicKey,
      signatureKey: current.signatureKey,
      credential: current.credential,
      capabilities: opts.capabilities ?? current.capabilities,
      leafNodeSource: leafNodeSources.update,
      extensions: opts.extensions ?? current.extensions,
    },
    { groupId: state.groupId, leafIndex: state.ownLeafIndex },
  );
  return send(state, { proposalType: proposalTypes.update, update: { leafNode } }, opts.authenticatedData ?? EMPTY, kp.privateKey);
}

/** RFC 9420 §12.1.4: propose injecting the external PSK `pskId` (fresh psk_nonce, §8.4). */
export function proposeExternalPsk(state: GroupState, pskId: Uint8Array, opts: ProposeOptions = {}): Promise<SentProposal> {
  return send(state, { proposalType: proposalTypes.psk, psk: { psk: externalPskId(state, pskId) } }, opts.authenticatedData ?? EMPTY);
}

/** RFC 9420 §12.1.4, §8.6: propose injecting this group's resumption PSK of `epoch` (usage application). */
export function proposeResumptionPsk(state: GroupState, epoch: bigint, opts: ProposeOptions = {}): Promise<SentProposal> {
  if (state.resumptionPsk(epoch) === null) throw new UsageError("unknown_resumption_psk", `the resumption PSK of epoch ${epoch} is not kept`);
  const id: PreSharedKeyId = { psktype: pskTypes.resumption, usage: resumptionPskUsages.application, pskGroupId: state.groupId, pskEpoch: epoch, pskNonce: freshPskNonce(state.cs) };
  return send(state, { proposalType: proposalTypes.psk, psk: { psk: id } }, opts.authenticatedData ?? EMPTY);
}

/** An external PreSharedKeyID with a fresh nonce, for PSK proposals by value in a Commit. */
export function externalPskId(state: GroupState, pskId: Uint8Array): PreSharedKeyId {
  return { psktype: pskTypes.external, pskId, pskNonce: freshPskNonce(state.cs) };
}

export interface ReInitParams {
  readonly groupId: Uint8Array;
  readonly version?: ProtocolVersion;
  readonly cipherSuite: number;
  readonly extensions?: readonly Extension[];
}

/** RFC 9420 §12.1.5: propose reinitializing the group with new parameters. */
export function proposeReInit(state: GroupState, params: ReInitParams, opts: ProposeOptions = {}): Promise<SentProposal> {
  const reinit = { groupId: params.groupId, version: params.version ?? state.groupContext.version, cipherSuite: params.cipherSuite, extensions: params.extensions ?? [] };
  return send(state, { proposalType: proposalTypes.reinit, reinit }, opts.authenticatedData ?? EMPTY);
}

/** RFC 9420 §12.1.7: propose replacing the GroupContext extensions (wholesale). */
export function proposeGroupContextExtensions(state: GroupState, extensions: readonly Extension[], opts: ProposeOptions = {}): Promise<SentProposal> {
  return send(state, { proposalType: proposalTypes.group_context_extensions, groupContextExtensions: { extensions } }, opts.authenticatedData ?? EMPTY);
}

/**
 * RFC 9420 §12.1: a received proposal (signature, epoch and membership already checked by
 * inbound.ts) is validated and cached "in such a way that it can be retrieved by hash". A
 * proposal already cached is returned unchanged.
 */
export async function processProposal(state: GroupState, msg: VerifiedMessage): Promise<ReceivedProposal> {
  state.assertCanCommit("process a proposal");
  const content = msg.ac.content;
  if (content.contentType !== contentTypes.proposal) throw new UsageError("not_a_proposal", "processProposal needs a Proposal");
  const ref = proposalRef(state, msg.ac);
  const cached = state.pendingProposals.get(toHex(ref));
  if (cached !== undefined) return { ref, proposal: cached.proposal, sender: cached.sender, state };
  const { proposal, sender } = content;
  if (proposal.proposalType === proposalTypes.external_init) {
    throw new ValidationError("external_init_outside_external_commit", "ExternalInit is only valid by value in an external Commit", "RFC 9420 §12.1.6");
  }
  await validateProposal(ctxOf(state), proposal, sender);
  return { ref, proposal, sender, state: withCached(state, { ref, proposal, sender }) };
}

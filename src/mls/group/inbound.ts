/**
 * Turning a received PublicMessage or PrivateMessage into a verified AuthenticatedContent
 * (RFC 9420 §6, §6.1–§6.3, §12.1, §12.4.2):
 *
 *   MLSMessage ─► group_id / epoch checks ─► unprotect (membership tag │ decryption)
 *              ─► sender's signature key (leaf │ external_senders │ KeyPackage │ UpdatePath leaf)
 *              ─► signature over FramedContentTBS ─► {@link VerifiedMessage}
 *
 * Handshakes must be for the current epoch; application messages may come from the current epoch
 * or one of the kept past epochs (RFC 9420 §15.3). Messages our own leaf sent (reflected by the
 * Delivery Service) are recognised and reported as `own`: our sending ratchet has consumed their
 * keys, so they could not be decrypted anyway.
 * @module
 */
import { InternalError, UsageError, ValidationError } from "../../errors.js";
import { bytesEqual } from "../../util/bytes.js";
import { extensionTypes, findExtension, type Extension } from "../core/extension.js";
import { decodeExternalSenders } from "../core/external-senders.js";
import { contentTypes, externalSenderProposalTypes, proposalTypes, senderTypes, wireFormats, type ContentType } from "../core/protocol.js";
import { verifyFramedContentSignature } from "../framing/content-auth.js";
import { senderSignsGroupContext, type AuthenticatedContent } from "../framing/framed-content.js";
import type { MlsMessage } from "../framing/mls-message.js";
import type { PrivateMessage } from "../framing/private-message.js";
import { unprotectPrivateMessage } from "../framing/private-message-protection.js";
import { unprotectPublicMessage } from "../framing/public-message-protection.js";
import type { LeafNode } from "../tree/leaf-node.js";
import type { TreeState } from "../tree/tree-state.js";
import type { GroupState, PastEpoch } from "./group-state.js";

/** A received message whose membership tag or encryption, and signature, were checked. */
export interface VerifiedMessage {
  readonly ac: AuthenticatedContent;
  /** The past epoch whose keys opened it, or null for the current epoch. */
  readonly past: PastEpoch | null;
  /** The PrivateMessage generation, or null for a PublicMessage. */
  readonly generation: number | null;
  /** The member sender's LeafNode in the message's epoch; null for non-member senders. */
  readonly senderLeaf: LeafNode | null;
  /** Generations of the sender this PrivateMessage revealed as skipped (RFC 9750 §8.1.4). */
  readonly skipped: readonly number[];
}

export type InboundMessage =
  | { readonly kind: "verified"; readonly message: VerifiedMessage }
  /** A message from our own leaf (reflected); nothing to do. */
  | { readonly kind: "own"; readonly contentType: ContentType; readonly epoch: bigint };

class OwnLeaf extends Error {}

function checkGroupAndEpoch(state: GroupState, groupId: Uint8Array, epoch: bigint, contentType: number, isPrivate: boolean): PastEpoch | null {
  if (!bytesEqual(groupId, state.groupId)) throw new ValidationError("wrong_group", "the message is for another group", "RFC 9420 §6");
  if (epoch === state.epoch) return null;
  // RFC 9420 §15.3: late application messages of recent epochs; handshakes only for the current epoch (§12.1, §12.4.2).
  if (isPrivate && contentType === contentTypes.application) {
    const past = state.pastEpochs.find((p) => p.epoch === epoch);
    if (past !== undefined) return past;
  }
  const rfc = contentType === contentTypes.application ? "RFC 9420 §15.3" : contentType === contentTypes.commit ? "RFC 9420 §12.4.2" : "RFC 9420 §12.1";
  throw new ValidationError(epoch > state.epoch ? "future_epoch" : "wrong_epoch", `message for epoch ${epoch}, group is at epoch ${state.epoch}`, rfc);
}

function memberLeaf(tree: TreeState, leafIndex: number): LeafNode {
  const leaf = leafIndex < tree.nLeaves ? tree.leaf(leafIndex) : null;
  if (leaf === null) throw new ValidationError("sender_not_member", `sender leaf ${leafIndex} is not a member`, "RFC 9420 §6.1");
  return leaf;
}

/**
 * RFC 9420 §6.1: the signature key of a non-member sender, with the content-type rules of each
 * sender type. `groupContextExtensions` are those of the message's epoch (for external_senders).
 * Shared with the Delivery Service observer (public-group.ts).
 */
export function nonMemberSignatureKey(groupContextExtensions: readonly Extension[], ac: AuthenticatedContent): Uint8Array {
  const c = ac.content;
  switch (c.sender.senderType) {
    case senderTypes.external: {
      // RFC 9420 §6.1: "The content_type of the message MUST be proposal and the proposal_type MUST be a value that is allowed for external senders."
      if (c.contentType !== contentTypes.proposal || !externalSenderProposalTypes.has(c.proposal.proposalType)) {
        throw new ValidationError("external_sender_content", "an external sender may only send add, remove, psk, reinit or group_context_extensions proposals", "RFC 9420 §12.1.8");
      }
      const ext = findExtension(groupContextExtensions, extensionTypes.external_senders);
      if (ext === null) throw new ValidationError("no_external_senders", "the group has no external_senders extension", "RFC 9420 §12.1.8");
      const sender = decodeExternalSenders(ext.extensionData)[c.sender.senderIndex];
      if (sender === undefined) throw new ValidationError("unknown_external_sender", `no external sender ${c.sender.senderIndex}`, "RFC 9420 §12.1.8.1");
      return sender.signatureKey;
    }
    case senderTypes.new_member_proposal:
      // RFC 9420 §6.1: "The content_type of the message MUST be proposal and the proposal_type of the Proposal MUST be add."
      if (c.contentType !== contentTypes.proposal || c.proposal.proposalType !== proposalTypes.add) {
        throw new ValidationError("new_member_proposal_content", "a new_member_proposal sender may only send an Add proposal", "RFC 9420 §6.1");
      }
      return c.proposal.add.keyPackage.leafNode.signatureKey;
    case senderTypes.new_member_commit:
      // RFC 9420 §6.1: "The content_type of the message MUST be commit"; the key is the one in the Commit's path.
      if (c.contentType !== contentTypes.commit) {
        throw new ValidationError("new_member_commit_content", "a new_member_commit sender may only send a Commit", "RFC 9420 §6.1");
      }
      if (c.commit.path === null) throw new ValidationError("path_required", "an external Commit must contain a path", "RFC 9420 §12.4.3.2");
      return c.commit.path.leafNode.signatureKey;
    case senderTypes.member:
      throw new InternalError("member senders are looked up in the tree");
  }
}

/** RFC 9420 §6, §6.2, §6.3: check, unprotect and verify a received PublicMessage or PrivateMessage. */
export function verifyInbound(state: GroupState, msg: MlsMessage): InboundMessage {
  if (msg.wireFormat === wireFormats.mls_public_message) {
    const pm = msg.publicMessage;
    const c = pm.content;
    if (c.contentType === contentTypes.application) {
      // RFC 9420 §6: "Applications MUST use PrivateMessage to encrypt application messages".
      throw new ValidationError("application_as_public", "application data arrived as PublicMessage", "RFC 9420 §6");
    }
    checkGroupAndEpoch(state, c.groupId, c.epoch, c.contentType, false);
    if (c.sender.senderType === senderTypes.member) {
      if (c.sender.leafIndex === state.ownLeafIndex) return { kind: "own", contentType: c.contentType, epoch: c.epoch };
      const leaf = memberLeaf(state.tree, c.sender.leafIndex);
      // RFC 9420 §6.2: "the application MUST check membership_tag and MUST check that the FramedContentAuthData is valid".
      const ac = unprotectPublicMessage(state.cs, pm, state.epochSecrets.membershipKey, state.groupContextBytes);
      verifyFramedContentSignature(state.cs, leaf.signatureKey, ac, state.groupContextBytes);
      return { kind: "verified", message: { ac, past: null, generation: null, senderLeaf: leaf, skipped: [] } };
    }
    const ac = unprotectPublicMessage(state.cs, pm);
    const key = nonMemberSignatureKey(state.groupContext.extensions, ac);
    // RFC 9420 §6.1: only member and new_member_commit signatures cover the GroupContext.
    verifyFramedContentSignature(state.cs, key, ac, senderSignsGroupContext(c.sender) ? state.groupContextBytes : undefined);
    return { kind: "verified", message: { ac, past: null, generation: null, senderLeaf: null, skipped: [] } };
  }
  if (msg.wireFormat === wireFormats.mls_private_message) {
    const opened = openPrivateMessage(state, msg.privateMessage);
    if (opened.kind === "own") return opened;
    verifyFramedContentSignature(state.cs, opened.senderLeaf.signatureKey, opened.ac, opened.groupContext);
    return { kind: "verified", message: acceptOpenedPrivateMessage(opened) };
  }
  throw new UsageError("not_a_group_message", `wire format ${msg.wireFormat} is not a PublicMessage or PrivateMessage; use joinFromWelcome for Welcomes`);
}

/**
 * A received PrivateMessage decrypted (its ratchet key consumed, RFC 9420 §9.2) whose signature
 * is not checked yet: hand it to {@link acceptOpenedPrivateMessage} only once
 * `senderLeaf.signatureKey` verified `ac` over `groupContext` (RFC 9420 §6.1).
 */
export interface OpenedPrivateMessage {
  readonly kind: "opened";
  readonly ac: AuthenticatedContent;
  readonly past: PastEpoch | null;
  readonly generation: number;
  readonly senderLeaf: LeafNode;
  readonly senderLeafIndex: number;
  /** The serialized GroupContext of the message's epoch (covered by the signature). */
  readonly groupContext: Uint8Array;
  readonly runtime: GroupState["runtime"];
}

/** RFC 9420 §6.3: check and decrypt a PrivateMessage; the signature is left to the caller. */
export function openPrivateMessage(state: GroupState, m: PrivateMessage): OpenedPrivateMessage | { readonly kind: "own"; readonly contentType: ContentType; readonly epoch: bigint } {
  const past = checkGroupAndEpoch(state, m.groupId, m.epoch, m.contentType, true);
  const tree = past?.tree ?? state.tree;
  const runtime = past?.runtime ?? state.runtime;
  const groupContext = past?.groupContextBytes ?? state.groupContextBytes;
  let opened;
  try {
    opened = unprotectPrivateMessage({
      cs: state.cs,
      secretTree: runtime.secretTree,
      senderDataSecret: runtime.senderDataSecret,
      message: m,
      isMemberLeaf: (leaf) => {
        if (leaf === state.ownLeafIndex) throw new OwnLeaf();
        return leaf < tree.nLeaves && tree.leaf(leaf) !== null;
      },
    });
  } catch (e) {
    if (e instanceof OwnLeaf) return { kind: "own", contentType: m.contentType, epoch: m.epoch };
    throw e;
  }
  const ac = opened.content;
  const sender = ac.content.sender;
  if (sender.senderType !== senderTypes.member) throw new ValidationError("sender_not_member", "a PrivateMessage sender must be a member", "RFC 9420 §6.3.2");
  const senderLeaf = memberLeaf(tree, sender.leafIndex);
  return { kind: "opened", ac, past, generation: opened.generation, senderLeaf, senderLeafIndex: sender.leafIndex, groupContext, runtime };
}

/** The verified message of an {@link OpenedPrivateMessage} whose signature checked out. */
export function acceptOpenedPrivateMessage(o: OpenedPrivateMessage): VerifiedMessage {
  // RFC 9750 §8.1.4: note gaps in the sender's generations.
  const skipped = o.runtime.generations.record(o.senderLeafIndex, o.ac.content.contentType === contentTypes.application ? "application" : "handshake", o.generation);
  return { ac: o.ac, past: o.past, generation: o.generation, senderLeaf: o.senderLeaf, skipped };
}

/**
 * The single entry point for what arrives from the Delivery Service for a group:
 *
 *   bytes │ MLSMessage ─► inbound.ts (checks, unprotect, signature)
 *     ├─ application ─► { kind: "application", data, sender, generation, skipped }
 *     ├─ proposal    ─► proposals.ts  ─► { kind: "proposal", ref, proposal, state }   (cached)
 *     ├─ commit      ─► commit-process.ts ─► { kind: "commit", staged }              (merge to apply)
 *     └─ our own message reflected back ─► { kind: "own" }                            (nothing to do)
 * @module
 */
import { InternalError } from "../../errors.js";
import { contentTypes, senderTypes, wireFormats, type ContentType } from "../core/protocol.js";
import { framedContentSignatureCheck } from "../framing/content-auth.js";
import { decodeMlsMessage, type MlsMessage } from "../framing/mls-message.js";
import type { Sender } from "../framing/sender.js";
import type { Proposal } from "../messages/proposal.js";
import { processCommit, type ProcessCommitOptions } from "./commit-process.js";
import type { GroupState, MemberInfo } from "./group-state.js";
import { verifySignaturesSequentially } from "./group-config.js";
import { acceptOpenedPrivateMessage, openPrivateMessage, verifyInbound, type InboundMessage } from "./inbound.js";
import { signatureQueue } from "./signature-queue.js";
import { processProposal } from "./proposals.js";
import type { StagedCommit } from "./staged-commit.js";

export interface ApplicationMessage {
  readonly kind: "application";
  readonly state: GroupState;
  readonly data: Uint8Array;
  readonly authenticatedData: Uint8Array;
  readonly sender: MemberInfo;
  /** The epoch the message was sent in (the current one or a kept past one). */
  readonly epoch: bigint;
  readonly generation: number;
  /** Generations of this sender this message revealed as missing (RFC 9750 §8.1.4); usually empty. */
  readonly skipped: readonly number[];
}

export interface ProposalMessage {
  readonly kind: "proposal";
  /** The state with the proposal cached. */
  readonly state: GroupState;
  readonly ref: Uint8Array;
  readonly proposal: Proposal;
  readonly sender: Sender;
  readonly authenticatedData: Uint8Array;
}

export interface CommitMessage {
  readonly kind: "commit";
  /** The state the Commit applies to (unchanged until {@link mergeStagedCommit}). */
  readonly state: GroupState;
  readonly staged: StagedCommit;
}

export interface OwnMessage {
  readonly kind: "own";
  readonly state: GroupState;
  readonly contentType: ContentType;
  readonly epoch: bigint;
}

export type ProcessedMessage = ApplicationMessage | ProposalMessage | CommitMessage | OwnMessage;

export type ProcessMessageOptions = ProcessCommitOptions;

/** {@link verifyInbound}, with application signatures through the config's batch verifier when it has one. */
async function verifyInboundBatched(state: GroupState, msg: MlsMessage): Promise<InboundMessage> {
  const verifier = state.config.verifySignatures;
  if (msg.wireFormat !== wireFormats.mls_private_message || msg.privateMessage.contentType !== contentTypes.application || verifier === verifySignaturesSequentially) {
    return verifyInbound(state, msg);
  }
  const opened = openPrivateMessage(state, msg.privateMessage);
  if (opened.kind === "own") return opened;
  const check = framedContentSignatureCheck(opened.senderLeaf.signatureKey, opened.ac, opened.groupContext);
  // RFC 9420 §6.1: verified before anything of the message is used.
  await signatureQueue(state.cs, verifier).verify({ leafIndex: opened.senderLeafIndex, ...check });
  return { kind: "verified", message: acceptOpenedPrivateMessage(opened) };
}

/**
 * Process one received PublicMessage or PrivateMessage of this group.
 *
 * Application messages may be processed concurrently (say `Promise.all` over a page of the
 * archive): each is decrypted at once, in call order, and with a `config.verifySignatures` other
 * than the sequential default their signatures are verified together, on other threads too (see
 * signature-queue.ts). Handshake messages must still be processed one after the other.
 */
export async function processMessage(state: GroupState, message: MlsMessage | Uint8Array, options: ProcessMessageOptions = {}): Promise<ProcessedMessage> {
  const msg = message instanceof Uint8Array ? decodeMlsMessage(message) : message;
  const inbound = await verifyInboundBatched(state, msg);
  if (inbound.kind === "own") return { kind: "own", state, contentType: inbound.contentType, epoch: inbound.epoch };
  const v = inbound.message;
  const content = v.ac.content;
  switch (content.contentType) {
    case contentTypes.application: {
      const sender = content.sender;
      if (sender.senderType !== senderTypes.member || v.senderLeaf === null || v.generation === null) {
        throw new InternalError("an application message passed inbound checks without a member sender");
      }
      const as = state.config.authenticationService;
      return {
        kind: "application",
        state,
        data: content.applicationData,
        authenticatedData: content.authenticatedData,
        sender: { leafIndex: sender.leafIndex as MemberInfo["leafIndex"], credential: v.senderLeaf.credential, signatureKey: v.senderLeaf.signatureKey, identity: as.identity(v.senderLeaf.credential) },
        epoch: content.epoch,
        generation: v.generation,
        skipped: v.skipped,
      };
    }
    case contentTypes.proposal: {
      const r = await processProposal(state, v);
      return { kind: "proposal", state: r.state, ref: r.ref, proposal: r.proposal, sender: r.sender, authenticatedData: content.authenticatedData };
    }
    case contentTypes.commit:
      return { kind: "commit", state, staged: await processCommit(state, v, options) };
  }
}

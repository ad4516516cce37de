/**
 * FramedContent and its authentication (RFC 9420 §6, §6.1): the content of a handshake or
 * application message, the to-be-signed FramedContentTBS, the FramedContentAuthData that carries
 * the signature (and, for commits, the confirmation tag), and AuthenticatedContent, the form most
 * of the protocol works with.
 *
 *   Proposal | Commit | application_data
 *                 |
 *           FramedContent ──(sign FramedContentTBS)──> FramedContentAuthData
 *                 └──────────────┬──────────────────────────┘
 *                       AuthenticatedContent ──> PublicMessage | PrivateMessage (other modules)
 *
 * Signing and verifying are done by the caller with the bytes produced here.
 * @module
 */
import { decode, type Reader } from "../../codec/reader.js";
import { encode, Writer } from "../../codec/writer.js";
import { UsageError } from "../../errors.js";
import { contentTypes, protocolVersions, senderTypes } from "../core/protocol.js";
import { commitSizeHint, readCommit, writeCommit, type Commit } from "../messages/commit.js";
import { readProposal, writeProposal, type Proposal } from "../messages/proposal.js";
import type { TranscriptInput } from "../schedule/transcript-hash.js";
import { readSender, writeSender, type Sender } from "./sender.js";

/** `case application: opaque application_data<V>;` */
export interface ApplicationContent {
  readonly contentType: typeof contentTypes.application;
  readonly applicationData: Uint8Array;
}

/** `case proposal: Proposal proposal;` */
export interface ProposalContent {
  readonly contentType: typeof contentTypes.proposal;
  readonly proposal: Proposal;
}

/** `case commit: Commit commit;` */
export interface CommitContent {
  readonly contentType: typeof contentTypes.commit;
  readonly commit: Commit;
}

/** The `content_type` select shared by FramedContent and PrivateMessageContent (RFC 9420 §6, §6.3.1). */
export type ContentBody = ApplicationContent | ProposalContent | CommitContent;

/**
 * RFC 9420 §6:
 *   struct {
 *       opaque group_id<V>;
 *       uint64 epoch;
 *       Sender sender;
 *       opaque authenticated_data<V>;
 *
 *       ContentType content_type;
 *       select (FramedContent.content_type) {
 *           case application:
 *             opaque application_data<V>;
 *           case proposal:
 *             Proposal proposal;
 *           case commit:
 *             Commit commit;
 *       };
 *   } FramedContent;
 */
export type FramedContent = {
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  readonly sender: Sender;
  readonly authenticatedData: Uint8Array;
} & ContentBody;

/** The select arm only (no content_type byte), for a content type known from elsewhere. */
export function readContentBody(r: Reader, contentType: number): ContentBody {
  switch (contentType) {
    case contentTypes.application:
      return { contentType, applicationData: r.field("application_data", () => r.opaque()) };
    case contentTypes.proposal:
      return { contentType, proposal: r.field("proposal", () => readProposal(r)) };
    case contentTypes.commit:
      return { contentType, commit: r.field("commit", () => readCommit(r)) };
    default:
      return r.field("content_type", () => r.fail("bad_enum", `unknown ContentType ${contentType}`));
  }
}

/** The select arm only (no content_type byte). */
export function writeContentBody(w: Writer, v: ContentBody): void {
  switch (v.contentType) {
    case contentTypes.application:
      w.opaque(v.applicationData);
      break;
    case contentTypes.proposal:
      writeProposal(w, v.proposal);
      break;
    case contentTypes.commit:
      writeCommit(w, v.commit);
      break;
  }
}

/** The FramedContent fields before the content body. */
export interface FramedContentHeader {
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  readonly sender: Sender;
  readonly authenticatedData: Uint8Array;
}

/**
 * A FramedContent from its header and body, built field by field. Per-message paths avoid object
 * spread: on Node 20 (V8 11.3) `{ ...header, ...body }` in a hot loop leaves megabytes of young
 * objects alive at every scavenge, which are then promoted and grow the old generation.
 */
export function framedContentOf(h: FramedContentHeader, body: ContentBody): FramedContent {
  const { groupId, epoch, sender, authenticatedData } = h;
  switch (body.contentType) {
    case contentTypes.application:
      return { groupId, epoch, sender, authenticatedData, contentType: body.contentType, applicationData: body.applicationData };
    case contentTypes.proposal:
      return { groupId, epoch, sender, authenticatedData, contentType: body.contentType, proposal: body.proposal };
    case contentTypes.commit:
      return { groupId, epoch, sender, authenticatedData, contentType: body.contentType, commit: body.commit };
  }
}

/** About the encoded size of a content body, to size a writer once (proposals are guessed at 1 KiB). */
export function contentBodySizeHint(v: ContentBody): number {
  switch (v.contentType) {
    case contentTypes.application:
      return 4 + v.applicationData.length;
    case contentTypes.proposal:
      return 1024;
    case contentTypes.commit:
      return commitSizeHint(v.commit);
  }
}

/**
 * About the encoded size of a FramedContent: writers of the structures that embed it (TBS,
 * transcript input, messages) are sized once instead of doubling up to ~1 MB for the Commit of a
 * 10,000-member group, leaving a trail of garbage buffers.
 */
export function framedContentSizeHint(v: FramedContent): number {
  return 32 + v.groupId.length + v.authenticatedData.length + contentBodySizeHint(v);
}

export function readFramedContent(r: Reader): FramedContent {
  const groupId = r.field("group_id", () => r.opaque());
  const epoch = r.field("epoch", () => r.u64());
  const sender = r.field("sender", () => readSender(r));
  const authenticatedData = r.field("authenticated_data", () => r.opaque());
  const contentType = r.field("content_type", () => r.u8());
  const body = readContentBody(r, contentType);
  return framedContentOf({ groupId, epoch, sender, authenticatedData }, body);
}

export function writeFramedContent(w: Writer, v: FramedContent): void {
  w.opaque(v.groupId).u64(v.epoch);
  writeSender(w, v.sender);
  w.opaque(v.authenticatedData).u8(v.contentType);
  writeContentBody(w, v);
}

export function encodeFramedContent(v: FramedContent): Uint8Array {
  return encode(v, writeFramedContent, framedContentSizeHint(v));
}

export function decodeFramedContent(bytes: Uint8Array): FramedContent {
  return decode(bytes, readFramedContent, "FramedContent");
}

/**
 * RFC 9420 §6.1:
 *   struct {
 *       // SignWithLabel(., "FramedContentTBS", FramedContentTBS)
 *       opaque signature<V>;
 *       select (FramedContent.content_type) {
 *           case commit:
 *               // MAC(confirmation_key, GroupContext.confirmed_transcript_hash)
 *               MAC confirmation_tag;
 *           case application:
 *           case proposal:
 *               struct{};
 *       };
 *   } FramedContentAuthData;
 *
 * `confirmationTag` is present exactly when the content is a commit.
 */
export interface FramedContentAuthData {
  readonly signature: Uint8Array;
  readonly confirmationTag?: Uint8Array;
}

export function readFramedContentAuthData(r: Reader, contentType: number): FramedContentAuthData {
  const signature = r.field("signature", () => r.opaque());
  if (contentType !== contentTypes.commit) return { signature };
  const confirmationTag = r.field("confirmation_tag", () => r.opaque());
  return { signature, confirmationTag };
}

export function writeFramedContentAuthData(w: Writer, v: FramedContentAuthData, contentType: number): void {
  w.opaque(v.signature);
  const isCommit = contentType === contentTypes.commit;
  // RFC 9420 §6.1: confirmation_tag is present for commits and only for commits.
  if (isCommit !== (v.confirmationTag !== undefined)) {
    throw new UsageError(
      "confirmation_tag_mismatch",
      isCommit ? "FramedContentAuthData of a commit needs a confirmation_tag" : "confirmation_tag is only sent with commits",
    );
  }
  if (v.confirmationTag !== undefined) w.opaque(v.confirmationTag);
}

/** Whether FramedContentTBS (and AuthenticatedContentTBM) carries the GroupContext (RFC 9420 §6.1). */
export function senderSignsGroupContext(sender: Sender): boolean {
  return sender.senderType === senderTypes.member || sender.senderType === senderTypes.new_member_commit;
}

/** Inputs of FramedContentTBS. `groupContext` is the serialized GroupContext of the current epoch. */
export interface FramedContentTbsInput {
  readonly wireFormat: number;
  readonly content: FramedContent;
  readonly groupContext?: Uint8Array;
}

/**
 * RFC 9420 §6.1:
 *   struct {
 *       ProtocolVersion version = mls10;
 *       WireFormat wire_format;
 *       FramedContent content;
 *       select (FramedContentTBS.content.sender.sender_type) {
 *           case member:
 *           case new_member_commit:
 *               GroupContext context;
 *           case external:
 *           case new_member_proposal:
 *               struct{};
 *       };
 *   } FramedContentTBS;
 *
 * `groupContext` must be given exactly for member and new_member_commit senders.
 */
export function writeFramedContentTbs(w: Writer, v: FramedContentTbsInput): void {
  const needsContext = senderSignsGroupContext(v.content.sender);
  if (needsContext !== (v.groupContext !== undefined)) {
    throw new UsageError(
      "group_context_mismatch",
      needsContext ? "FramedContentTBS for this sender needs the GroupContext" : "FramedContentTBS for this sender has no GroupContext",
    );
  }
  w.u16(protocolVersions.mls10).u16(v.wireFormat);
  writeFramedContent(w, v.content);
  if (v.groupContext !== undefined) w.bytes(v.groupContext);
}

/** About the encoded size of a FramedContentTBS. */
export function framedContentTbsSizeHint(v: FramedContentTbsInput): number {
  return 4 + framedContentSizeHint(v.content) + (v.groupContext?.length ?? 0);
}

/** The bytes signed with label "FramedContentTBS". */
export function encodeFramedContentTbs(v: FramedContentTbsInput): Uint8Array {
  const w = new Writer(framedContentTbsSizeHint(v));
  writeFramedContentTbs(w, v);
  return w.finish();
}

/**
 * RFC 9420 §6:
 *   struct {
 *       WireFormat wire_format;
 *       FramedContent content;
 *       FramedContentAuthData auth;
 *   } AuthenticatedContent;
 *
 * `wireFormat` is any uint16: nothing in this struct depends on it.
 */
export interface AuthenticatedContent {
  readonly wireFormat: number;
  readonly content: FramedContent;
  readonly auth: FramedContentAuthData;
}

export function readAuthenticatedContent(r: Reader): AuthenticatedContent {
  const wireFormat = r.field("wire_format", () => r.u16());
  const content = r.field("content", () => readFramedContent(r));
  const auth = r.field("auth", () => readFramedContentAuthData(r, content.contentType));
  return { wireFormat, content, auth };
}

export function writeAuthenticatedContent(w: Writer, v: AuthenticatedContent): void {
  w.u16(v.wireFormat);
  writeFramedContent(w, v.content);
  writeFramedContentAuthData(w, v.auth, v.content.contentType);
}

/** The AuthenticatedContent bytes (the input of MakeProposalRef, RFC 9420 §5.2). */
export function encodeAuthenticatedContent(v: AuthenticatedContent): Uint8Array {
  return encode(v, writeAuthenticatedContent, framedContentSizeHint(v.content) + 256);
}

export function decodeAuthenticatedContent(bytes: Uint8Array): AuthenticatedContent {
  return decode(bytes, readAuthenticatedContent, "AuthenticatedContent");
}

/**
 * RFC 9420 §8.2:
 *   struct {
 *       WireFormat wire_format;
 *       FramedContent content; // with content_type == commit
 *       opaque signature<V>;
 *   } ConfirmedTranscriptHashInput;
 */
export function encodeConfirmedTranscriptHashInput(ac: AuthenticatedContent): Uint8Array {
  const input = confirmedTranscriptHashInput(ac);
  const w = new Writer(input.sizeHint);
  input.write(w);
  return w.finish();
}

/** ConfirmedTranscriptHashInput to be written in place (RFC 9420 §8.2), e.g. after the interim transcript hash. */
export function confirmedTranscriptHashInput(ac: AuthenticatedContent): TranscriptInput {
  if (ac.content.contentType !== contentTypes.commit) {
    throw new UsageError("not_a_commit", "ConfirmedTranscriptHashInput is defined for commits only");
  }
  return {
    sizeHint: 8 + framedContentSizeHint(ac.content) + ac.auth.signature.length,
    write(w: Writer): void {
      w.u16(ac.wireFormat);
      writeFramedContent(w, ac.content);
      w.opaque(ac.auth.signature);
    },
  };
}

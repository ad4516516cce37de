/**
 * PublicMessage (RFC 9420 §6.2): signed but unencrypted framing, plus the membership tag that
 * proves a member sender knows the epoch's membership_key. Computing and checking the tag is the
 * caller's job, with the AuthenticatedContentTBM bytes produced here.
 * @module
 */
import { decode, type Reader } from "../../codec/reader.js";
import { encode, Writer } from "../../codec/writer.js";
import { UsageError } from "../../errors.js";
import { senderTypes, wireFormats } from "../core/protocol.js";
import {
  framedContentSizeHint,
  framedContentTbsSizeHint,
  readFramedContent,
  readFramedContentAuthData,
  writeFramedContent,
  writeFramedContentAuthData,
  writeFramedContentTbs,
  type FramedContent,
  type FramedContentAuthData,
} from "./framed-content.js";

/**
 * RFC 9420 §6.2:
 *   struct {
 *       FramedContent content;
 *       FramedContentAuthData auth;
 *       select (PublicMessage.content.sender.sender_type) {
 *           case member:
 *               MAC membership_tag;
 *           case external:
 *           case new_member_commit:
 *           case new_member_proposal:
 *               struct{};
 *       };
 *   } PublicMessage;
 *
 * `membershipTag` is present exactly when the sender is a member.
 */
export interface PublicMessage {
  readonly content: FramedContent;
  readonly auth: FramedContentAuthData;
  readonly membershipTag?: Uint8Array;
}

export function readPublicMessage(r: Reader): PublicMessage {
  const content = r.field("content", () => readFramedContent(r));
  const auth = r.field("auth", () => readFramedContentAuthData(r, content.contentType));
  if (content.sender.senderType !== senderTypes.member) return { content, auth };
  const membershipTag = r.field("membership_tag", () => r.opaque());
  return { content, auth, membershipTag };
}

export function writePublicMessage(w: Writer, v: PublicMessage): void {
  const isMember = v.content.sender.senderType === senderTypes.member;
  // RFC 9420 §6.2: membership_tag is present for member senders and only for them.
  if (isMember !== (v.membershipTag !== undefined)) {
    throw new UsageError(
      "membership_tag_mismatch",
      isMember ? "a PublicMessage from a member needs a membership_tag" : "membership_tag is only sent by members",
    );
  }
  writeFramedContent(w, v.content);
  writeFramedContentAuthData(w, v.auth, v.content.contentType);
  if (v.membershipTag !== undefined) w.opaque(v.membershipTag);
}

/** About the encoded size of a PublicMessage. */
export function publicMessageSizeHint(v: PublicMessage): number {
  return framedContentSizeHint(v.content) + 16 + v.auth.signature.length + (v.auth.confirmationTag?.length ?? 0) + (v.membershipTag?.length ?? 0);
}

export function encodePublicMessage(v: PublicMessage): Uint8Array {
  return encode(v, writePublicMessage, publicMessageSizeHint(v));
}

export function decodePublicMessage(bytes: Uint8Array): PublicMessage {
  return decode(bytes, readPublicMessage, "PublicMessage");
}

/**
 * RFC 9420 §6.2:
 *   struct {
 *     FramedContentTBS content_tbs;
 *     FramedContentAuthData auth;
 *   } AuthenticatedContentTBM;
 *
 * membership_tag = MAC(membership_key, AuthenticatedContentTBM). Only member senders carry a
 * tag, so `groupContext` (the serialized GroupContext of the epoch) is always required.
 */
export function encodeAuthenticatedContentTbm(v: Pick<PublicMessage, "content" | "auth">, groupContext: Uint8Array): Uint8Array {
  const tbs = { wireFormat: wireFormats.mls_public_message, content: v.content, groupContext };
  const w = new Writer(framedContentTbsSizeHint(tbs) + 8 + v.auth.signature.length + (v.auth.confirmationTag?.length ?? 0));
  writeFramedContentTbs(w, tbs);
  writeFramedContentAuthData(w, v.auth, v.content.contentType);
  return w.finish();
}

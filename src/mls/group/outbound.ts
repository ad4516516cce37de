/**
 * Framing of what a member sends (RFC 9420 §6): FramedContent from our leaf, signed over the
 * current GroupContext (§6.1), then protected as PublicMessage with a membership tag (§6.2) or as
 * PrivateMessage (§6.3) with the current epoch's keys.
 *
 *   body ──frameContent──► FramedContent ──signContent──► AuthenticatedContent ──protectContent──► MLSMessage
 *
 * Handshakes use the wire format of {@link GroupConfig.handshakeWireFormat}; application data is
 * always a PrivateMessage (RFC 9420 §6: "Applications MUST use PrivateMessage to encrypt
 * application messages").
 * @module
 */
import { UsageError } from "../../errors.js";
import { EMPTY } from "../../util/bytes.js";
import { contentTypes, protocolVersions, senderTypes, wireFormats, type WireFormat } from "../core/protocol.js";
import { signFramedContent } from "../framing/content-auth.js";
import { framedContentOf, type AuthenticatedContent, type ContentBody, type FramedContent } from "../framing/framed-content.js";
import type { MlsMessage } from "../framing/mls-message.js";
import { protectPrivateMessage } from "../framing/private-message-protection.js";
import { protectPublicMessage } from "../framing/public-message-protection.js";
import type { GroupState } from "./group-state.js";

/** The wire format this member uses for a content type. */
export function wireFormatFor(state: GroupState, contentType: number): WireFormat {
  if (contentType === contentTypes.application) return wireFormats.mls_private_message;
  return state.config.handshakeWireFormat === "public" ? wireFormats.mls_public_message : wireFormats.mls_private_message;
}

/** FramedContent from our leaf in the current epoch (RFC 9420 §6). */
export function frameContent(state: GroupState, body: ContentBody, authenticatedData: Uint8Array = EMPTY): FramedContent {
  return framedContentOf({ groupId: state.groupId, epoch: state.epoch, sender: { senderType: senderTypes.member, leafIndex: state.ownLeafIndex }, authenticatedData }, body);
}

/**
 * RFC 9420 §6.1: sign a member's FramedContent over the current GroupContext. Commits pass
 * `confirmationTag`, called with the signature (the confirmed transcript hash covers it, §8.2).
 */
export function signContent(
  state: GroupState,
  content: FramedContent,
  confirmationTag?: (signature: Uint8Array) => Uint8Array,
): AuthenticatedContent {
  return signFramedContent({
    cs: state.cs,
    signaturePrivateKey: state.signaturePrivateKey,
    wireFormat: wireFormatFor(state, content.contentType),
    content,
    groupContext: state.groupContextBytes,
    confirmationTag,
  });
}

/** RFC 9420 §6.2, §6.3: protect with the current epoch's membership key or secret tree. */
export function protectContent(state: GroupState, ac: AuthenticatedContent): MlsMessage {
  const version = protocolVersions.mls10;
  if (ac.wireFormat === wireFormats.mls_public_message) {
    if (ac.content.contentType === contentTypes.application) {
      throw new UsageError("application_as_public", "application data is only sent as PrivateMessage (RFC 9420 §6)");
    }
    const publicMessage = protectPublicMessage(state.cs, ac, state.epochSecrets.membershipKey, state.groupContextBytes);
    return { version, wireFormat: wireFormats.mls_public_message, publicMessage };
  }
  const privateMessage = protectPrivateMessage({
    cs: state.cs,
    secretTree: state.runtime.secretTree,
    senderDataSecret: state.runtime.senderDataSecret,
    content: ac,
    padding: state.config.padding,
  });
  return { version, wireFormat: wireFormats.mls_private_message, privateMessage };
}

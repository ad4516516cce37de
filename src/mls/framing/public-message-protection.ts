/**
 * PublicMessage protection (RFC 9420 §6.2): the membership tag that binds a member's signed
 * content to the group's membership_key.
 *
 *   struct {
 *     FramedContentTBS content_tbs;
 *     FramedContentAuthData auth;
 *   } AuthenticatedContentTBM;
 *
 *   membership_tag = MAC(membership_key, AuthenticatedContentTBM)
 * @module
 */
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { CryptoError, UsageError, ValidationError } from "../../errors.js";
import { constantTimeEqual } from "../../util/bytes.js";
import { senderTypes, wireFormats } from "../core/protocol.js";
import type { AuthenticatedContent } from "./framed-content.js";
import { encodeAuthenticatedContentTbm, type PublicMessage } from "./public-message.js";

/**
 * Turn a signed AuthenticatedContent into a PublicMessage. `membershipKey` and `groupContext` are
 * needed (and used) only when the sender is a member.
 */
export function protectPublicMessage(
  cs: CipherSuite,
  ac: AuthenticatedContent,
  membershipKey?: Uint8Array,
  groupContext?: Uint8Array,
): PublicMessage {
  if (ac.wireFormat !== wireFormats.mls_public_message) {
    throw new UsageError("wrong_wire_format", "content signed for another wire format cannot be sent as PublicMessage");
  }
  if (ac.content.sender.senderType !== senderTypes.member) return { content: ac.content, auth: ac.auth };
  if (membershipKey === undefined || groupContext === undefined) {
    throw new UsageError("membership_key_required", "a member's PublicMessage needs the membership key and GroupContext");
  }
  // RFC 9420 §6.2: membership_tag = MAC(membership_key, AuthenticatedContentTBM)
  const membershipTag = cs.mac(membershipKey, encodeAuthenticatedContentTbm(ac, groupContext));
  return { content: ac.content, auth: ac.auth, membershipTag };
}

/**
 * Check a received PublicMessage's membership tag (for member senders) and return its
 * AuthenticatedContent. The signature is NOT checked here: the caller looks up the sender's key
 * and calls `verifyFramedContentSignature` (RFC 9420 §6.2: both MUST be checked).
 */
export function unprotectPublicMessage(
  cs: CipherSuite,
  pm: PublicMessage,
  membershipKey?: Uint8Array,
  groupContext?: Uint8Array,
): AuthenticatedContent {
  if (pm.content.sender.senderType === senderTypes.member) {
    if (pm.membershipTag === undefined) {
      throw new ValidationError("missing_membership_tag", "a member's PublicMessage has no membership_tag", "RFC 9420 §6.2");
    }
    if (membershipKey === undefined || groupContext === undefined) {
      throw new UsageError("membership_key_required", "checking a member's PublicMessage needs the membership key and GroupContext");
    }
    const expected = cs.mac(membershipKey, encodeAuthenticatedContentTbm(pm, groupContext));
    // RFC 9420 §6.2: "the application MUST check membership_tag"; constant time, length checked.
    if (!constantTimeEqual(expected, pm.membershipTag)) {
      throw new CryptoError("bad_membership_tag", "the PublicMessage membership tag does not verify");
    }
  }
  return { wireFormat: wireFormats.mls_public_message, content: pm.content, auth: pm.auth };
}

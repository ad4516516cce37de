/**
 * Content authentication (RFC 9420 §6.1): signing a FramedContent into an AuthenticatedContent,
 * and verifying the signature of a received one.
 *
 * ```
 *   FramedContent --signFramedContent--> AuthenticatedContent --(protect)--> Public/PrivateMessage
 *   Public/PrivateMessage --(unprotect)--> AuthenticatedContent --verifyFramedContentSignature--> trusted
 * ```
 * @module
 */
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { signContentWith } from "../../crypto/labeled.js";
import { CryptoError, UsageError } from "../../errors.js";
import { contentTypes, type WireFormat } from "../core/protocol.js";
import { framedContentTbsSizeHint, writeFramedContentTbs, type AuthenticatedContent, type FramedContent, type FramedContentTbsInput } from "./framed-content.js";

const LABEL = "FramedContentTBS";

/** RFC 9420 §6.1, §5.1.2: SignContent{"FramedContentTBS", FramedContentTBS}, written in one buffer. */
function framedContentSignContent(input: FramedContentTbsInput): Uint8Array {
  return signContentWith(LABEL, framedContentTbsSizeHint(input), (w) => writeFramedContentTbs(w, input));
}

export interface SignFramedContentParams {
  readonly cs: CipherSuite;
  readonly signaturePrivateKey: Uint8Array;
  /** The wire format the message will be sent in; it is covered by the signature. */
  readonly wireFormat: WireFormat;
  readonly content: FramedContent;
  /** Serialized GroupContext of the current epoch; required for member and new_member_commit senders. */
  readonly groupContext?: Uint8Array;
  /**
   * For commits, computes the confirmation tag once the signature is known (the confirmed
   * transcript hash covers the signature, RFC 9420 §8.2).
   */
  readonly confirmationTag?: (signature: Uint8Array) => Uint8Array;
}

/**
 * RFC 9420 §6.1: signature = SignWithLabel(., "FramedContentTBS", FramedContentTBS); for commits
 * the confirmation tag is added.
 */
export function signFramedContent(p: SignFramedContentParams): AuthenticatedContent {
  const isCommit = p.content.contentType === contentTypes.commit;
  if (isCommit !== (p.confirmationTag !== undefined)) {
    throw new UsageError("confirmation_tag_mismatch", isCommit ? "a commit needs a confirmation tag" : "only commits carry a confirmation tag");
  }
  // RFC 9420 §6.1: signature = SignWithLabel(., "FramedContentTBS", FramedContentTBS)
  const signature = p.cs.sign(p.signaturePrivateKey, framedContentSignContent({ wireFormat: p.wireFormat, content: p.content, groupContext: p.groupContext }));
  const auth = p.confirmationTag ? { signature, confirmationTag: p.confirmationTag(signature) } : { signature };
  return { wireFormat: p.wireFormat, content: p.content, auth };
}

/**
 * RFC 9420 §6.1: "Recipients of an MLSMessage MUST verify the signature with the key depending on
 * the sender_type of the sender". The caller looks the key up (leaf node, external sender, ...).
 * Throws {@link CryptoError} `crypto.bad_signature`.
 */
export function verifyFramedContentSignature(
  cs: CipherSuite,
  signaturePublicKey: Uint8Array,
  ac: AuthenticatedContent,
  groupContext?: Uint8Array,
): void {
  // RFC 9420 §5.1.2 VerifyWithLabel(., "FramedContentTBS", FramedContentTBS, signature)
  if (!cs.verify(signaturePublicKey, framedContentSignContent({ wireFormat: ac.wireFormat, content: ac.content, groupContext }), ac.auth.signature)) {
    throw new CryptoError("bad_signature", "the FramedContent signature does not verify");
  }
}

/**
 * The verification of {@link verifyFramedContentSignature} as data, for a batch verifier
 * (other threads): the public key, the RFC 9420 §5.1.2 SignContent bytes and the signature.
 */
export function framedContentSignatureCheck(
  signaturePublicKey: Uint8Array,
  ac: AuthenticatedContent,
  groupContext?: Uint8Array,
): { readonly publicKey: Uint8Array; readonly message: Uint8Array; readonly signature: Uint8Array } {
  return { publicKey: signaturePublicKey, message: framedContentSignContent({ wireFormat: ac.wireFormat, content: ac.content, groupContext }), signature: ac.auth.signature };
}

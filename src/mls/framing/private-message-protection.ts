/**
 * PrivateMessage protection (RFC 9420 §6.3): content encryption with the sender's ratchet key and
 * a reuse guard (§6.3.1), and sender-data encryption keyed from a ciphertext sample (§6.3.2).
 *
 * ```
 *   protect:   AuthenticatedContent -> PrivateMessageContent (+ zero padding)
 *              -> AEAD(ratchet key, nonce XOR reuse_guard, PrivateContentAAD) = ciphertext
 *              -> AEAD(sender_data_key(sample), SenderDataAAD, SenderData) = encrypted_sender_data
 *   unprotect: the reverse; the SenderData names the leaf and generation whose key opens the content
 * ```
 * @module
 */
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { UsageError, ValidationError } from "../../errors.js";
import { bytesEqual, EMPTY, wipe } from "../../util/bytes.js";
import { contentTypes, senderTypes, wireFormats, type ContentType } from "../core/protocol.js";
import type { LeafIndex } from "../tree/tree-math.js";
import { deriveSenderDataKey, type SecretTree } from "../schedule/secret-tree.js";
import { framedContentOf, type AuthenticatedContent } from "./framed-content.js";
import {
  decodePrivateMessageContent,
  decodeSenderData,
  encodePrivateContentAad,
  paddedPrivateMessageContent,
  encodeSenderData,
  encodeSenderDataAad,
  type PrivateMessage,
} from "./private-message.js";

/** How much zero padding to add, given the unpadded PrivateMessageContent length. */
export type PaddingPolicy = (contentLength: number) => number;

/** Pad the plaintext up to a multiple of `block` bytes (hides exact lengths; RFC 9420 §6.3.1). */
export function padToMultipleOf(block: number): PaddingPolicy {
  if (!Number.isInteger(block) || block < 1) throw new RangeError(`"block" expected a positive integer, got ${block}`);
  return (n) => (block - (n % block)) % block;
}

/** Default: pad to a multiple of 32 bytes. */
export const DEFAULT_PADDING: PaddingPolicy = padToMultipleOf(32);

export interface ProtectPrivateParams {
  readonly cs: CipherSuite;
  readonly secretTree: SecretTree;
  readonly senderDataSecret: Uint8Array;
  /** Signed content from a member sender, signed for wire format mls_private_message. */
  readonly content: AuthenticatedContent;
  readonly padding?: PaddingPolicy;
  /** Only for tests: a fixed reuse guard instead of a fresh random one. */
  readonly reuseGuard?: Uint8Array;
}

function ratchetType(contentType: number): "handshake" | "application" {
  return contentType === contentTypes.application ? "application" : "handshake";
}

interface AadEntry {
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  readonly senderDataAad: Uint8Array;
  /** PrivateContentAAD with empty authenticated_data (the usual case). */
  readonly contentAadNoData: Uint8Array;
}

/** The AADs of the last group and epoch seen, by content type (read-only once built). */
const aadCache = new Map<number, AadEntry>();

/**
 * RFC 9420 §6.3.2 SenderDataAAD (group_id, epoch, content_type) and §6.3.1 PrivateContentAAD (the
 * same fields, then authenticated_data<V>): constant for a group's epoch and content type, so they
 * are built once, not twice per message.
 */
function aads(groupId: Uint8Array, epoch: bigint, contentType: ContentType, authenticatedData: Uint8Array): { senderData: Uint8Array; content: Uint8Array } {
  let e = aadCache.get(contentType);
  if (e === undefined || e.epoch !== epoch || !bytesEqual(e.groupId, groupId)) {
    const senderDataAad = encodeSenderDataAad({ groupId, epoch, contentType });
    const contentAadNoData = encodePrivateContentAad({ groupId, epoch, contentType, authenticatedData: EMPTY });
    e = { groupId: groupId.slice(), epoch, senderDataAad, contentAadNoData };
    aadCache.set(contentType, e);
  }
  const content = authenticatedData.length === 0 ? e.contentAadNoData : encodePrivateContentAad({ groupId, epoch, contentType, authenticatedData });
  return { senderData: e.senderDataAad, content };
}

/** XOR the reuse guard into the first four bytes of the ratchet nonce (RFC 9420 §6.3.1). */
function guardNonce(nonce: Uint8Array, guard: Uint8Array): Uint8Array {
  const out = nonce.slice();
  for (let i = 0; i < 4; i++) out[i] = out[i]! ^ guard[i]!;
  return out;
}

export function protectPrivateMessage(p: ProtectPrivateParams): PrivateMessage {
  const { cs, content: ac } = p;
  const fc = ac.content;
  if (ac.wireFormat !== wireFormats.mls_private_message) {
    throw new UsageError("wrong_wire_format", "content signed for another wire format cannot be sent as PrivateMessage");
  }
  // RFC 9420 §6.3.2: "the sender MUST verify Sender.sender_type is member"
  if (fc.sender.senderType !== senderTypes.member) {
    throw new UsageError("not_a_member_sender", "only members can send PrivateMessages");
  }
  const leaf = fc.sender.leafIndex as LeafIndex;
  // RFC 9420 §6.3.1: `opaque padding[length_of_padding]`, all zero, ends the encoding.
  const plaintext = paddedPrivateMessageContent(fc, ac.auth, p.padding ?? DEFAULT_PADDING);
  const reuseGuard = p.reuseGuard ?? cs.randomBytes(4);
  if (reuseGuard.length !== 4) throw new UsageError("bad_reuse_guard", `"reuseGuard" expected 4 bytes, got length=${reuseGuard.length}`);

  const aad = aads(fc.groupId, fc.epoch, fc.contentType, fc.authenticatedData);
  const { ciphertext, generation } = p.secretTree.withEncryptionKey(leaf, ratchetType(fc.contentType), (k) => {
    const nonce = guardNonce(k.nonce, reuseGuard);
    const ct = cs.aeadSeal(k.key, nonce, aad.content, plaintext);
    wipe(nonce);
    return { ciphertext: ct, generation: k.generation };
  });
  wipe(plaintext);

  const sdk = deriveSenderDataKey(cs, p.senderDataSecret, ciphertext);
  const encryptedSenderData = cs.aeadSeal(
    sdk.key,
    sdk.nonce,
    aad.senderData,
    encodeSenderData({ leafIndex: leaf, generation, reuseGuard }),
  );
  wipe(sdk.key, sdk.nonce);
  return {
    groupId: fc.groupId,
    epoch: fc.epoch,
    contentType: fc.contentType,
    authenticatedData: fc.authenticatedData,
    encryptedSenderData,
    ciphertext,
  };
}

export interface UnprotectPrivateParams {
  readonly cs: CipherSuite;
  readonly secretTree: SecretTree;
  readonly senderDataSecret: Uint8Array;
  readonly message: PrivateMessage;
  /**
   * RFC 9420 §6.3.2: "the recipient MUST verify that the leaf index indicated in the leaf_index
   * field identifies a non-blank node". Supplied by the group from its ratchet tree.
   */
  readonly isMemberLeaf: (leaf: number) => boolean;
}

export interface UnprotectedPrivate {
  /** Decrypted content; its signature is still to be verified by the caller. */
  readonly content: AuthenticatedContent;
  readonly generation: number;
}

export function unprotectPrivateMessage(p: UnprotectPrivateParams): UnprotectedPrivate {
  const { cs, message: m } = p;
  const sdk = deriveSenderDataKey(cs, p.senderDataSecret, m.ciphertext);
  const aad = aads(m.groupId, m.epoch, m.contentType, m.authenticatedData);
  let senderDataBytes: Uint8Array;
  try {
    senderDataBytes = cs.aeadOpen(sdk.key, sdk.nonce, aad.senderData, m.encryptedSenderData);
  } finally {
    wipe(sdk.key, sdk.nonce);
  }
  const sd = decodeSenderData(senderDataBytes);
  if (!p.isMemberLeaf(sd.leafIndex)) {
    throw new ValidationError("sender_not_member", `SenderData names leaf ${sd.leafIndex}, which is blank or outside the tree`, "RFC 9420 §6.3.2");
  }
  const plaintext = p.secretTree.withDecryptionKey(sd.leafIndex as LeafIndex, ratchetType(m.contentType), sd.generation, (k) => {
    const nonce = guardNonce(k.nonce, sd.reuseGuard);
    try {
      return cs.aeadOpen(k.key, nonce, aad.content, m.ciphertext);
    } finally {
      wipe(nonce);
    }
  });
  const pmc = decodePrivateMessageContent(plaintext, m.contentType);
  wipe(plaintext);
  return {
    content: {
      wireFormat: wireFormats.mls_private_message,
      content: framedContentOf({ groupId: m.groupId, epoch: m.epoch, sender: { senderType: senderTypes.member, leafIndex: sd.leafIndex }, authenticatedData: m.authenticatedData }, pmc),
      auth: pmc.auth,
    },
    generation: sd.generation,
  };
}

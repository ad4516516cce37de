/**
 * PrivateMessage (RFC 9420 §6.3): signed and encrypted framing. This module holds the wire
 * structs and the plaintexts/AADs that go through the AEAD; key derivation and the AEAD calls live
 * with message protection.
 *
 *   PrivateMessageContent ──AEAD(key, nonce ⊕ reuse_guard, PrivateContentAAD)──> ciphertext
 *   SenderData ──AEAD(sender_data_key, sender_data_nonce, SenderDataAAD)──> encrypted_sender_data
 * @module
 */
import { decode, type Reader } from "../../codec/reader.js";
import { encode, Writer } from "../../codec/writer.js";
import { UsageError } from "../../errors.js";
import { contentTypes, type ContentType } from "../core/protocol.js";
import {
  contentBodySizeHint,
  readContentBody,
  readFramedContentAuthData,
  writeContentBody,
  writeFramedContentAuthData,
  type ContentBody,
  type FramedContentAuthData,
} from "./framed-content.js";

/** Read a ContentType that is carried, not switched on: unknown values are still malformed (closed enum). */
function readContentType(r: Reader): ContentType {
  return r.field("content_type", () => {
    const t = r.u8();
    if (t !== contentTypes.application && t !== contentTypes.proposal && t !== contentTypes.commit) {
      r.fail("bad_enum", `unknown ContentType ${t}`);
    }
    return t;
  });
}

/**
 * RFC 9420 §6.3:
 *   struct {
 *       opaque group_id<V>;
 *       uint64 epoch;
 *       ContentType content_type;
 *       opaque authenticated_data<V>;
 *       opaque encrypted_sender_data<V>;
 *       opaque ciphertext<V>;
 *   } PrivateMessage;
 */
export interface PrivateMessage {
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  readonly contentType: ContentType;
  readonly authenticatedData: Uint8Array;
  readonly encryptedSenderData: Uint8Array;
  readonly ciphertext: Uint8Array;
}

export function readPrivateMessage(r: Reader): PrivateMessage {
  const groupId = r.field("group_id", () => r.opaque());
  const epoch = r.field("epoch", () => r.u64());
  const contentType = readContentType(r);
  const authenticatedData = r.field("authenticated_data", () => r.opaque());
  const encryptedSenderData = r.field("encrypted_sender_data", () => r.opaque());
  const ciphertext = r.field("ciphertext", () => r.opaque());
  return { groupId, epoch, contentType, authenticatedData, encryptedSenderData, ciphertext };
}

export function writePrivateMessage(w: Writer, v: PrivateMessage): void {
  w.opaque(v.groupId).u64(v.epoch).u8(v.contentType).opaque(v.authenticatedData);
  w.opaque(v.encryptedSenderData).opaque(v.ciphertext);
}

/** About the encoded size of a PrivateMessage (a little more). */
export function privateMessageSizeHint(v: PrivateMessage): number {
  return 32 + v.groupId.length + v.authenticatedData.length + v.encryptedSenderData.length + v.ciphertext.length;
}

export function encodePrivateMessage(v: PrivateMessage): Uint8Array {
  return encode(v, writePrivateMessage, privateMessageSizeHint(v));
}

export function decodePrivateMessage(bytes: Uint8Array): PrivateMessage {
  return decode(bytes, readPrivateMessage, "PrivateMessage");
}

/**
 * RFC 9420 §6.3.2:
 *   struct {
 *       uint32 leaf_index;
 *       uint32 generation;
 *       opaque reuse_guard[4];
 *   } SenderData;
 */
export interface SenderData {
  readonly leafIndex: number;
  readonly generation: number;
  readonly reuseGuard: Uint8Array;
}

export function readSenderData(r: Reader): SenderData {
  const leafIndex = r.field("leaf_index", () => r.u32());
  const generation = r.field("generation", () => r.u32());
  const reuseGuard = r.field("reuse_guard", () => r.bytes(4));
  return { leafIndex, generation, reuseGuard };
}

export function writeSenderData(w: Writer, v: SenderData): void {
  if (v.reuseGuard.length !== 4) {
    throw new UsageError("bad_reuse_guard", `"reuseGuard" expected 4 bytes, got length=${v.reuseGuard.length}`);
  }
  w.u32(v.leafIndex).u32(v.generation).bytes(v.reuseGuard);
}

export function encodeSenderData(v: SenderData): Uint8Array {
  return encode(v, writeSenderData, 12);
}

export function decodeSenderData(bytes: Uint8Array): SenderData {
  return decode(bytes, readSenderData, "SenderData");
}

/**
 * RFC 9420 §6.3.2:
 *   struct {
 *       opaque group_id<V>;
 *       uint64 epoch;
 *       ContentType content_type;
 *   } SenderDataAAD;
 */
export interface SenderDataAad {
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  readonly contentType: ContentType;
}

export function readSenderDataAad(r: Reader): SenderDataAad {
  const groupId = r.field("group_id", () => r.opaque());
  const epoch = r.field("epoch", () => r.u64());
  const contentType = readContentType(r);
  return { groupId, epoch, contentType };
}

export function writeSenderDataAad(w: Writer, v: SenderDataAad): void {
  w.opaque(v.groupId).u64(v.epoch).u8(v.contentType);
}

export function encodeSenderDataAad(v: SenderDataAad): Uint8Array {
  return encode(v, writeSenderDataAad, 64);
}

export function decodeSenderDataAad(bytes: Uint8Array): SenderDataAad {
  return decode(bytes, readSenderDataAad, "SenderDataAAD");
}

/**
 * RFC 9420 §6.3.1:
 *   struct {
 *       opaque group_id<V>;
 *       uint64 epoch;
 *       ContentType content_type;
 *       opaque authenticated_data<V>;
 *   } PrivateContentAAD;
 */
export interface PrivateContentAad {
  readonly groupId: Uint8Array;
  readonly epoch: bigint;
  readonly contentType: ContentType;
  readonly authenticatedData: Uint8Array;
}

export function readPrivateContentAad(r: Reader): PrivateContentAad {
  const groupId = r.field("group_id", () => r.opaque());
  const epoch = r.field("epoch", () => r.u64());
  const contentType = readContentType(r);
  const authenticatedData = r.field("authenticated_data", () => r.opaque());
  return { groupId, epoch, contentType, authenticatedData };
}

export function writePrivateContentAad(w: Writer, v: PrivateContentAad): void {
  w.opaque(v.groupId).u64(v.epoch).u8(v.contentType).opaque(v.authenticatedData);
}

export function encodePrivateContentAad(v: PrivateContentAad): Uint8Array {
  return encode(v, writePrivateContentAad, 128);
}

export function decodePrivateContentAad(bytes: Uint8Array): PrivateContentAad {
  return decode(bytes, readPrivateContentAad, "PrivateContentAAD");
}

/**
 * RFC 9420 §6.3.1:
 *   struct {
 *       select (PrivateMessage.content_type) {
 *           case application:
 *             opaque application_data<V>;
 *
 *           case proposal:
 *             Proposal proposal;
 *
 *           case commit:
 *             Commit commit;
 *       };
 *
 *       FramedContentAuthData auth;
 *       opaque padding[length_of_padding];
 *   } PrivateMessageContent;
 *
 * The padding is all zero bytes, so only its length is kept. `contentType` comes from the
 * enclosing PrivateMessage and is not part of these bytes.
 */
export type PrivateMessageContent = ContentBody & {
  readonly auth: FramedContentAuthData;
  readonly paddingLength: number;
};

/** The plaintext that is encrypted into PrivateMessage.ciphertext. */
export function encodePrivateMessageContent(v: PrivateMessageContent): Uint8Array {
  if (!Number.isInteger(v.paddingLength) || v.paddingLength < 0) {
    throw new UsageError("bad_padding", `"paddingLength" expected a non-negative integer, got ${v.paddingLength}`);
  }
  return paddedPrivateMessageContent(v, v.auth, () => v.paddingLength).slice();
}

/**
 * The PrivateMessageContent plaintext with `paddingFor(unpadded length)` zero bytes of padding
 * (RFC 9420 §6.3.1), written once: a view of a fresh buffer that belongs to the caller (who
 * encrypts, then wipes it).
 */
export function paddedPrivateMessageContent(body: ContentBody, auth: FramedContentAuthData, paddingFor: (unpaddedLength: number) => number): Uint8Array {
  const w = new Writer(contentBodySizeHint(body) + 8 + auth.signature.length + (auth.confirmationTag?.length ?? 0) + 64);
  writeContentBody(w, body);
  writeFramedContentAuthData(w, auth, body.contentType);
  const paddingLength = paddingFor(w.length);
  if (!Number.isInteger(paddingLength) || paddingLength < 0) {
    throw new UsageError("bad_padding", `"paddingLength" expected a non-negative integer, got ${paddingLength}`);
  }
  return w.zeros(paddingLength).view();
}

/** Read a PrivateMessageContent that fills the rest of the reader, given PrivateMessage.content_type. */
export function readPrivateMessageContent(r: Reader, contentType: number): PrivateMessageContent {
  const body = readContentBody(r, contentType);
  const auth = r.field("auth", () => readFramedContentAuthData(r, body.contentType));
  // RFC 9420 §6.3.1: "A receiver MUST verify that there are no non-zero bytes in the padding
  // field"; the padding is everything left after auth.
  const paddingLength = r.remaining;
  r.field("padding", () => {
    for (let i = 0; i < paddingLength; i++) {
      if (r.u8() !== 0) r.fail("nonzero_padding", `padding byte ${i} of ${paddingLength} is not zero`);
    }
  });
  return privateMessageContentOf(body, auth, paddingLength);
}

/** A PrivateMessageContent built field by field (no object spread on this per-message path; see framedContentOf). */
function privateMessageContentOf(body: ContentBody, auth: FramedContentAuthData, paddingLength: number): PrivateMessageContent {
  switch (body.contentType) {
    case contentTypes.application:
      return { contentType: body.contentType, applicationData: body.applicationData, auth, paddingLength };
    case contentTypes.proposal:
      return { contentType: body.contentType, proposal: body.proposal, auth, paddingLength };
    case contentTypes.commit:
      return { contentType: body.contentType, commit: body.commit, auth, paddingLength };
  }
}

/** Decode a decrypted PrivateMessage.ciphertext. `contentType` is PrivateMessage.content_type. */
export function decodePrivateMessageContent(plaintext: Uint8Array, contentType: number): PrivateMessageContent {
  return decode(plaintext, (r) => readPrivateMessageContent(r, contentType), "PrivateMessageContent");
}

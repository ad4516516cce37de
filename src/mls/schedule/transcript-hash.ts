/**
 * Transcript hashes and the confirmation tag (RFC 9420 §8.2, §6.1).
 *
 * The inputs are taken as encoded bytes so that the schedule does not depend on framing: the
 * caller encodes ConfirmedTranscriptHashInput (wire_format || FramedContent || signature, i.e.
 * the AuthenticatedContent of the Commit without its confirmation_tag).
 *
 * ```
 * confirmed_transcript_hash_[0] = ""        interim_transcript_hash_[0] = ""
 * confirmed_transcript_hash_[epoch] = Hash(interim_transcript_hash_[epoch - 1] || ConfirmedTranscriptHashInput_[epoch])
 * interim_transcript_hash_[epoch]   = Hash(confirmed_transcript_hash_[epoch] || InterimTranscriptHashInput_[epoch])
 * ```
 * @module
 */
import { Writer } from "../../codec/writer.js";
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { CryptoError } from "../../errors.js";
import { constantTimeEqual, EMPTY } from "../../util/bytes.js";
import type { ConfirmationKey } from "./key-schedule.js";

/** The confirmed and interim transcript hashes of epoch 0 (RFC 9420 §8.2): empty strings. */
export const INITIAL_CONFIRMED_TRANSCRIPT_HASH: Uint8Array = EMPTY;
export const INITIAL_INTERIM_TRANSCRIPT_HASH: Uint8Array = EMPTY;

/**
 * RFC 9420 §8.2:
 *   struct {
 *       WireFormat wire_format;
 *       FramedContent content; // with content_type == commit
 *       opaque signature<V>;
 *   } ConfirmedTranscriptHashInput;
 *
 *   confirmed_transcript_hash_[epoch] = Hash(interim_transcript_hash_[epoch - 1] || ConfirmedTranscriptHashInput_[epoch])
 */
export function confirmedTranscriptHash(cs: CipherSuite, interimTranscriptHashBefore: Uint8Array, confirmedTranscriptHashInput: Uint8Array | TranscriptInput): Uint8Array {
  const input = confirmedTranscriptHashInput;
  const w = new Writer(interimTranscriptHashBefore.length + (input instanceof Uint8Array ? input.length : input.sizeHint));
  w.bytes(interimTranscriptHashBefore);
  if (input instanceof Uint8Array) w.bytes(input);
  else input.write(w); // in place: the input of a 10,000-member Commit is ~1 MB, not copied again
  return cs.hash(w.view());
}

/** A ConfirmedTranscriptHashInput written in place by the framing layer, with about its size. */
export interface TranscriptInput {
  readonly sizeHint: number;
  write(w: Writer): void;
}

/**
 * RFC 9420 §8.2:
 *   struct {
 *       MAC confirmation_tag;   // opaque MAC<V> (§6.1)
 *   } InterimTranscriptHashInput;
 *
 *   interim_transcript_hash_[epoch] = Hash(confirmed_transcript_hash_[epoch] || InterimTranscriptHashInput_[epoch])
 */
export function interimTranscriptHash(cs: CipherSuite, confirmedTranscriptHash: Uint8Array, confirmationTag: Uint8Array): Uint8Array {
  const w = new Writer(confirmedTranscriptHash.length + confirmationTag.length + 4);
  w.bytes(confirmedTranscriptHash).opaque(confirmationTag);
  return cs.hash(w.finish());
}

/** RFC 9420 §6.1: confirmation_tag = MAC(confirmation_key, GroupContext.confirmed_transcript_hash) */
export function confirmationTag(cs: CipherSuite, confirmationKey: ConfirmationKey, confirmedTranscriptHash: Uint8Array): Uint8Array {
  return cs.mac(confirmationKey, confirmedTranscriptHash);
}

/**
 * RFC 9420 §6.1: recompute the confirmation_tag and compare in constant time. Throws
 * {@link CryptoError} `crypto.bad_confirmation_tag` when it differs.
 */
export function verifyConfirmationTag(cs: CipherSuite, confirmationKey: ConfirmationKey, confirmedTranscriptHash: Uint8Array, tag: Uint8Array): void {
  const expected = confirmationTag(cs, confirmationKey, confirmedTranscriptHash);
  if (!constantTimeEqual(expected, tag)) throw new CryptoError("bad_confirmation_tag", "confirmation_tag does not verify");
}

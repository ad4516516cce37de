/**
 * Pre-shared keys in the key schedule (RFC 9420 §8.4): PSKLabel and the chaining of any number of
 * PSKs into one psk_secret.
 *
 * ```
 *              0                               0    = psk_secret_[0]
 *              |                               |
 *              V                               V
 * psk_[0] --> Extract --> ExpandWithLabel --> Extract = psk_secret_[1]
 *                                              |
 *              0                              ...
 * ```
 * @module
 */
import { encode, type Writer } from "../../codec/writer.js";
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { expandWithLabel } from "../../crypto/labeled.js";
import { UsageError } from "../../errors.js";
import { wipe } from "../../util/bytes.js";
import { writePreSharedKeyId, type PreSharedKeyId } from "../core/pre-shared-key-id.js";

/**
 * RFC 9420 §8.4:
 *   struct {
 *       PreSharedKeyID id;
 *       uint16 index;
 *       uint16 count;
 *   } PSKLabel;
 */
export interface PskLabel {
  readonly id: PreSharedKeyId;
  readonly index: number;
  readonly count: number;
}

export function writePskLabel(w: Writer, v: PskLabel): void {
  writePreSharedKeyId(w, v.id);
  w.u16(v.index).u16(v.count);
}

export function encodePskLabel(v: PskLabel): Uint8Array {
  return encode(v, writePskLabel);
}

/** One PSK to inject: its PreSharedKeyID and the secret it names. */
export interface PskInput {
  readonly id: PreSharedKeyId;
  readonly psk: Uint8Array;
}

/**
 * RFC 9420 §8.4:
 *   psk_extracted_[i] = KDF.Extract(0, psk_[i])
 *   psk_input_[i] = ExpandWithLabel(psk_extracted_[i], "derived psk", PSKLabel, KDF.Nh)
 *   psk_secret_[0] = 0
 *   psk_secret_[i] = KDF.Extract(psk_input_[i-1], psk_secret_[i-1])
 *   psk_secret     = psk_secret_[n]
 * KDF.Extract(salt, ikm): in the chaining step psk_input_[i-1] is the salt and psk_secret_[i-1]
 * the keying material, as the formula reads (Figure 24 suggests the reverse; the mlswg test
 * vectors follow the formula). With no PSKs the result is the all-zero secret.
 */
export function derivePskSecret(cs: CipherSuite, psks: readonly PskInput[]): Uint8Array {
  const { Nh } = cs.params;
  const count = psks.length;
  if (count > 0xffff) throw new UsageError("too_many_psks", `PSKLabel.count is a uint16, got ${count} PSKs`);
  const zero = new Uint8Array(Nh);
  let pskSecret: Uint8Array = new Uint8Array(Nh);
  for (const [index, { id, psk }] of psks.entries()) {
    const extracted = cs.kdfExtract(zero, psk);
    const input = expandWithLabel(cs, extracted, "derived psk", encodePskLabel({ id, index, count }), Nh);
    const next = cs.kdfExtract(input, pskSecret);
    wipe(extracted, input, pskSecret);
    pskSecret = next;
  }
  return pskSecret;
}

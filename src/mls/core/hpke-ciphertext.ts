/**
 * HPKECiphertext (RFC 9420 §7.6): an HPKE `enc` plus sealed bytes, used in UpdatePath nodes and in
 * Welcome's EncryptedGroupSecrets.
 * @module
 */
import { decode, type Reader } from "../../codec/reader.js";
import { encode, type Writer } from "../../codec/writer.js";

/**
 * RFC 9420 §7.6:
 *   struct {
 *       opaque kem_output<V>;
 *       opaque ciphertext<V>;
 *   } HPKECiphertext;
 */
export interface HpkeCiphertext {
  readonly kemOutput: Uint8Array;
  readonly ciphertext: Uint8Array;
}

export function readHpkeCiphertext(r: Reader): HpkeCiphertext {
  const kemOutput = r.field("kem_output", () => r.opaque());
  const ciphertext = r.field("ciphertext", () => r.opaque());
  return { kemOutput, ciphertext };
}

export function writeHpkeCiphertext(w: Writer, v: HpkeCiphertext): void {
  w.opaque(v.kemOutput).opaque(v.ciphertext);
}

export function encodeHpkeCiphertext(v: HpkeCiphertext): Uint8Array {
  return encode(v, writeHpkeCiphertext);
}

export function decodeHpkeCiphertext(bytes: Uint8Array): HpkeCiphertext {
  return decode(bytes, readHpkeCiphertext, "HPKECiphertext");
}

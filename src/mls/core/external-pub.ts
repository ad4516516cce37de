/**
 * The `external_pub` GroupInfo extension (RFC 9420 §12.4.3.2): the HPKE public key a new member
 * encrypts to when joining by external Commit.
 * @module
 */
import { decode, type Reader } from "../../codec/reader.js";
import { encode, type Writer } from "../../codec/writer.js";

/**
 * RFC 9420 §12.4.3.2:
 *   struct {
 *       HPKEPublicKey external_pub;
 *   } ExternalPub;
 */
export interface ExternalPub {
  readonly externalPub: Uint8Array;
}

export function readExternalPub(r: Reader): ExternalPub {
  const externalPub = r.field("external_pub", () => r.opaque());
  return { externalPub };
}

export function writeExternalPub(w: Writer, v: ExternalPub): void {
  w.opaque(v.externalPub);
}

/** The `extension_data` bytes of an external_pub extension. */
export function encodeExternalPub(v: ExternalPub): Uint8Array {
  return encode(v, writeExternalPub);
}

export function decodeExternalPub(extensionData: Uint8Array): ExternalPub {
  return decode(extensionData, readExternalPub, "ExternalPub");
}

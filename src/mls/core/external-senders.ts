/**
 * The `external_senders` GroupContext extension (RFC 9420 §12.1.8.1): who may send external
 * proposals. An `external` Sender's `sender_index` indexes this list.
 * @module
 */
import { decode, type Reader } from "../../codec/reader.js";
import { encode, type Writer } from "../../codec/writer.js";
import { readCredential, writeCredential, type Credential } from "./credential.js";

/**
 * RFC 9420 §12.1.8.1:
 *   struct {
 *     SignaturePublicKey signature_key;
 *     Credential credential;
 *   } ExternalSender;
 */
export interface ExternalSender {
  readonly signatureKey: Uint8Array;
  readonly credential: Credential;
}

export function readExternalSender(r: Reader): ExternalSender {
  const signatureKey = r.field("signature_key", () => r.opaque());
  const credential = r.field("credential", () => readCredential(r));
  return { signatureKey, credential };
}

export function writeExternalSender(w: Writer, v: ExternalSender): void {
  w.opaque(v.signatureKey);
  writeCredential(w, v.credential);
}

/** RFC 9420 §12.1.8.1: `ExternalSender external_senders<V>;` */
export function readExternalSenders(r: Reader): ExternalSender[] {
  return r.field("external_senders", () => r.vector(readExternalSender));
}

export function writeExternalSenders(w: Writer, list: readonly ExternalSender[]): void {
  w.array(list, writeExternalSender);
}

/** The `extension_data` bytes of an external_senders extension. */
export function encodeExternalSenders(list: readonly ExternalSender[]): Uint8Array {
  return encode(list, writeExternalSenders);
}

export function decodeExternalSenders(extensionData: Uint8Array): ExternalSender[] {
  return decode(extensionData, readExternalSenders, "ExternalSenders");
}

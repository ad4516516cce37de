/**
 * The `application_id` LeafNode extension (RFC 9420 §5.3.3): an application-chosen client
 * identifier. Not authenticated by the AS; the RFC says not to rely on it as if it were.
 * @module
 */
import { decode, type Reader } from "../../codec/reader.js";
import { encode, type Writer } from "../../codec/writer.js";

/** RFC 9420 §5.3.3: `opaque application_id<V>;` */
export function readApplicationId(r: Reader): Uint8Array {
  return r.field("application_id", () => r.opaque());
}

export function writeApplicationId(w: Writer, applicationId: Uint8Array): void {
  w.opaque(applicationId);
}

/** The `extension_data` bytes of an application_id extension. */
export function encodeApplicationId(applicationId: Uint8Array): Uint8Array {
  return encode(applicationId, writeApplicationId);
}

export function decodeApplicationId(extensionData: Uint8Array): Uint8Array {
  return decode(extensionData, readApplicationId, "ApplicationId");
}

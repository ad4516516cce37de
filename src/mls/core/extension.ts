/**
 * Extensions (RFC 9420 §13.3) as opaque type/data pairs. Interpretation of a known extension's
 * `extension_data` lives next to the struct it carries (e.g. required-capabilities.ts).
 * @module
 */
import type { Reader } from "../../codec/reader.js";
import type { Writer } from "../../codec/writer.js";

/**
 * RFC 9420 §17.3 MLS Extension Types registry, plus `last_resort` from the MLS extensions draft
 * (draft-ietf-mls-extensions, KeyPackage extension 0x000a).
 */
export const extensionTypes = {
  application_id: 0x0001,
  ratchet_tree: 0x0002,
  required_capabilities: 0x0003,
  external_pub: 0x0004,
  external_senders: 0x0005,
  last_resort: 0x000a,
} as const;

export type ExtensionTypeName = keyof typeof extensionTypes;

/**
 * RFC 9420 §7.2:
 *   struct {
 *       ExtensionType extension_type;
 *       opaque extension_data<V>;
 *   } Extension;
 */
export interface Extension {
  readonly extensionType: number;
  readonly extensionData: Uint8Array;
}

export function readExtension(r: Reader): Extension {
  const extensionType = r.field("extension_type", () => r.u16());
  const extensionData = r.field("extension_data", () => r.opaque());
  return { extensionType, extensionData };
}

export function writeExtension(w: Writer, e: Extension): void {
  w.u16(e.extensionType).opaque(e.extensionData);
}

/** `Extension extensions<V>`. Duplicate types are a validation matter, checked by the caller (RFC 9420 §13). */
export function readExtensions(r: Reader): Extension[] {
  return r.field("extensions", () => r.vector(readExtension));
}

export function writeExtensions(w: Writer, list: readonly Extension[]): void {
  w.array(list, writeExtension);
}

/** The first extension of a type, or null. */
export function findExtension(list: readonly Extension[], type: number): Extension | null {
  for (const e of list) if (e.extensionType === type) return e;
  return null;
}

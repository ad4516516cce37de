/**
 * Lifetime (RFC 9420 §7.2): validity window of a KeyPackage's LeafNode, in seconds since the Unix
 * epoch. Checking it against the clock is validation's job.
 * @module
 */
import { decode, type Reader } from "../../codec/reader.js";
import { encode, type Writer } from "../../codec/writer.js";

/**
 * RFC 9420 §7.2:
 *   struct {
 *       uint64 not_before;
 *       uint64 not_after;
 *   } Lifetime;
 */
export interface Lifetime {
  readonly notBefore: bigint;
  readonly notAfter: bigint;
}

export function readLifetime(r: Reader): Lifetime {
  const notBefore = r.field("not_before", () => r.u64());
  const notAfter = r.field("not_after", () => r.u64());
  return { notBefore, notAfter };
}

export function writeLifetime(w: Writer, v: Lifetime): void {
  w.u64(v.notBefore).u64(v.notAfter);
}

export function encodeLifetime(v: Lifetime): Uint8Array {
  return encode(v, writeLifetime);
}

export function decodeLifetime(bytes: Uint8Array): Lifetime {
  return decode(bytes, readLifetime, "Lifetime");
}

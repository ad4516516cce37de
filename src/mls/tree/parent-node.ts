/**
 * ParentNode (RFC 9420 §7.1): an interior node of the ratchet tree. The sorted-order rule on
 * `unmerged_leaves` is validation's job, not the codec's.
 * @module
 */
import { decode, type Reader } from "../../codec/reader.js";
import { encode, type Writer } from "../../codec/writer.js";

/**
 * RFC 9420 §7.1:
 *   struct {
 *       HPKEPublicKey encryption_key;
 *       opaque parent_hash<V>;
 *       uint32 unmerged_leaves<V>;
 *   } ParentNode;
 */
export interface ParentNode {
  readonly encryptionKey: Uint8Array;
  readonly parentHash: Uint8Array;
  readonly unmergedLeaves: readonly number[];
}

export function readParentNode(r: Reader): ParentNode {
  const encryptionKey = r.field("encryption_key", () => r.opaque());
  const parentHash = r.field("parent_hash", () => r.opaque());
  const unmergedLeaves = r.field("unmerged_leaves", () => r.vector(() => r.u32()));
  return { encryptionKey, parentHash, unmergedLeaves };
}

export function writeParentNode(w: Writer, v: ParentNode): void {
  w.opaque(v.encryptionKey).opaque(v.parentHash);
  w.array(v.unmergedLeaves, (w, i) => w.u32(i));
}

export function encodeParentNode(v: ParentNode): Uint8Array {
  return encode(v, writeParentNode);
}

export function decodeParentNode(bytes: Uint8Array): ParentNode {
  return decode(bytes, readParentNode, "ParentNode");
}

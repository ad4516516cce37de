/**
 * UpdatePath (RFC 9420 §7.6): the committer's new leaf plus, for each node of its filtered direct
 * path, a new public key and the path secret encrypted to each node of the copath resolution.
 * @module
 */
import { decode, type Reader } from "../../codec/reader.js";
import { encode, type Writer } from "../../codec/writer.js";
import { readHpkeCiphertext, writeHpkeCiphertext, type HpkeCiphertext } from "../core/hpke-ciphertext.js";
import { decodedLeafNodeEncoding, readLeafNode, writeLeafNode, type LeafNode } from "./leaf-node.js";

/**
 * RFC 9420 §7.6:
 *   struct {
 *       HPKEPublicKey encryption_key;
 *       HPKECiphertext encrypted_path_secret<V>;
 *   } UpdatePathNode;
 */
export interface UpdatePathNode {
  readonly encryptionKey: Uint8Array;
  readonly encryptedPathSecret: readonly HpkeCiphertext[];
}

/**
 * RFC 9420 §7.6:
 *   struct {
 *       LeafNode leaf_node;
 *       UpdatePathNode nodes<V>;
 *   } UpdatePath;
 */
export interface UpdatePath {
  readonly leafNode: LeafNode;
  readonly nodes: readonly UpdatePathNode[];
}

export function readUpdatePathNode(r: Reader): UpdatePathNode {
  const encryptionKey = r.field("encryption_key", () => r.opaque());
  const encryptedPathSecret = r.field("encrypted_path_secret", () => r.vector(readHpkeCiphertext));
  return { encryptionKey, encryptedPathSecret };
}

export function writeUpdatePathNode(w: Writer, v: UpdatePathNode): void {
  w.opaque(v.encryptionKey);
  w.array(v.encryptedPathSecret, writeHpkeCiphertext);
}

export function readUpdatePath(r: Reader): UpdatePath {
  const leafNode = r.field("leaf_node", () => readLeafNode(r));
  const nodes = r.field("nodes", () => r.vector(readUpdatePathNode));
  return { leafNode, nodes };
}

export function writeUpdatePath(w: Writer, v: UpdatePath): void {
  writeLeafNode(w, v.leafNode);
  w.array(v.nodes, writeUpdatePathNode);
}

/**
 * About the encoded size of `v` (at least it, up to a few bytes per item more), to size a writer
 * once: the UpdatePath of a 10,000-member group's Commit is ~1 MB.
 */
export function updatePathSizeHint(v: UpdatePath): number {
  let n = (decodedLeafNodeEncoding(v.leafNode)?.length ?? 1024) + 4;
  for (const node of v.nodes) {
    n += node.encryptionKey.length + 8;
    for (const c of node.encryptedPathSecret) n += c.kemOutput.length + c.ciphertext.length + 8;
  }
  return n;
}

export function encodeUpdatePath(v: UpdatePath): Uint8Array {
  return encode(v, writeUpdatePath, updatePathSizeHint(v));
}

export function decodeUpdatePath(bytes: Uint8Array): UpdatePath {
  return decode(bytes, readUpdatePath, "UpdatePath");
}

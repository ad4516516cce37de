/**
 * The `ratchet_tree` extension (RFC 9420 §12.4.3.3): the whole tree as an array of optional
 * nodes in array-tree order (leaf L at index 2L). Decoding is iterative and linear in the size of
 * the tree, so a 10,000-member tree costs one pass.
 *
 * The codec keeps the array exactly as sent. The §12.4.3.3 shape rules (last node non-blank,
 * leaves at even and parents at odd positions) and the extension to a full tree are checked by
 * the tree code that consumes this array.
 * @module
 */
import { decode, type Reader } from "../../codec/reader.js";
import { encode, type Writer } from "../../codec/writer.js";
import { nodeTypes } from "../core/protocol.js";
import { readLeafNode, writeLeafNode, type LeafNode } from "./leaf-node.js";
import { readParentNode, writeParentNode, type ParentNode } from "./parent-node.js";

/** `case leaf: LeafNode leaf_node;` */
export interface LeafTreeNode {
  readonly nodeType: typeof nodeTypes.leaf;
  readonly leafNode: LeafNode;
}

/** `case parent: ParentNode parent_node;` */
export interface ParentTreeNode {
  readonly nodeType: typeof nodeTypes.parent;
  readonly parentNode: ParentNode;
}

/**
 * RFC 9420 §12.4.3.3:
 *   struct {
 *       NodeType node_type;
 *       select (Node.node_type) {
 *           case leaf:   LeafNode leaf_node;
 *           case parent: ParentNode parent_node;
 *       };
 *   } Node;
 */
export type Node = LeafTreeNode | ParentTreeNode;

/** RFC 9420 §12.4.3.3: `optional<Node> ratchet_tree<V>;` (null is a blank node). */
export type RatchetTree = readonly (Node | null)[];

export function readNode(r: Reader): Node {
  const nodeType = r.field("node_type", () => r.u8());
  switch (nodeType) {
    case nodeTypes.leaf:
      return { nodeType, leafNode: r.field("leaf_node", () => readLeafNode(r)) };
    case nodeTypes.parent:
      return { nodeType, parentNode: r.field("parent_node", () => readParentNode(r)) };
    default:
      return r.field("node_type", () => r.fail("bad_enum", `unknown NodeType ${nodeType}`));
  }
}

export function writeNode(w: Writer, v: Node): void {
  w.u8(v.nodeType);
  switch (v.nodeType) {
    case nodeTypes.leaf:
      writeLeafNode(w, v.leafNode);
      break;
    case nodeTypes.parent:
      writeParentNode(w, v.parentNode);
      break;
  }
}

export function readRatchetTree(r: Reader): (Node | null)[] {
  return r.field("ratchet_tree", () => r.vector((r) => r.optional(readNode)));
}

export function writeRatchetTree(w: Writer, tree: RatchetTree): void {
  w.array(tree, (w, n) => w.optional(n, writeNode));
}

/** The `extension_data` bytes of a ratchet_tree extension. */
export function encodeRatchetTree(tree: RatchetTree): Uint8Array {
  return encode(tree, writeRatchetTree, 4096);
}

/**
 * Decode the `extension_data` of a ratchet_tree extension. The input is copied once (unless
 * `inputIsPrivate`) and the nodes' byte fields are views into that private copy (one 3 MB buffer
 * for a 10,000-member tree, not 50,000 small ones); the caller's buffer is not retained.
 */
export function decodeRatchetTree(extensionData: Uint8Array, options: { readonly inputIsPrivate?: boolean } = {}): (Node | null)[] {
  // `inputIsPrivate`: the caller owns the bytes and never modifies them (a decrypted GroupInfo
  // decoded with views): no copy, the nodes share that buffer.
  const own = options.inputIsPrivate === true ? extensionData : extensionData.slice();
  return decode(own, readRatchetTree, "RatchetTree", { shareInput: true });
}

/**
 * Tree hashes (RFC 9420 §7.8): the hash of each node's TreeHashInput, computed bottom-up.
 *
 * Hashes are memoised per TreeState (see {@link TreeState.hashMemo}); a TreeState derived by an
 * operation keeps every hash outside the changed path, so recomputing the root after a path
 * change costs one hash per changed node plus one per ancestor: O(log n).
 * @module
 */
import { Writer } from "../../codec/writer.js";
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { nodeTypes } from "../core/protocol.js";
import { decodedLeafNodeEncoding, writeLeafNode, type LeafNode } from "./leaf-node.js";
import { writeParentNode, type ParentNode } from "./parent-node.js";
import { isLeaf, left, right, type NodeIndex } from "./tree-math.js";
import type { TreeHashMemo } from "./tree-hash-memo.js";
import type { TreeState } from "./tree-state.js";

/**
 * RFC 9420 §7.8:
 *   struct {
 *     NodeType node_type;
 *     select (TreeHashInput.node_type) {
 *       case leaf:   LeafNodeHashInput leaf_node;
 *       case parent: ParentNodeHashInput parent_node;
 *     };
 *   } TreeHashInput;
 *
 *   struct {
 *       uint32 leaf_index;
 *       optional<LeafNode> leaf_node;
 *   } LeafNodeHashInput;
 */
export function encodeLeafTreeHashInput(leafIndex: number, leaf: LeafNode | null): Uint8Array {
  const known = leaf === null ? null : decodedLeafNodeEncoding(leaf);
  if (known !== null) {
    // A decoded leaf: its bytes as received, no re-encoding.
    const out = new Uint8Array(6 + known.length);
    out[0] = nodeTypes.leaf;
    new DataView(out.buffer).setUint32(1, leafIndex);
    out[5] = 1; // optional<LeafNode>: present
    out.set(known, 6);
    return out;
  }
  const w = new Writer(leaf === null ? 8 : 512);
  w.u8(nodeTypes.leaf).u32(leafIndex).optional(leaf, writeLeafNode);
  return w.finish();
}

/**
 * RFC 9420 §7.8:
 *   struct {
 *       optional<ParentNode> parent_node;
 *       opaque left_hash<V>;
 *       opaque right_hash<V>;
 *   } ParentNodeHashInput;
 */
export function encodeParentTreeHashInput(parent: ParentNode | null, leftHash: Uint8Array, rightHash: Uint8Array): Uint8Array {
  const w = new Writer(parent === null ? 8 + leftHash.length + rightHash.length : 256);
  w.u8(nodeTypes.parent).optional(parent, writeParentNode).opaque(leftHash).opaque(rightHash);
  return w.finish();
}

/** The tree hash of node `x` (default: the root), RFC 9420 §7.8. Fills the tree's memo. */
export function treeHash(cs: CipherSuite, tree: TreeState, x: number = tree.root): Uint8Array {
  tree.node(x); // range check
  // A copy: the memo's views would pin its whole buffer (1 MiB at 10,000 members).
  return hashNode(cs, tree, tree.hashMemo(cs.params.hash), x as NodeIndex).slice();
}

/** The tree hash of the whole tree: the root's (RFC 9420 §7.8), as carried in the GroupContext. */
export function rootTreeHash(cs: CipherSuite, tree: TreeState): Uint8Array {
  return treeHash(cs, tree, tree.root);
}

/**
 * Scratch writer for the hash inputs of {@link hashNode}: they are hashed at once and never kept,
 * so a tree of 10,000 leaves hashes without allocating 32,000 input buffers. Synchronous use only.
 */
const scratch = new Writer(1024);

// Recursion is by level: depth <= log2(nLeaves) + 1.
function hashNode(cs: CipherSuite, tree: TreeState, memo: TreeHashMemo, x: NodeIndex): Uint8Array {
  const cached = memo.get(x);
  if (cached !== undefined) return cached;
  const v = tree.nodes[x]!;
  let h: Uint8Array;
  if (isLeaf(x)) {
    const leaf = v !== null && v.nodeType === nodeTypes.leaf ? v.leafNode : null;
    const known = leaf === null ? null : decodedLeafNodeEncoding(leaf);
    const w = scratch.reset().u8(nodeTypes.leaf).u32(x / 2);
    // RFC 9420 §7.8 LeafNodeHashInput; a decoded leaf's bytes are used as received.
    if (known !== null) w.u8(1).bytes(known);
    else w.optional(leaf, writeLeafNode);
    h = cs.hash(w.view());
  } else {
    const lh = hashNode(cs, tree, memo, left(x));
    const rh = hashNode(cs, tree, memo, right(x));
    const parentNode = v !== null && v.nodeType === nodeTypes.parent ? v.parentNode : null;
    // RFC 9420 §7.8 ParentNodeHashInput (lh and rh may be views into the memo: written before
    // the memo changes).
    h = cs.hash(scratch.reset().u8(nodeTypes.parent).optional(parentNode, writeParentNode).opaque(lh).opaque(rh).view());
  }
  memo.set(x, h);
  return h;
}

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
import { writeLeafNode, type LeafNode } from "./leaf-node.js";
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
export function writeLeafTreeHashInput(w: Writer, leafIndex: number, leaf: LeafNode | null): Writer {
  // writeLeafNode reuses a decoded leaf's bytes as received (no re-encoding).
  return w.u8(nodeTypes.leaf).u32(leafIndex).optional(leaf, writeLeafNode);
}

export function encodeLeafTreeHashInput(leafIndex: number, leaf: LeafNode | null): Uint8Array {
  return writeLeafTreeHashInput(new Writer(leaf === null ? 8 : 512), leafIndex, leaf).finish();
}

/**
 * RFC 9420 §7.8:
 *   struct {
 *       optional<ParentNode> parent_node;
 *       opaque left_hash<V>;
 *       opaque right_hash<V>;
 *   } ParentNodeHashInput;
 */
export function writeParentTreeHashInput(w: Writer, parent: ParentNode | null, leftHash: Uint8Array, rightHash: Uint8Array): Writer {
  return w.u8(nodeTypes.parent).optional(parent, writeParentNode).opaque(leftHash).opaque(rightHash);
}

export function encodeParentTreeHashInput(parent: ParentNode | null, leftHash: Uint8Array, rightHash: Uint8Array): Uint8Array {
  return writeParentTreeHashInput(new Writer(parent === null ? 8 + leftHash.length + rightHash.length : 256), parent, leftHash, rightHash).finish();
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
    h = cs.hash(writeLeafTreeHashInput(scratch.reset(), x / 2, v !== null && v.nodeType === nodeTypes.leaf ? v.leafNode : null).view());
  } else {
    const lh = hashNode(cs, tree, memo, left(x));
    const rh = hashNode(cs, tree, memo, right(x));
    // lh and rh may be views into the memo: written into the scratch before the memo changes.
    h = cs.hash(writeParentTreeHashInput(scratch.reset(), v !== null && v.nodeType === nodeTypes.parent ? v.parentNode : null, lh, rh).view());
  }
  memo.set(x, h);
  return h;
}

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
  const memo = tree.hashMemo(cs.params.hash).hashes;
  return hashNode(cs, tree, memo, x as NodeIndex);
}

/** The tree hash of the whole tree: the root's (RFC 9420 §7.8), as carried in the GroupContext. */
export function rootTreeHash(cs: CipherSuite, tree: TreeState): Uint8Array {
  return treeHash(cs, tree, tree.root);
}

// Recursion is by level: depth <= log2(nLeaves) + 1.
function hashNode(cs: CipherSuite, tree: TreeState, memo: (Uint8Array | undefined)[], x: NodeIndex): Uint8Array {
  const cached = memo[x];
  if (cached !== undefined) return cached;
  const v = tree.nodes[x]!;
  let h: Uint8Array;
  if (isLeaf(x)) {
    h = cs.hash(encodeLeafTreeHashInput(x / 2, v !== null && v.nodeType === nodeTypes.leaf ? v.leafNode : null));
  } else {
    const lh = hashNode(cs, tree, memo, left(x));
    const rh = hashNode(cs, tree, memo, right(x));
    h = cs.hash(encodeParentTreeHashInput(v !== null && v.nodeType === nodeTypes.parent ? v.parentNode : null, lh, rh));
  }
  memo[x] = h;
  return h;
}

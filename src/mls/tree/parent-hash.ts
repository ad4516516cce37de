/**
 * Parent hashes (RFC 9420 §7.9): computing them for a new UpdatePath (top-down, §7.9) and checking
 * that every non-blank parent node of a tree is parent-hash valid (§7.9.2).
 *
 * Verification runs bottom-up by level and, for each non-blank parent P, derives the single
 * possible descendant D from the resolution of each child C (D must be the one node of
 * resolution(C) that is not an unmerged leaf of P, §7.9.2). Each blank node is visited while
 * resolving for exactly one P (its nearest non-blank ancestor), so a whole tree costs
 * O(n + total unmerged leaves) node visits, and one ParentHashInput hash per non-blank parent side
 * that has such a D; sibling tree hashes come from the tree-hash memo.
 * @module
 */
import { Writer } from "../../codec/writer.js";
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { ValidationError } from "../../errors.js";
import { bytesEqual, EMPTY } from "../../util/bytes.js";
import { leafNodeSources, nodeTypes } from "../core/protocol.js";
import type { ParentNode } from "./parent-node.js";
import { encodeLeafTreeHashInput, encodeParentTreeHashInput, treeHash } from "./tree-hash.js";
import { isLeaf, left, right, type NodeIndex } from "./tree-math.js";
import { subtreeRange, type TreeState } from "./tree-state.js";

/**
 * RFC 9420 §7.9:
 *   struct {
 *       HPKEPublicKey encryption_key;
 *       opaque parent_hash<V>;
 *       opaque original_sibling_tree_hash<V>;
 *   } ParentHashInput;
 */
export function encodeParentHashInput(encryptionKey: Uint8Array, parentHash: Uint8Array, originalSiblingTreeHash: Uint8Array): Uint8Array {
  const w = new Writer(8 + encryptionKey.length + parentHash.length + originalSiblingTreeHash.length);
  w.opaque(encryptionKey).opaque(parentHash).opaque(originalSiblingTreeHash);
  return w.finish();
}

/** The parent hash of a node with key `encryptionKey` and `parent_hash` field `parentHash` (RFC 9420 §7.9). */
export function parentHash(cs: CipherSuite, encryptionKey: Uint8Array, parentHashField: Uint8Array, originalSiblingTreeHash: Uint8Array): Uint8Array {
  return cs.hash(encodeParentHashInput(encryptionKey, parentHashField, originalSiblingTreeHash));
}

/**
 * RFC 9420 §7.9 original_sibling_tree_hash: the tree hash of `s` (a child of parent node `p`)
 * with every leaf of `p.unmerged_leaves` blanked and removed from the unmerged_leaves of the
 * parents below `s`. Untouched subtrees come from the memo: cost O(k log n) for k such leaves.
 */
export function originalSiblingTreeHash(cs: CipherSuite, tree: TreeState, p: number, s: number): Uint8Array {
  const pn = tree.parent(p);
  if (pn === null) return treeHash(cs, tree, s);
  const [lo, hi] = subtreeRange(s as NodeIndex);
  const ex = pn.unmergedLeaves.filter((u) => 2 * u >= lo && 2 * u <= hi);
  if (ex.length === 0) return treeHash(cs, tree, s);
  return hashExcluding(cs, tree, s as NodeIndex, ex, new Set(ex));
}

// Recursion by level (depth <= log2 n); `ex` holds the excluded leaves inside the subtree of x.
function hashExcluding(cs: CipherSuite, tree: TreeState, x: NodeIndex, ex: readonly number[], all: ReadonlySet<number>): Uint8Array {
  if (ex.length === 0) return treeHash(cs, tree, x);
  if (isLeaf(x)) return cs.hash(encodeLeafTreeHashInput(x / 2, null));
  const v = tree.parent(x);
  const kept: ParentNode | null = v === null ? null : { ...v, unmergedLeaves: v.unmergedLeaves.filter((u) => !all.has(u)) };
  const exLeft = ex.filter((u) => 2 * u < x);
  const exRight = ex.filter((u) => 2 * u > x);
  const lh = hashExcluding(cs, tree, left(x), exLeft, all);
  const rh = hashExcluding(cs, tree, right(x), exRight, all);
  return cs.hash(encodeParentTreeHashInput(kept, lh, rh));
}

/** Parent hashes for a new filtered direct path (RFC 9420 §7.9), computed from the root down. */
export interface PathParentHashes {
  /** The `parent_hash` field of each filtered-direct-path node, in path order (leaf side first). */
  readonly nodeParentHashes: readonly Uint8Array[];
  /** The `parent_hash` of the leaf: the parent hash of the first path node, or empty for an empty path. */
  readonly leafParentHash: Uint8Array;
}

/**
 * RFC 9420 §7.9: parent hashes for new keys `keys[k]` on the filtered direct path `path[k]` whose
 * copath children are `copath[k]`. The new nodes have no unmerged leaves, so each original sibling
 * tree hash is the current tree hash of the copath child (whose subtree the path does not touch,
 * so `tree` may be taken before or after the path is merged).
 */
export function computePathParentHashes(
  cs: CipherSuite,
  tree: TreeState,
  path: { readonly copath: readonly NodeIndex[] },
  keys: readonly Uint8Array[],
): PathParentHashes {
  const n = keys.length;
  if (path.copath.length !== n) {
    throw new ValidationError("path_length", `${n} path keys for a filtered direct path of ${path.copath.length} nodes`, "RFC 9420 §7.6");
  }
  const fields: Uint8Array[] = new Array<Uint8Array>(n);
  let above: Uint8Array = EMPTY; // RFC 9420 §7.9: the root's parent_hash is the zero-length string
  for (let k = n - 1; k >= 0; k--) {
    fields[k] = above;
    above = parentHash(cs, keys[k]!, above, treeHash(cs, tree, path.copath[k]!));
  }
  return { nodeParentHashes: fields, leafParentHash: above };
}

/** The `parent_hash` a node carries: a parent's field, a commit leaf's, or none. */
function carriedParentHash(tree: TreeState, d: number): Uint8Array | undefined {
  const v = tree.nodes[d];
  if (v === null || v === undefined) return undefined;
  if (v.nodeType === nodeTypes.parent) return v.parentNode.parentHash;
  return v.leafNode.leafNodeSource === leafNodeSources.commit ? v.leafNode.parentHash : undefined;
}

/**
 * The single node of resolution(c) when the resolution has exactly one element, -1 when it is
 * empty, -2 when it has more (stops at the second node found). Recursion by level.
 */
function soleResolutionNode(tree: TreeState, c: NodeIndex): number {
  const v = tree.nodes[c]!;
  if (v !== null) return v.nodeType === nodeTypes.parent && v.parentNode.unmergedLeaves.length > 0 ? -2 : c;
  if (isLeaf(c)) return -1;
  const l = soleResolutionNode(tree, left(c));
  if (l === -2) return -2;
  const r = soleResolutionNode(tree, right(c));
  if (r === -2) return -2;
  if (l === -1) return r;
  return r === -1 ? l : -2;
}

/**
 * RFC 9420 §7.9.2: the only node D that can chain to parent `p` through child `c`: "D is in the
 * resolution of C, and the intersection of P's unmerged_leaves with the subtree under C is equal
 * to the resolution of C with D removed." Returns -1 when there is none.
 */
function chainCandidate(tree: TreeState, c: NodeIndex, unmergedLeaves: readonly number[]): number {
  const [lo, hi] = subtreeRange(c);
  const unmerged = new Set<number>();
  for (const u of unmergedLeaves) if (2 * u >= lo && 2 * u <= hi) unmerged.add(2 * u);
  if (unmerged.size === 0) return Math.max(-1, soleResolutionNode(tree, c));
  const res = tree.resolution(c);
  if (res.length !== unmerged.size + 1) return -1;
  let d = -1;
  let matched = 0;
  for (const r of res) {
    if (unmerged.has(r)) matched++;
    else d = r;
  }
  return matched === unmerged.size ? d : -1;
}

/**
 * The number of descendants D of non-blank parent `p` for which `p` is parent-hash valid
 * (RFC 9420 §7.9.2), assuming every non-blank parent below `p` is already known to be valid.
 */
function validChains(cs: CipherSuite, tree: TreeState, p: NodeIndex, pn: ParentNode): number {
  let count = 0;
  for (let side = 0; side < 2; side++) {
    const c = side === 0 ? left(p) : right(p);
    const s = side === 0 ? right(p) : left(p);
    const d = chainCandidate(tree, c, pn.unmergedLeaves);
    if (d < 0) continue;
    const carried = carriedParentHash(tree, d);
    if (carried === undefined) continue;
    const expected = parentHash(cs, pn.encryptionKey, pn.parentHash, originalSiblingTreeHash(cs, tree, p, s));
    if (bytesEqual(carried, expected)) count++;
  }
  return count;
}

/**
 * RFC 9420 §7.9.2: check that every non-blank parent node is parent-hash valid, bottom-up: a
 * parent is valid when exactly one descendant (a leaf, or a parent already found valid) carries
 * its parent hash. Throws {@link ValidationError} `valid.parent_hash` naming the first bad node.
 */
export function verifyParentHashes(cs: CipherSuite, tree: TreeState): void {
  const width = tree.nodeCount;
  for (let k = 1; 2 ** k - 1 < width; k++) {
    const step = 2 ** (k + 1);
    for (let p = 2 ** k - 1; p < width; p += step) {
      const v = tree.nodes[p]!;
      if (v === null || v.nodeType !== nodeTypes.parent) continue;
      if (validChains(cs, tree, p as NodeIndex, v.parentNode) !== 1) {
        throw new ValidationError("parent_hash", `parent node ${p} is not parent-hash valid`, "RFC 9420 §7.9.2");
      }
    }
  }
}

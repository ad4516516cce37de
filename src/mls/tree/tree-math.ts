/**
 * Array-based tree math (RFC 9420 Appendix C, terminology of §4.1 and §7.1).
 *
 * Leaves sit at even node indices (leaf `i` at node `2i`), parents at odd ones. The high bits of a
 * parent and its children relate as `parent=01x => left=00x, right=10x`, so every relation is a
 * few bit operations: all functions here are O(log n) or better and never walk the whole tree.
 *
 * RFC 9420 trees are always full (§7.7: the leaf count is a power of two), and every function that
 * takes `nLeaves` assumes that. Indices are 32-bit: a tree holds at most 2^31 leaves, so node
 * indices stay below 2^32 and fit JavaScript's unsigned 32-bit bit operations (`>>> 0`).
 *
 * Misuse (children of a leaf, parent of the root, an index outside the tree) throws
 * {@link UsageError} `usage.tree_math`, mirroring the exceptions of the RFC's Python code.
 * @module
 */
import { UsageError } from "../../errors.js";

declare const leafBrand: unique symbol;
declare const nodeBrand: unique symbol;

/** Index of a leaf among the leaves (0, 1, 2, ...). */
export type LeafIndex = number & { readonly [leafBrand]: "LeafIndex" };
/** Index of a node in the array representation (leaves even, parents odd). */
export type NodeIndex = number & { readonly [nodeBrand]: "NodeIndex" };

/** Largest leaf count supported: node indices must stay below 2^32. */
export const MAX_LEAVES = 2 ** 31;

function misuse(message: string): never {
  throw new UsageError("tree_math", message);
}

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

/** Brand a leaf index (checks it is a uint32 below {@link MAX_LEAVES}). */
export function toLeafIndex(n: number): LeafIndex {
  if (!Number.isInteger(n) || n < 0 || n >= MAX_LEAVES) misuse(`"leaf index" out of range: ${n}`);
  return n as LeafIndex;
}

/** Brand a node index (checks it is a uint32). */
export function toNodeIndex(n: number): NodeIndex {
  if (!isU32(n) || n === 0xffffffff) misuse(`"node index" out of range: ${n}`);
  return n as NodeIndex;
}

/** The exponent of the largest power of 2 not above `x`; `log2(0) = 0` (RFC 9420 Appendix C). */
export function log2(x: number): number {
  return x === 0 ? 0 : 31 - Math.clz32(x);
}

/**
 * The level of a node: leaves are level 0, their parents level 1, ...; equals the number of
 * trailing one bits of the index (RFC 9420 Appendix C).
 */
export function level(x: NodeIndex): number {
  if ((x & 1) === 0) return 0;
  // Trailing ones of x = trailing zeros of ~x = 31 - clz32(lowest set bit of ~x).
  const inv = ~x >>> 0;
  return 31 - Math.clz32((inv & -inv) >>> 0);
}

export function isLeaf(x: NodeIndex): boolean {
  return (x & 1) === 0;
}

/** RFC 9420 Appendix C: the n-th leaf is node 2n. */
export function leafToNode(leaf: LeafIndex): NodeIndex {
  return (leaf * 2) as NodeIndex;
}

export function nodeToLeaf(node: NodeIndex): LeafIndex {
  if (!isLeaf(node)) misuse(`node ${node} is not a leaf`);
  return (node / 2) as LeafIndex;
}

/** The number of nodes needed to represent a tree with `nLeaves` leaves (RFC 9420 Appendix C `node_width`). */
export function nodeWidth(nLeaves: number): number {
  if (!Number.isInteger(nLeaves) || nLeaves < 0 || nLeaves > MAX_LEAVES) misuse(`"nLeaves" out of range: ${nLeaves}`);
  return nLeaves === 0 ? 0 : 2 * (nLeaves - 1) + 1;
}

/** The number of leaves of a tree of `nNodes` nodes (inverse of {@link nodeWidth}). */
export function leafWidth(nNodes: number): number {
  if (!Number.isInteger(nNodes) || nNodes < 0 || (nNodes !== 0 && nNodes % 2 === 0)) misuse(`"nNodes" is not a tree width: ${nNodes}`);
  return nNodes === 0 ? 0 : (nNodes + 1) / 2;
}

/** The root of a tree with `nLeaves` leaves (RFC 9420 Appendix C `root`). */
export function root(nLeaves: number): NodeIndex {
  if (nLeaves < 1) misuse(`a tree with ${nLeaves} leaves has no root`);
  const w = nodeWidth(nLeaves);
  return (2 ** log2(w) - 1) as NodeIndex;
}

/** The left child of a parent node (RFC 9420 Appendix C `left`). */
export function left(x: NodeIndex): NodeIndex {
  const k = level(x);
  if (k === 0) misuse(`leaf node ${x} has no children`);
  return ((x ^ (0x01 << (k - 1))) >>> 0) as NodeIndex;
}

/** The right child of a parent node (RFC 9420 Appendix C `right`). */
export function right(x: NodeIndex): NodeIndex {
  const k = level(x);
  if (k === 0) misuse(`leaf node ${x} has no children`);
  return ((x ^ (0x03 << (k - 1))) >>> 0) as NodeIndex;
}

function checkInTree(x: NodeIndex, nLeaves: number): void {
  if (x >= nodeWidth(nLeaves)) misuse(`node ${x} is outside a tree of ${nLeaves} leaves`);
}

/** The parent of a node other than the root (RFC 9420 Appendix C `parent`). */
export function parent(x: NodeIndex, nLeaves: number): NodeIndex {
  checkInTree(x, nLeaves);
  if (x === root(nLeaves)) misuse(`the root node ${x} has no parent`);
  return parentUnchecked(x);
}

/** `parent` without the bounds checks, for loops that have already checked. */
function parentUnchecked(x: number): NodeIndex {
  const k = level(x as NodeIndex);
  // Levels stay <= 30 inside a 2^31-leaf tree, so these shifts never reach the sign bit.
  const b = (x >>> (k + 1)) & 0x01;
  return (((x | (1 << k)) ^ (b << (k + 1))) >>> 0) as NodeIndex;
}

/** The other child of the node's parent (RFC 9420 Appendix C `sibling`). */
export function sibling(x: NodeIndex, nLeaves: number): NodeIndex {
  const p = parent(x, nLeaves);
  return x < p ? right(p) : left(p);
}

/** The direct path of a node, ordered from its parent up to the root (RFC 9420 §4.1, Appendix C `direct_path`). */
export function directPath(x: NodeIndex, nLeaves: number): NodeIndex[] {
  checkInTree(x, nLeaves);
  const r = root(nLeaves);
  const d: NodeIndex[] = [];
  let n: number = x;
  while (n !== r) {
    n = parentUnchecked(n);
    d.push(n as NodeIndex);
  }
  return d;
}

/** The copath of a node: the sibling of each node of `[x] + directPath(x)` minus the root (RFC 9420 §4.1). */
export function copath(x: NodeIndex, nLeaves: number): NodeIndex[] {
  checkInTree(x, nLeaves);
  const r = root(nLeaves);
  const c: NodeIndex[] = [];
  let n: number = x;
  while (n !== r) {
    const p = parentUnchecked(n);
    c.push(n < p ? right(p) : left(p));
    n = p;
  }
  return c;
}

/** Whether `a` is `d` or one of `d`'s ancestors (the subtree of `a` covers `d`). */
export function isAncestorOrSelf(a: NodeIndex, d: NodeIndex): boolean {
  const k = level(a) + 1;
  return Math.floor(a / 2 ** k) === Math.floor(d / 2 ** k);
}

/**
 * The lowest node on the direct paths of both `x` and `y` (including themselves), RFC 9420
 * Appendix C `common_ancestor_direct`.
 */
export function commonAncestor(x: NodeIndex, y: NodeIndex): NodeIndex {
  const lx = level(x) + 1;
  const ly = level(y) + 1;
  if (lx <= ly && Math.floor(x / 2 ** ly) === Math.floor(y / 2 ** ly)) return y;
  if (ly <= lx && Math.floor(x / 2 ** lx) === Math.floor(y / 2 ** lx)) return x;
  let xn: number = x;
  let yn: number = y;
  let k = 0;
  while (xn !== yn) {
    xn = xn >>> 1;
    yn = yn >>> 1;
    k += 1;
  }
  return (xn * 2 ** k + 2 ** (k - 1) - 1) as NodeIndex;
}

/**
 * The ratchet tree (RFC 9420 §4.1, §7) as an immutable value.
 *
 * A {@link TreeState} holds the nodes of a full tree (`nLeaves` a power of two) in a flat array
 * indexed by node index (Appendix C), with `null` for blank nodes. Every operation returns a new
 * TreeState; internally it is copy-on-write: a shallow slice of the node array (nodes themselves
 * are frozen-by-type and shared) plus a copy of the memo of tree hashes, with only the hashes on
 * the changed path dropped. Nothing here walks the whole tree recursively: subtree scans use the
 * fact that a subtree is a contiguous index range, and recursion is by level (depth <= 31).
 *
 *   decodeRatchetTree ──► TreeState.fromRatchetTree ──► addLeaf / updateLeaf / removeLeaf / setPath ──► toRatchetTree
 *
 * Tree hashes live in tree-hash.ts, parent hashes in parent-hash.ts, the validation of a received
 * tree in tree-validation.ts and TreeKEM in treekem.ts; this module is the data structure only.
 * @module
 */
import { UsageError, ValidationError } from "../../errors.js";
import { bytesEqual } from "../../util/bytes.js";
import { nodeTypes } from "../core/protocol.js";
import { keyTag } from "./key-index.js";
import { TreeHashMemo } from "./tree-hash-memo.js";
import type { LeafNode } from "./leaf-node.js";
import type { ParentNode } from "./parent-node.js";
import type { Node, RatchetTree } from "./ratchet-tree.js";
import {
  copath,
  directPath,
  isLeaf,
  left,
  level,
  MAX_LEAVES,
  nodeWidth,
  right,
  root,
  type LeafIndex,
  type NodeIndex,
} from "./tree-math.js";

/** A non-blank leaf of the tree. */
export interface Member {
  readonly leafIndex: LeafIndex;
  readonly leafNode: LeafNode;
}

/** A parent node set by an UpdatePath (RFC 9420 §7.5): new key and parent hash, no unmerged leaves. */
export interface PathNode {
  readonly node: NodeIndex;
  readonly encryptionKey: Uint8Array;
  readonly parentHash: Uint8Array;
}

const SHAPE = "RFC 9420 §12.4.3.3";

function checkLeafIndex(i: number, nLeaves: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= nLeaves) throw new UsageError("tree_index", `leaf ${i} is outside a tree of ${nLeaves} leaves`);
}

function checkNodeIndex(n: number, width: number): void {
  if (!Number.isInteger(n) || n < 0 || n >= width) throw new UsageError("tree_index", `node ${n} is outside a tree of ${width} nodes`);
}

/** The first and last node index of the subtree rooted at `x` (a contiguous range). */
export function subtreeRange(x: NodeIndex): readonly [number, number] {
  const half = 2 ** level(x) - 1;
  return [x - half, x + half];
}

function nodeKey(v: Node): Uint8Array {
  return v.nodeType === nodeTypes.leaf ? v.leafNode.encryptionKey : v.parentNode.encryptionKey;
}

/**
 * Encryption-key tags by node index (-1 for blank), kept alongside the nodes so that key
 * uniqueness checks scan a flat Int32Array instead of chasing every node object (RFC 9420 §12.4.2).
 */
function buildKeyTags(nodes: readonly (Node | null)[]): Int32Array {
  const tags = new Int32Array(nodes.length);
  for (let n = 0; n < nodes.length; n++) {
    const v = nodes[n]!;
    tags[n] = v === null ? -1 : keyTag(nodeKey(v));
  }
  return tags;
}

/** Insert `v` into a strictly increasing array in place (no-op if present). */
function insertSortedInPlace(list: number[], v: number): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  if (list[lo] === v) return;
  if (lo === list.length) list.push(v);
  else list.splice(lo, 0, v);
}

// Module-private access to TreeState internals for the Draft below (set in TreeState's static block).
let construct!: (nodes: (Node | null)[], nLeaves: number, memo: TreeHashMemo | undefined, tags: Int32Array | undefined, firstBlank: number) => TreeState;
let memoOf!: (t: TreeState) => TreeHashMemo | undefined;
let tagsOf!: (t: TreeState) => Int32Array | undefined;
let firstBlankOf!: (t: TreeState) => number;

/**
 * A mutable working copy used inside one operation; frozen into a TreeState at the end.
 * Copy-on-write happens once, in the constructor.
 */
class Draft {
  nodes: (Node | null)[];
  memo: TreeHashMemo | undefined;
  tags: Int32Array | undefined;
  nLeaves: number;
  /** A lower bound on the leftmost blank leaf (every leaf below it is non-blank). */
  firstBlank: number;
  /** unmerged_leaves arrays this draft owns (copied on first change), by parent node index. */
  private readonly ownedUnmerged = new Map<number, number[]>();

  constructor(t: TreeState) {
    this.nodes = t.nodes.slice();
    this.memo = memoOf(t)?.clone();
    this.tags = tagsOf(t)?.slice();
    this.nLeaves = t.nLeaves;
    this.firstBlank = firstBlankOf(t);
  }

  /** Drop the memoised hash of `x` and of its ancestors (stops at the first one already dropped). */
  private invalidate(x: number): void {
    const m = this.memo;
    if (m === undefined) return;
    const r = root(this.nLeaves);
    let n = x;
    for (;;) {
      if (!m.drop(n) && n !== x) return;
      if (n === r) return;
      const k = level(n as NodeIndex);
      const b = (n >>> (k + 1)) & 1;
      n = ((n | (1 << k)) ^ (b << (k + 1))) >>> 0;
    }
  }

  set(x: number, v: Node | null): void {
    this.nodes[x] = v;
    if (this.tags !== undefined) this.tags[x] = v === null ? -1 : keyTag(nodeKey(v));
    if (v === null && x % 2 === 0 && x / 2 < this.firstBlank) this.firstBlank = x / 2;
    this.ownedUnmerged.delete(x);
    this.invalidate(x);
  }

  /**
   * RFC 9420 §12.1.1, §7.7: put `leaf` in the leftmost blank leaf, extending the tree if there is
   * none, and add its index to the unmerged leaves of every non-blank parent on its direct path.
   * The search starts at {@link firstBlank}, so n adds in a row cost O(n) in total.
   */
  addLeaf(leaf: LeafNode): LeafIndex {
    let li = this.firstBlank;
    while (li < this.nLeaves && this.nodes[2 * li] !== null) li++;
    if (li >= this.nLeaves) {
      li = this.nLeaves; // first leaf of the new right subtree
      this.extend();
    }
    const at = 2 * li;
    this.set(at, { nodeType: nodeTypes.leaf, leafNode: leaf });
    this.firstBlank = li + 1;
    for (const p of directPath(at as NodeIndex, this.nLeaves)) {
      const v = this.nodes[p]!;
      if (v === null || v.nodeType !== nodeTypes.parent) continue;
      let list = this.ownedUnmerged.get(p);
      if (list === undefined) {
        list = v.parentNode.unmergedLeaves.slice();
        this.set(p, { nodeType: nodeTypes.parent, parentNode: { ...v.parentNode, unmergedLeaves: list } });
        this.ownedUnmerged.set(p, list);
      } else {
        this.invalidate(p);
      }
      insertSortedInPlace(list, li);
    }
    return li as LeafIndex;
  }

  blankDirectPath(leafNode: NodeIndex): void {
    for (const p of directPath(leafNode, this.nLeaves)) if (this.nodes[p] !== null) this.set(p, null);
  }

  /** RFC 9420 §7.7: double the width; the old tree becomes the left subtree of a new blank root. */
  extend(): void {
    if (this.nLeaves * 2 > MAX_LEAVES) throw new UsageError("tree_full", `a tree cannot grow beyond ${MAX_LEAVES} leaves`);
    this.nLeaves *= 2;
    const w = nodeWidth(this.nLeaves);
    const from = this.nodes.length;
    this.nodes.length = w;
    this.nodes.fill(null, from);
    this.memo?.resize(w);
    if (this.tags !== undefined) {
      const tags = new Int32Array(w).fill(-1);
      tags.set(this.tags);
      this.tags = tags;
    }
  }

  /** RFC 9420 §7.7: drop the root and right subtree while the right subtree is entirely blank. */
  truncate(): void {
    while (this.nLeaves > 1) {
      const r = root(this.nLeaves);
      for (let i = r + 1; i < this.nodes.length; i++) if (this.nodes[i] !== null) return;
      this.nLeaves /= 2;
      if (this.firstBlank > this.nLeaves) this.firstBlank = this.nLeaves;
      this.nodes.length = r;
      this.memo?.resize(r);
      if (this.tags !== undefined) this.tags = this.tags.slice(0, r);
    }
  }

  freeze(): TreeState {
    return construct(this.nodes, this.nLeaves, this.memo, this.tags, this.firstBlank);
  }
}

/**
 * An immutable ratchet tree (RFC 9420 §4.1). Leaves are addressed by leaf index, everything else
 * by node index (leaf L is node 2L).
 */
export class TreeState {
  /** The nodes by node index, blank as `null`; exactly `nodeWidth(nLeaves)` entries. */
  readonly nodes: readonly (Node | null)[];
  /** Number of leaves, always a power of two. */
  readonly nLeaves: number;
  #memo: TreeHashMemo | undefined;
  #tags: Int32Array | undefined;
  /** A lower bound on the leftmost blank leaf: every leaf below it is non-blank. */
  readonly #firstBlank: number;

  private constructor(nodes: (Node | null)[], nLeaves: number, memo: TreeHashMemo | undefined, tags: Int32Array | undefined, firstBlank: number) {
    this.nodes = nodes;
    this.nLeaves = nLeaves;
    this.#memo = memo;
    this.#tags = tags;
    this.#firstBlank = firstBlank;
  }

  static {
    construct = (nodes, nLeaves, memo, tags, firstBlank) => new TreeState(nodes, nLeaves, memo, tags, firstBlank);
    memoOf = (t) => t.#memo;
    tagsOf = (t) => t.#tags;
    firstBlankOf = (t) => t.#firstBlank;
  }

  /** A one-member tree holding `leaf` at leaf 0 (a new group, RFC 9420 §11). */
  static create(leaf: LeafNode): TreeState {
    const nodes: (Node | null)[] = [{ nodeType: nodeTypes.leaf, leafNode: leaf }];
    return new TreeState(nodes, 1, undefined, buildKeyTags(nodes), 1);
  }

  /**
   * From the decoded `ratchet_tree` (RFC 9420 §12.4.3.3): checks that the last entry is non-blank
   * and that leaves sit at even and parents at odd positions, then pads with blanks to the
   * smallest full width 2^(d+1) - 1.
   */
  static fromRatchetTree(tree: RatchetTree): TreeState {
    const len = tree.length;
    if (len === 0) throw new ValidationError("ratchet_tree_empty", "the ratchet tree has no nodes", SHAPE);
    if (tree[len - 1] === null) throw new ValidationError("ratchet_tree_trailing_blank", "the last node of the ratchet tree is blank", SHAPE);
    let nLeaves = 1;
    while (nodeWidth(nLeaves) < len) {
      if (nLeaves >= MAX_LEAVES) throw new ValidationError("ratchet_tree_too_large", `a ratchet tree of ${len} nodes is too large`, SHAPE);
      nLeaves *= 2;
    }
    const w = nodeWidth(nLeaves);
    const nodes: (Node | null)[] = new Array<Node | null>(w);
    for (let i = 0; i < len; i++) {
      const n = tree[i]!;
      if (n !== null) {
        const want = i % 2 === 0 ? nodeTypes.leaf : nodeTypes.parent;
        if (n.nodeType !== want) {
          throw new ValidationError("ratchet_tree_node_type", `node ${i} must be a ${want === nodeTypes.leaf ? "leaf" : "parent"} node`, SHAPE);
        }
      }
      nodes[i] = n;
    }
    nodes.fill(null, len);
    // Key tags now rather than on the first findEncryptionKey: that is the first Commit after a
    // join, which has a tighter time budget than the join itself (~2 ms at 10,000 members).
    return new TreeState(nodes, nLeaves, undefined, buildKeyTags(nodes), 0);
  }

  /** The `ratchet_tree` array to encode: trailing blank nodes removed (RFC 9420 §12.4.3.3). */
  toRatchetTree(): (Node | null)[] {
    let end = this.nodes.length;
    while (end > 0 && this.nodes[end - 1] === null) end--;
    return this.nodes.slice(0, end);
  }

  /** @internal The tree-hash memo for hash function `alg`, created (or reset for another alg) on demand. */
  hashMemo(alg: string): TreeHashMemo {
    let m = this.#memo;
    if (m === undefined || m.alg !== alg) {
      m = new TreeHashMemo(alg, this.nodes.length);
      this.#memo = m;
    }
    return m;
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  get root(): NodeIndex {
    return root(this.nLeaves);
  }

  node(n: number): Node | null {
    checkNodeIndex(n, this.nodes.length);
    return this.nodes[n]!;
  }

  /** The LeafNode at leaf `i`, or null if that leaf is blank. */
  leaf(i: number): LeafNode | null {
    checkLeafIndex(i, this.nLeaves);
    const n = this.nodes[2 * i]!;
    return n === null ? null : n.nodeType === nodeTypes.leaf ? n.leafNode : null;
  }

  /** The ParentNode stored at parent node index `n`, or null if that node is blank. */
  parent(n: number): ParentNode | null {
    checkNodeIndex(n, this.nodes.length);
    if (n % 2 === 0) throw new UsageError("tree_index", `node ${n} is a leaf, not a parent`);
    const v = this.nodes[n]!;
    return v === null ? null : v.nodeType === nodeTypes.parent ? v.parentNode : null;
  }

  /** The HPKE public key held by node `n`, or null if it is blank. */
  encryptionKey(n: number): Uint8Array | null {
    const v = this.node(n);
    return v === null ? null : nodeKey(v);
  }

  /** The non-blank leaves, by increasing leaf index. */
  members(): Member[] {
    const out: Member[] = [];
    for (let i = 0; i < this.nodes.length; i += 2) {
      const n = this.nodes[i]!;
      if (n !== null && n.nodeType === nodeTypes.leaf) out.push({ leafIndex: (i / 2) as LeafIndex, leafNode: n.leafNode });
    }
    return out;
  }

  /** The first non-blank leaf satisfying `pred`, or undefined when none does. */
  findLeaf(pred: (leaf: LeafNode, index: LeafIndex) => boolean): LeafIndex | undefined {
    for (let i = 0; i < this.nodes.length; i += 2) {
      const n = this.nodes[i]!;
      if (n !== null && n.nodeType === nodeTypes.leaf && pred(n.leafNode, (i / 2) as LeafIndex)) return (i / 2) as LeafIndex;
    }
    return undefined;
  }

  /**
   * The first node (leaf or parent) whose encryption key equals one of `keys`, or undefined.
   * Scans a flat array of key tags (built on first use, then maintained by every operation).
   */
  findEncryptionKey(keys: readonly Uint8Array[]): NodeIndex | undefined {
    let tags = this.#tags;
    if (tags === undefined) {
      tags = buildKeyTags(this.nodes);
      this.#tags = tags;
    }
    const wanted = new Set(keys.map(keyTag));
    for (let n = 0; n < tags.length; n++) {
      const t = tags[n]!;
      if (t < 0 || !wanted.has(t)) continue;
      const k = nodeKey(this.nodes[n]!);
      if (keys.some((x) => bytesEqual(x, k))) return n as NodeIndex;
    }
    return undefined;
  }

  findLeafByEncryptionKey(key: Uint8Array): LeafIndex | undefined {
    return this.findLeaf((l) => bytesEqual(l.encryptionKey, key));
  }

  findLeafBySignatureKey(key: Uint8Array): LeafIndex | undefined {
    return this.findLeaf((l) => bytesEqual(l.signatureKey, key));
  }

  /** Whether every node of the subtree under `x` is blank, i.e. its resolution is empty (RFC 9420 §4.1.1). */
  isBlankSubtree(x: number): boolean {
    checkNodeIndex(x, this.nodes.length);
    const [lo, hi] = subtreeRange(x as NodeIndex);
    for (let i = lo; i <= hi; i++) if (this.nodes[i] !== null) return false;
    return true;
  }

  /**
   * RFC 9420 §4.1.1: the resolution of node `x`, a left-first list of non-blank nodes covering
   * the subtree, with each non-blank parent followed by its unmerged leaves. Leaves in
   * `excluded` (leaf indices, e.g. members added by the current Commit, §7.6) are left out.
   */
  resolution(x: number, excluded?: ReadonlySet<number>): NodeIndex[] {
    checkNodeIndex(x, this.nodes.length);
    const out: NodeIndex[] = [];
    this.resolveInto(x as NodeIndex, out, excluded);
    return out;
  }

  private resolveInto(x: NodeIndex, out: NodeIndex[], excluded: ReadonlySet<number> | undefined): void {
    const v = this.nodes[x]!;
    if (v !== null) {
      if (v.nodeType === nodeTypes.leaf) {
        if (excluded === undefined || !excluded.has(x / 2)) out.push(x);
        return;
      }
      out.push(x);
      for (const u of v.parentNode.unmergedLeaves) if (excluded === undefined || !excluded.has(u)) out.push((2 * u) as NodeIndex);
      return;
    }
    if (isLeaf(x)) return;
    this.resolveInto(left(x), out, excluded);
    this.resolveInto(right(x), out, excluded);
  }

  /**
   * RFC 9420 §4.1.2: the filtered direct path of leaf `i` (direct path minus the nodes whose
   * copath child has an empty resolution), with the matching copath children.
   */
  filteredPath(i: number): { readonly directPath: NodeIndex[]; readonly copath: NodeIndex[] } {
    checkLeafIndex(i, this.nLeaves);
    const x = (2 * i) as NodeIndex;
    const dp = directPath(x, this.nLeaves);
    const cp = copath(x, this.nLeaves);
    const fdp: NodeIndex[] = [];
    const fcp: NodeIndex[] = [];
    for (let k = 0; k < dp.length; k++) {
      if (this.isBlankSubtree(cp[k]!)) continue;
      fdp.push(dp[k]!);
      fcp.push(cp[k]!);
    }
    return { directPath: fdp, copath: fcp };
  }

  /** RFC 9420 §4.1.2 filtered direct path of leaf `i`. */
  filteredDirectPath(i: number): NodeIndex[] {
    return this.filteredPath(i).directPath;
  }

  /** The copath children matching {@link filteredDirectPath}. */
  filteredCopath(i: number): NodeIndex[] {
    return this.filteredPath(i).copath;
  }

  /**
   * RFC 9420 §12.1.1, §7.7: put `leaf` in the leftmost blank leaf, extending the tree if there is
   * none, and add its index to the unmerged leaves of every non-blank parent on its direct path.
   */
  addLeaf(leaf: LeafNode): { readonly tree: TreeState; readonly leafIndex: LeafIndex } {
    const d = new Draft(this);
    const leafIndex = d.addLeaf(leaf);
    return { tree: d.freeze(), leafIndex };
  }

  /**
   * {@link addLeaf} for each of `leaves` in order (RFC 9420 §12.3: "Apply any Add proposals ... in
   * the order they appear in the list"), with one copy of the tree for the whole batch.
   */
  addLeaves(leaves: readonly LeafNode[]): { readonly tree: TreeState; readonly leafIndices: readonly LeafIndex[] } {
    if (leaves.length === 0) return { tree: this, leafIndices: [] };
    const d = new Draft(this);
    const leafIndices = leaves.map((l) => d.addLeaf(l));
    return { tree: d.freeze(), leafIndices };
  }

  /** RFC 9420 §12.1.2: replace leaf `i` and blank the nodes of its direct path. */
  updateLeaf(i: number, leaf: LeafNode): TreeState {
    checkLeafIndex(i, this.nLeaves);
    if (this.nodes[2 * i] === null) throw new UsageError("blank_leaf", `leaf ${i} is blank and cannot be updated`);
    const d = new Draft(this);
    d.set(2 * i, { nodeType: nodeTypes.leaf, leafNode: leaf });
    d.blankDirectPath((2 * i) as NodeIndex);
    return d.freeze();
  }

  /**
   * RFC 9420 §12.1.3, §7.7: blank leaf `i` and its direct path, then truncate: drop the right half
   * while it is entirely blank, keeping at least one leaf.
   */
  removeLeaf(i: number): TreeState {
    checkLeafIndex(i, this.nLeaves);
    // RFC 9420 §12.1.3: "invalid if the removed field does not identify a non-blank leaf node"
    if (this.nodes[2 * i] === null) throw new ValidationError("remove_blank_leaf", `leaf ${i} is blank and cannot be removed`, "RFC 9420 §12.1.3");
    const d = new Draft(this);
    d.set(2 * i, null);
    d.blankDirectPath((2 * i) as NodeIndex);
    d.truncate();
    return d.freeze();
  }

  /** Blank node `n` (without touching its ancestors' contents). */
  blank(n: number): TreeState {
    checkNodeIndex(n, this.nodes.length);
    if (this.nodes[n] === null) return this;
    const d = new Draft(this);
    d.set(n, null);
    return d.freeze();
  }

  /** Blank the nodes on the direct path of leaf `i` (RFC 9420 §7.4, first step). */
  blankDirectPath(i: number): TreeState {
    checkLeafIndex(i, this.nLeaves);
    const d = new Draft(this);
    d.blankDirectPath((2 * i) as NodeIndex);
    return d.freeze();
  }

  /**
   * Merge an UpdatePath (RFC 9420 §7.5): blank the direct path of leaf `i`, set each given node of
   * its filtered direct path to the new key and parent hash with no unmerged leaves, and replace
   * the leaf. The parent hashes must already be computed (parent-hash.ts).
   */
  setPath(i: number, leaf: LeafNode, path: readonly PathNode[]): TreeState {
    checkLeafIndex(i, this.nLeaves);
    const x = (2 * i) as NodeIndex;
    const dp = directPath(x, this.nLeaves);
    const onPath = new Set<number>(dp);
    const d = new Draft(this);
    d.blankDirectPath(x);
    for (const p of path) {
      if (!onPath.has(p.node)) throw new UsageError("not_on_path", `node ${p.node} is not on the direct path of leaf ${i}`);
      d.set(p.node, { nodeType: nodeTypes.parent, parentNode: { encryptionKey: p.encryptionKey, parentHash: p.parentHash, unmergedLeaves: [] } });
    }
    d.set(x, { nodeType: nodeTypes.leaf, leafNode: leaf });
    return d.freeze();
  }
}

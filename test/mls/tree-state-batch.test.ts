/**
 * TreeState batch adds and the leftmost-blank-leaf bookkeeping (RFC 9420 §12.1.1, §12.3, §7.7):
 * `addLeaves` must give exactly the tree, leaf indices and tree hash of `addLeaf` applied in
 * order, on trees with holes, unmerged leaves and growth across power-of-two boundaries, without
 * touching the input tree; and the blank-leaf search must stay right after removes, blanks,
 * truncation, external-join reservations and trees read from the wire.
 */
import { describe, expect, it } from "vitest";
import { nativeProvider } from "../../src/crypto/native/index.js";
import { nodeTypes } from "../../src/mls/core/protocol.js";
import { reserveJoinerLeaf } from "../../src/mls/group/apply-proposals.js";
import type { LeafNode } from "../../src/mls/tree/leaf-node.js";
import { encodeRatchetTree, type Node } from "../../src/mls/tree/ratchet-tree.js";
import { rootTreeHash } from "../../src/mls/tree/tree-hash.js";
import { TreeState } from "../../src/mls/tree/tree-state.js";
import { verifyUnmergedLeaves } from "../../src/mls/tree/tree-validation.js";
import { toHex } from "../../src/util/bytes.js";
import { fakeKey, fakeLeaf, freshId } from "../helpers/fake-leaves.js";

const cs = nativeProvider.suite(1);
const leafN = (): Node => ({ nodeType: nodeTypes.leaf, leafNode: fakeLeaf() });
const parentN = (unmergedLeaves: number[]): Node => ({
  nodeType: nodeTypes.parent,
  parentNode: { encryptionKey: fakeKey(freshId()), parentHash: new Uint8Array(32), unmergedLeaves },
});

const wire = (t: TreeState): string => toHex(encodeRatchetTree(t.toRatchetTree()));

/** addLeaf one by one, the reference behaviour. */
function oneByOne(t: TreeState, leaves: readonly LeafNode[]): { tree: TreeState; indices: number[] } {
  const indices: number[] = [];
  let cur = t;
  for (const l of leaves) {
    const r = cur.addLeaf(l);
    cur = r.tree;
    indices.push(r.leafIndex);
  }
  return { tree: cur, indices };
}

/**
 * 8 leaves: members 0, 2, 3, 5, blanks 1, 4, 6, 7; parents 1 (over leaves 0-1), 3 (over 0-3,
 * unmerged [2]) and 11 (over 4-7, unmerged [5]) set, so adds under them update unmerged_leaves.
 * (The encoded tree ends at node 11; RFC 9420 §12.4.3.3 drops trailing blanks.)
 */
function holeyTree(): TreeState {
  const nodes: (Node | null)[] = new Array<Node | null>(12).fill(null);
  nodes[0] = leafN();
  nodes[1] = parentN([]);
  nodes[3] = parentN([2]);
  nodes[4] = leafN();
  nodes[6] = leafN();
  nodes[10] = leafN();
  nodes[11] = parentN([5]);
  return TreeState.fromRatchetTree(nodes);
}

describe("TreeState.addLeaves (RFC 9420 §12.3: adds in list order)", () => {
  const cases: [string, () => TreeState, number][] = [
    ["a one-leaf tree, growing to 64 leaves", () => TreeState.create(fakeLeaf()), 40],
    ["a tree with holes and unmerged leaves, filling then growing", holeyTree, 9],
    ["a tree with holes, fewer adds than holes", holeyTree, 2],
  ];
  for (const [name, make, count] of cases) {
    it(name, () => {
      const t = make();
      rootTreeHash(cs, t); // a warm hash memo must be invalidated, not reused
      const before = wire(t);
      const leaves = Array.from({ length: count }, () => fakeLeaf());
      const ref = oneByOne(t, leaves);
      const got = t.addLeaves(leaves);
      expect(got.leafIndices).toEqual(ref.indices);
      expect(wire(got.tree)).toBe(wire(ref.tree));
      expect(got.tree.nLeaves).toBe(ref.tree.nLeaves);
      expect(toHex(rootTreeHash(cs, got.tree))).toBe(toHex(rootTreeHash(cs, ref.tree)));
      verifyUnmergedLeaves(got.tree);
      expect(wire(t)).toBe(before); // the input tree is unchanged
    });
  }

  it("puts new leaves into the unmerged_leaves of the parents above them, sorted", () => {
    const r = holeyTree().addLeaves([fakeLeaf(), fakeLeaf(), fakeLeaf()]);
    expect(r.leafIndices).toEqual([1, 4, 6]);
    const p = (n: number) => r.tree.parent(n)!.unmergedLeaves;
    expect(p(1)).toEqual([1]);
    expect(p(3)).toEqual([1, 2]);
    expect(p(11)).toEqual([4, 5, 6]);
  });

  it("an empty batch returns the same tree", () => {
    const t = holeyTree();
    const r = t.addLeaves([]);
    expect(r.tree).toBe(t);
    expect(r.leafIndices).toEqual([]);
  });
});

describe("leftmost blank leaf after other operations (RFC 9420 §12.1.1, §7.7)", () => {
  it("after removes, in any order, the next adds fill the lowest holes first", () => {
    let t = TreeState.create(fakeLeaf()).addLeaves(Array.from({ length: 9 }, () => fakeLeaf())).tree; // leaves 0..9, 16 wide
    t = t.removeLeaf(7).removeLeaf(2).removeLeaf(5);
    expect(t.addLeaves([fakeLeaf(), fakeLeaf(), fakeLeaf(), fakeLeaf()]).leafIndices).toEqual([2, 5, 7, 10]);
    expect(t.addLeaf(fakeLeaf()).leafIndex).toBe(2);
  });

  it("after truncation the tree grows again from its new width", () => {
    let t = TreeState.create(fakeLeaf()).addLeaves(Array.from({ length: 4 }, () => fakeLeaf())).tree; // 0..4 in 8 leaves
    t = t.removeLeaf(4);
    expect(t.nLeaves).toBe(4);
    const r = t.addLeaves([fakeLeaf(), fakeLeaf()]);
    expect(r.leafIndices).toEqual([4, 5]);
    expect(r.tree.nLeaves).toBe(8);
  });

  it("after blanking a leaf and after an external joiner's reservation", () => {
    const t = TreeState.create(fakeLeaf()).addLeaves([fakeLeaf(), fakeLeaf(), fakeLeaf()]).tree;
    expect(t.blank(2 * 1).addLeaf(fakeLeaf()).leafIndex).toBe(1); // blank() takes a node index
    const reserved = reserveJoinerLeaf(t.removeLeaf(1), fakeLeaf());
    expect(reserved.leafIndex).toBe(1);
    expect(reserved.tree.leaf(1)).toBeNull();
    expect(reserved.tree.addLeaf(fakeLeaf()).leafIndex).toBe(1);
  });

  it("in a tree read from the wire, whatever its holes", () => {
    const t = holeyTree();
    expect(t.addLeaf(fakeLeaf()).leafIndex).toBe(1);
    const full = TreeState.fromRatchetTree([leafN(), null, leafN()]);
    expect(full.addLeaf(fakeLeaf()).leafIndex).toBe(2);
  });
});

/** RFC 9420 Appendix C array-based tree math against tree-math.json. */
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import {
  commonAncestor,
  copath,
  directPath,
  isLeaf,
  leafToNode,
  leafWidth,
  left,
  level,
  log2,
  nodeToLeaf,
  nodeWidth,
  parent,
  right,
  root,
  sibling,
  toLeafIndex,
  toNodeIndex,
  type NodeIndex,
} from "../../src/mls/tree/tree-math.js";
import { describeVectors } from "../helpers/vectors.js";

interface TreeMathCase {
  n_leaves: number;
  n_nodes: number;
  root: number;
  left: (number | null)[];
  right: (number | null)[];
  parent: (number | null)[];
  sibling: (number | null)[];
}

const orNull = (f: () => number): number | null => {
  try {
    return f();
  } catch (e) {
    if (e instanceof UsageError) return null;
    throw e;
  }
};

describeVectors<TreeMathCase>("tree-math", (cases) => {
  for (const c of cases) {
    it(`n_leaves ${c.n_leaves}`, () => {
      const n = c.n_leaves;
      expect(nodeWidth(n)).toBe(c.n_nodes);
      expect(leafWidth(c.n_nodes)).toBe(n);
      expect(root(n)).toBe(c.root);
      const got = { left: [] as (number | null)[], right: [] as (number | null)[], parent: [] as (number | null)[], sibling: [] as (number | null)[] };
      for (let i = 0; i < c.n_nodes; i++) {
        const x = toNodeIndex(i);
        got.left.push(orNull(() => left(x)));
        got.right.push(orNull(() => right(x)));
        got.parent.push(orNull(() => parent(x, n)));
        got.sibling.push(orNull(() => sibling(x, n)));
      }
      expect(got.left).toEqual(c.left);
      expect(got.right).toEqual(c.right);
      expect(got.parent).toEqual(c.parent);
      expect(got.sibling).toEqual(c.sibling);
    });
  }
});

/** The RFC's `common_ancestor_semantic`, as an oracle. */
function commonAncestorSemantic(x: NodeIndex, y: NodeIndex, n: number): number {
  const dx = new Set<number>([x, ...directPath(x, n)]);
  let best: number | null = null;
  for (const d of [y, ...directPath(y, n)]) if (dx.has(d) && (best === null || level(d as NodeIndex) < level(best as NodeIndex))) best = d;
  if (best === null) throw new Error("no common ancestor");
  return best;
}

describe("tree math", () => {
  it("log2 and level match the RFC definitions", () => {
    expect([0, 1, 2, 3, 4, 7, 8, 0x7fffffff, 0xffffffff].map(log2)).toEqual([0, 0, 1, 1, 2, 2, 3, 30, 31]);
    expect([0, 1, 3, 5, 7, 11, 15, 0x7fffffff, 0xfffffffe].map((x) => level(x as NodeIndex))).toEqual([0, 1, 2, 1, 3, 2, 4, 31, 0]);
  });

  it("leaf/node conversion", () => {
    expect(leafToNode(toLeafIndex(5))).toBe(10);
    expect(nodeToLeaf(toNodeIndex(10))).toBe(5);
    expect(isLeaf(toNodeIndex(10))).toBe(true);
    expect(() => nodeToLeaf(toNodeIndex(3))).toThrow(UsageError);
    expect(() => toLeafIndex(-1)).toThrow(UsageError);
    expect(() => toLeafIndex(2 ** 31)).toThrow(UsageError);
  });

  it("direct path and copath (RFC 9420 §4.1 example tree of 8 leaves)", () => {
    // Leaf A = node 0: direct path 1, 3, 7; copath 2, 5, 11.
    expect(directPath(toNodeIndex(0), 8)).toEqual([1, 3, 7]);
    expect(copath(toNodeIndex(0), 8)).toEqual([2, 5, 11]);
    expect(directPath(toNodeIndex(12), 8)).toEqual([13, 11, 7]);
    expect(copath(toNodeIndex(12), 8)).toEqual([14, 9, 3]);
    expect(directPath(toNodeIndex(7), 8)).toEqual([]);
    expect(copath(toNodeIndex(7), 8)).toEqual([]);
    expect(() => directPath(toNodeIndex(15), 8)).toThrow(UsageError);
  });

  it("commonAncestor agrees with the semantic definition on a 32-leaf tree", () => {
    const n = 32;
    for (let x = 0; x < nodeWidth(n); x++) {
      for (let y = 0; y < nodeWidth(n); y++) {
        const a = toNodeIndex(x);
        const b = toNodeIndex(y);
        expect(commonAncestor(a, b)).toBe(commonAncestorSemantic(a, b, n));
      }
    }
  });

  it("works at the largest supported tree", () => {
    const n = 2 ** 31;
    const last = toNodeIndex(nodeWidth(n) - 1);
    expect(last).toBe(2 ** 32 - 2);
    expect(root(n)).toBe(2 ** 31 - 1);
    const dp = directPath(last, n);
    expect(dp.length).toBe(31);
    expect(dp[dp.length - 1]).toBe(root(n));
    expect(parent(last, n)).toBe(2 ** 32 - 3);
    expect(sibling(last, n)).toBe(2 ** 32 - 4);
    expect(commonAncestor(toNodeIndex(0), last)).toBe(root(n));
  });

  it("rejects misuse", () => {
    expect(() => left(toNodeIndex(4))).toThrow(UsageError);
    expect(() => right(toNodeIndex(4))).toThrow(UsageError);
    expect(() => parent(toNodeIndex(7), 8)).toThrow(UsageError);
    expect(() => sibling(toNodeIndex(7), 8)).toThrow(UsageError);
    expect(() => root(0)).toThrow(UsageError);
  });
});

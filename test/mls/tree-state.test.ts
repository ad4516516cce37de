/**
 * TreeState unit tests (RFC 9420 §4.1, §7.7, §7.8, §7.9.2): growth and truncation at the
 * power-of-two boundaries, unmerged-leaf bookkeeping, the worked examples of §4.1.1/§4.1.2,
 * immutability, and the cost of incremental tree hashing and parent-hash verification on a
 * 10,000-leaf tree (counted in hash calls through a wrapper of the CipherSuite, not timed).
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { CipherSuite } from "../../src/crypto/cipher-suite.js";
import { nativeProvider } from "../../src/crypto/native/index.js";
import { UsageError, ValidationError } from "../../src/errors.js";
import { credentialTypes, leafNodeSources, nodeTypes } from "../../src/mls/core/protocol.js";
import type { LeafNode } from "../../src/mls/tree/leaf-node.js";
import { computePathParentHashes, verifyParentHashes } from "../../src/mls/tree/parent-hash.js";
import { decodeRatchetTree, encodeRatchetTree, type Node } from "../../src/mls/tree/ratchet-tree.js";
import { rootTreeHash, treeHash } from "../../src/mls/tree/tree-hash.js";
import { TreeState } from "../../src/mls/tree/tree-state.js";
import { verifyUniqueKeys, verifyUnmergedLeaves } from "../../src/mls/tree/tree-validation.js";

/** A distinct 32-byte "public key" per id (tagged at both ends). */
function fakeKey(id: number): Uint8Array {
  const k = new Uint8Array(32);
  const dv = new DataView(k.buffer);
  dv.setUint32(0, id);
  dv.setUint32(28, id ^ 0x5a5a5a5a);
  return k;
}

let nextId = 1;
function fakeLeaf(extra?: Partial<{ parentHash: Uint8Array }>): LeafNode {
  const id = nextId++;
  const common = {
    encryptionKey: fakeKey(id),
    signatureKey: fakeKey(id + 0x40000000),
    credential: { credentialType: credentialTypes.basic, identity: fakeKey(id).subarray(0, 4) },
    capabilities: { versions: [1], cipherSuites: [1], extensions: [], proposals: [], credentials: [1] },
    extensions: [],
    signature: new Uint8Array(64),
  };
  if (extra?.parentHash !== undefined) return { ...common, leafNodeSource: leafNodeSources.commit, parentHash: extra.parentHash };
  return { ...common, leafNodeSource: leafNodeSources.key_package, lifetime: { notBefore: 0n, notAfter: 1n } };
}

function parentNode(unmergedLeaves: number[] = []): Node {
  return { nodeType: nodeTypes.parent, parentNode: { encryptionKey: fakeKey(nextId++), parentHash: new Uint8Array(0), unmergedLeaves } };
}

const leafNode = (): Node => ({ nodeType: nodeTypes.leaf, leafNode: fakeLeaf() });

/** A CipherSuite that counts its hash calls. */
function counting(cs: CipherSuite): { cs: CipherSuite; calls: () => number; reset: () => void } {
  let n = 0;
  const target = cs;
  // An empty proxy target: the suite object itself is frozen, which forbids redefining `hash`.
  const wrapped = new Proxy({} as CipherSuite, {
    get(_, prop) {
      if (prop === "hash") {
        return (d: Uint8Array) => {
          n++;
          return target.hash(d);
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { cs: wrapped, calls: () => n, reset: () => (n = 0) };
}

/** A commit without HPKE: fake keys on the filtered direct path, real parent hashes (RFC 9420 §7.9). */
function fakeCommit(cs: CipherSuite, tree: TreeState, leafIndex: number): TreeState {
  const path = tree.filteredPath(leafIndex);
  const keys = path.directPath.map(() => fakeKey(nextId++));
  const ph = computePathParentHashes(cs, tree, path, keys);
  const nodes = path.directPath.map((node, k) => ({ node, encryptionKey: keys[k]!, parentHash: ph.nodeParentHashes[k]! }));
  return tree.setPath(leafIndex, fakeLeaf({ parentHash: ph.leafParentHash }), nodes);
}

const snapshot = (t: TreeState) => ({ bytes: encodeRatchetTree(t.toRatchetTree()), nodes: t.nodes.slice(), nLeaves: t.nLeaves });

function expectUnchanged(t: TreeState, s: ReturnType<typeof snapshot>): void {
  expect(t.nLeaves).toBe(s.nLeaves);
  expect(t.nodes.length).toBe(s.nodes.length);
  t.nodes.forEach((n, i) => expect(n).toBe(s.nodes[i]));
  expect(encodeRatchetTree(t.toRatchetTree())).toEqual(s.bytes);
}

const cs1 = nativeProvider.suite(1);

describe("growth and truncation (RFC 9420 §7.7, §12.1.3)", () => {
  it("extends at 1→2→4→8 leaves and truncates back down", () => {
    let t = TreeState.create(fakeLeaf());
    expect([t.nLeaves, t.nodeCount]).toEqual([1, 1]);
    const grow: [number, number, number][] = [];
    for (let i = 1; i <= 4; i++) {
      const r = t.addLeaf(fakeLeaf());
      t = r.tree;
      grow.push([r.leafIndex, t.nLeaves, t.nodeCount]);
    }
    expect(grow).toEqual([
      [1, 2, 3],
      [2, 4, 7],
      [3, 4, 7],
      [4, 8, 15],
    ]);
    // Removing leaf 4 empties the right half of the 8-leaf tree.
    t = t.removeLeaf(4);
    expect(t.nLeaves).toBe(4);
    // Leaf 2 still occupies the right half of the 4-leaf tree.
    t = t.removeLeaf(3);
    expect(t.nLeaves).toBe(4);
    t = t.removeLeaf(2);
    expect(t.nLeaves).toBe(2);
    t = t.removeLeaf(1);
    expect([t.nLeaves, t.nodeCount]).toEqual([1, 1]);
    // The last leaf can be blanked but the tree keeps one leaf.
    t = t.removeLeaf(0);
    expect([t.nLeaves, t.leaf(0)]).toEqual([1, null]);
    expect(t.toRatchetTree()).toEqual([]);
  });

  it("removing a middle leaf does not truncate, and the next add fills the leftmost blank", () => {
    let t = TreeState.create(fakeLeaf());
    for (let i = 0; i < 5; i++) t = t.addLeaf(fakeLeaf()).tree;
    expect(t.nLeaves).toBe(8);
    t = t.removeLeaf(1).removeLeaf(3);
    expect(t.nLeaves).toBe(8);
    const r = t.addLeaf(fakeLeaf());
    expect(r.leafIndex).toBe(1);
    expect(r.tree.addLeaf(fakeLeaf()).leafIndex).toBe(3);
    // Removing the rightmost member shrinks to 2^d > highest remaining index.
    const t2 = t.removeLeaf(5).removeLeaf(4);
    expect(t2.nLeaves).toBe(4);
    expect(t2.members().map((m) => m.leafIndex)).toEqual([0, 2]);
  });

  it("rejects removing a blank leaf and out-of-range indices", () => {
    const t = TreeState.create(fakeLeaf()).addLeaf(fakeLeaf()).tree.removeLeaf(1);
    expect(t.nLeaves).toBe(1);
    const t4 = TreeState.fromRatchetTree([leafNode(), null, null, null, leafNode()]);
    expect(() => t4.removeLeaf(1)).toThrow(ValidationError);
    expect(() => t4.leaf(4)).toThrow(UsageError);
    expect(() => t4.updateLeaf(1, fakeLeaf())).toThrow(UsageError);
  });

  it("pads a decoded tree to full width and encodes it back without trailing blanks", () => {
    const raw = [leafNode(), parentNode(), leafNode(), null, leafNode()];
    const t = TreeState.fromRatchetTree(raw);
    expect([t.nLeaves, t.nodeCount]).toEqual([4, 7]);
    expect(t.toRatchetTree()).toEqual(raw);
    expect(() => TreeState.fromRatchetTree([parentNode()])).toThrow(/leaf node/);
    expect(() => TreeState.fromRatchetTree([leafNode(), leafNode()])).toThrow(/parent node/);
  });
});

describe("resolution and filtered direct path (RFC 9420 §4.1.1, §4.1.2)", () => {
  it("Figure 10: resolutions with blanks and an unmerged leaf", () => {
    // A B _ D E F _ H with X = node 3 (unmerged B) and Y = node 9.
    const [A, B, D, E, F, H] = [leafNode(), leafNode(), leafNode(), leafNode(), leafNode(), leafNode()];
    const raw: (Node | null)[] = [A, null, B, parentNode([1]), null, null, D, null, E, parentNode(), F, null, null, null, H];
    const t = TreeState.fromRatchetTree(raw);
    expect(t.resolution(3)).toEqual([3, 2]);
    expect(t.resolution(4)).toEqual([]);
    expect(t.resolution(12)).toEqual([]);
    expect(t.resolution(7)).toEqual([3, 2, 9, 14]);
    expect(t.resolution(7, new Set([1, 7]))).toEqual([3, 9]);
  });

  it("Figure 11 / Table 2: filtered direct paths", () => {
    // A B _ _ E F G _ with T = 1, W = 7 (root), X = 9, Y = 11 non-blank; U, V, Z blank.
    const [A, B, E, F, G] = [leafNode(), leafNode(), leafNode(), leafNode(), leafNode()];
    const raw: (Node | null)[] = [A, parentNode(), B, null, null, null, null, parentNode(), E, parentNode(), F, parentNode(), G];
    const t = TreeState.fromRatchetTree(raw);
    expect(t.filteredDirectPath(0)).toEqual([1, 7]);
    expect(t.filteredDirectPath(1)).toEqual([1, 7]);
    expect(t.filteredDirectPath(4)).toEqual([9, 11, 7]);
    expect(t.filteredDirectPath(5)).toEqual([9, 11, 7]);
    expect(t.filteredDirectPath(6)).toEqual([11, 7]);
    expect(t.filteredCopath(6)).toEqual([9, 3]);
  });
});

describe("unmerged leaves (RFC 9420 §7.7, §7.5)", () => {
  it("adds the new leaf to every non-blank parent on its direct path, sorted", () => {
    let t = TreeState.create(fakeLeaf());
    for (let i = 0; i < 5; i++) t = t.addLeaf(fakeLeaf()).tree;
    t = fakeCommit(cs1, t, 0); // sets nodes 1, 3, 7 (filtered: leaves 0..5 present)
    expect([1, 3, 7].map((n) => t.parent(n) !== null)).toEqual([true, true, true]);
    t = t.removeLeaf(1).removeLeaf(1 + 1); // blank leaves 1 and 2 (and their paths: 1,3,7 and 5,3,7)
    t = fakeCommit(cs1, t, 0); // node 1 is filtered out (leaf 1 blank): sets 3, 7
    t = t.addLeaf(fakeLeaf()).tree; // leaf 1: below 3 and 7
    t = t.addLeaf(fakeLeaf()).tree; // leaf 2: below 3 and 7 (node 5 blank)
    t = t.addLeaf(fakeLeaf()).tree; // leaf 6: below 7 only
    expect(t.parent(3)!.unmergedLeaves).toEqual([1, 2]);
    expect(t.parent(7)!.unmergedLeaves).toEqual([1, 2, 6]);
    expect(t.resolution(3)).toEqual([3, 2, 4]);
    expect(() => verifyUnmergedLeaves(t)).not.toThrow();
    expect(() => verifyParentHashes(cs1, t)).not.toThrow();

    // Removing leaf 1 and re-adding a leaf there inserts it in order again.
    const t2 = t.removeLeaf(6).addLeaf(fakeLeaf()).tree;
    expect(t2.parent(7)).toBeNull(); // leaf 6's removal blanked the root
    // A commit from leaf 0 clears unmerged leaves on its path.
    const t3 = fakeCommit(cs1, t, 0);
    expect(t3.parent(3)!.unmergedLeaves).toEqual([]);
    expect(t3.parent(7)!.unmergedLeaves).toEqual([]);
    expect(() => verifyParentHashes(cs1, t3)).not.toThrow();
    // An update blanks the direct path.
    const t4 = t3.updateLeaf(4, fakeLeaf());
    expect([t4.parent(9), t4.parent(11), t4.parent(7)]).toEqual([null, null, null]);
    expect(t4.parent(3)).not.toBeNull();
  });

  it("rejects unsorted or inconsistent unmerged leaves", () => {
    const t = TreeState.fromRatchetTree([leafNode(), parentNode([1, 0]), leafNode()]);
    expect(() => verifyUnmergedLeaves(t)).toThrow(/sorted/);
    const t2 = TreeState.fromRatchetTree([leafNode(), parentNode([1])]); // leaf 1 is blank
    expect(() => verifyUnmergedLeaves(t2)).toThrow(/unmerged leaf 1/);
    // Leaf 0 unmerged at the root but not at the non-blank node 1 in between.
    const t3 = TreeState.fromRatchetTree([leafNode(), parentNode([]), leafNode(), parentNode([0]), leafNode()]);
    expect(() => verifyUnmergedLeaves(t3)).toThrow(/does not list/);
  });
});

describe("immutability", () => {
  it("every operation leaves the original value as it was", () => {
    let t = TreeState.create(fakeLeaf());
    for (let i = 0; i < 6; i++) t = t.addLeaf(fakeLeaf()).tree;
    t = fakeCommit(cs1, t, 2);
    const h0 = rootTreeHash(cs1, t);
    const s = snapshot(t);
    const results = [
      t.addLeaf(fakeLeaf()).tree,
      t.addLeaf(fakeLeaf()).tree.addLeaf(fakeLeaf()).tree,
      t.updateLeaf(3, fakeLeaf()),
      t.removeLeaf(6),
      t.removeLeaf(2),
      t.blank(3),
      t.blankDirectPath(2),
      fakeCommit(cs1, t, 5),
    ];
    for (const r of results) {
      expect(r).not.toBe(t);
      rootTreeHash(cs1, r); // fills the derived memo, must not touch the original's
    }
    expectUnchanged(t, s);
    expect(rootTreeHash(cs1, t)).toEqual(h0);
    // Derived hashes equal from-scratch hashes (the memo is dropped along the changed path only).
    for (const r of results) {
      const fresh = TreeState.fromRatchetTree(decodeRatchetTree(encodeRatchetTree(r.toRatchetTree())));
      // A truncated-to-blank tree has nothing to encode; every result here has members.
      expect(rootTreeHash(cs1, r)).toEqual(rootTreeHash(cs1, fresh));
    }
  });
});

describe("encryption-key lookup (RFC 9420 §12.4.2 key reuse)", () => {
  it("stays in step with the nodes through every operation", () => {
    let t = TreeState.create(fakeLeaf());
    expect(t.findEncryptionKey([t.leaf(0)!.encryptionKey])).toBe(0); // builds the tag array
    for (let i = 0; i < 6; i++) t = t.addLeaf(fakeLeaf()).tree;
    t = fakeCommit(cs1, t, 2);
    const removedKey = t.leaf(5)!.encryptionKey;
    const replacedKey = t.leaf(3)!.encryptionKey;
    const trees = [t, t.removeLeaf(5), t.updateLeaf(3, fakeLeaf()), t.removeLeaf(6).removeLeaf(5).removeLeaf(4), fakeCommit(cs1, t, 6), t.addLeaf(fakeLeaf()).tree.addLeaf(fakeLeaf()).tree];
    for (const r of trees) {
      r.nodes.forEach((v, n) => {
        if (v !== null) expect(r.findEncryptionKey([fakeKey(0), r.encryptionKey(n)!]), `node ${n}`).toBe(n);
      });
      expect(r.findEncryptionKey([fakeKey(0)])).toBeUndefined();
    }
    expect(trees[1]!.findEncryptionKey([removedKey])).toBeUndefined();
    expect(trees[2]!.findEncryptionKey([replacedKey])).toBeUndefined();
    expect(trees[0]!.findEncryptionKey([replacedKey])).toBe(6);
  });
});

describe("10,000 leaves: cost in hash calls", () => {
  const N = 10_000;
  let tree: TreeState;
  beforeAll(() => {
    // Members 0..N-1 as KeyPackage leaves, then every even leaf commits in order: every parent
    // above a member ends up set by some path, as in a group where everyone has committed.
    const raw: (Node | null)[] = [];
    for (let i = 0; i < N; i++) {
      if (i > 0) raw.push(null);
      raw.push(leafNode());
    }
    tree = TreeState.fromRatchetTree(raw);
    for (let i = 0; i < N; i += 2) tree = fakeCommit(cs1, tree, i);
    // Five late joiners: unmerged leaves at the non-blank parents above them.
    for (let i = 0; i < 5; i++) tree = tree.addLeaf(fakeLeaf()).tree;
  });

  it("the tree has the expected shape", () => {
    expect(tree.nLeaves).toBe(16384);
    expect(tree.members().length).toBe(N + 5);
    expect(tree.parent(tree.root)!.unmergedLeaves).toEqual([N, N + 1, N + 2, N + 3, N + 4]);
  });

  it("a single-path change costs one hash per node on the path (O(log n))", () => {
    const c = counting(cs1);
    rootTreeHash(c.cs, tree);
    const depth = Math.log2(tree.nLeaves); // parents on a direct path
    const ops: [string, (t: TreeState) => TreeState][] = [
      ["updateLeaf", (t) => t.updateLeaf(5001, fakeLeaf())],
      ["removeLeaf", (t) => t.removeLeaf(4321)],
      ["addLeaf", (t) => t.addLeaf(fakeLeaf()).tree],
      ["blank", (t) => t.blank(2 * 777)],
    ];
    for (const [name, op] of ops) {
      const next = op(tree);
      c.reset();
      rootTreeHash(c.cs, next);
      expect(c.calls(), name).toBeLessThanOrEqual(depth + 1);
      expect(c.calls(), name).toBeGreaterThan(0);
    }
    // A commit: the parent hashes of the new path plus the tree hashes of the path.
    c.reset();
    const committed = fakeCommit(c.cs, tree, 6001);
    rootTreeHash(c.cs, committed);
    expect(c.calls()).toBeLessThanOrEqual(2 * (depth + 1));
    // From scratch: one hash per node.
    c.reset();
    rootTreeHash(c.cs, TreeState.fromRatchetTree(tree.toRatchetTree()));
    expect(c.calls()).toBe(tree.nodeCount);
    // The incremental result equals a from-scratch computation.
    expect(treeHash(c.cs, committed, committed.root)).toEqual(rootTreeHash(cs1, TreeState.fromRatchetTree(committed.toRatchetTree())));
  });

  it("parent-hash verification is linear: about one ParentHashInput per non-blank parent", () => {
    const fresh = TreeState.fromRatchetTree(tree.toRatchetTree());
    const c = counting(cs1);
    verifyParentHashes(c.cs, fresh);
    const parents = fresh.nodes.filter((n) => n !== null && n.nodeType === nodeTypes.parent).length;
    expect(parents).toBeGreaterThan(5000);
    // tree hashes of all nodes (memoised) + one parent hash per side with a candidate
    // + a few recomputed original-sibling hashes for the unmerged leaves.
    expect(c.calls()).toBeLessThan(fresh.nodeCount + 2 * parents + 200);
    expect(() => verifyUnmergedLeaves(fresh)).not.toThrow();
    expect(() => verifyUniqueKeys(fresh)).not.toThrow();
  });
});

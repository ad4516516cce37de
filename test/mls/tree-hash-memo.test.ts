/**
 * Member memory at scale: the flat tree-hash memo (RFC 9420 §7.8), decoded LeafNodes that keep
 * their encoding (§7.2), the ratchet tree decoded from one private copy (§12.4.3.3), interned
 * capability lists, and large Welcomes decoded with views (§12.4.3). Every shortcut must give
 * exactly the bytes and hashes of the plain computation.
 */
import { describe, expect, it } from "vitest";
import { nativeProvider } from "../../src/crypto/native/index.js";
import { CodecError, UsageError } from "../../src/errors.js";
import { unsafeTestingAuthenticationService } from "../../src/mls/auth/authentication-service.js";
import type { Capabilities } from "../../src/mls/core/capabilities.js";
import { encodeCapabilities } from "../../src/mls/core/capabilities.js";
import type { Credential } from "../../src/mls/core/credential.js";
import { credentialTypes, leafNodeSources, nodeTypes, proposalTypes, wireFormats } from "../../src/mls/core/protocol.js";
import { decodeMlsMessage, encodeMlsMessage, type MlsMessage } from "../../src/mls/framing/mls-message.js";
import { createCommit, createGroup, groupConfig, joinFromWelcome, mergeStagedCommit, type GroupConfig, type GroupState } from "../../src/mls/group/index.js";
import { decodeKeyPackage, encodeKeyPackage } from "../../src/mls/messages/key-package.js";
import { createKeyPackage, type CreatedKeyPackage } from "../../src/mls/messages/key-package-ops.js";
import { decodedLeafNodeEncoding, decodeLeafNode, encodeLeafNode, encodeLeafNodeTbs, type LeafNode, type LeafNodeContent, leafNodeFields } from "../../src/mls/tree/leaf-node.js";
import { signLeafNode, verifyLeafNodeSignature } from "../../src/mls/tree/leaf-node-ops.js";
import { decodeRatchetTree, encodeRatchetTree, type RatchetTree } from "../../src/mls/tree/ratchet-tree.js";
import { encodeLeafTreeHashInput, encodeParentTreeHashInput, rootTreeHash, treeHash } from "../../src/mls/tree/tree-hash.js";
import { TreeHashMemo } from "../../src/mls/tree/tree-hash-memo.js";
import { left, right, type NodeIndex } from "../../src/mls/tree/tree-math.js";
import { TreeState } from "../../src/mls/tree/tree-state.js";
import { toHex, utf8 } from "../../src/util/bytes.js";

const cs = nativeProvider.suite(1);
const basic = (id: string): Credential => ({ credentialType: credentialTypes.basic, identity: utf8(id) });
const config: GroupConfig = groupConfig({ authenticationService: unsafeTestingAuthenticationService });
const GROUP = { groupId: utf8("room@muc.example.org"), leafIndex: 3 };

/** `bytes` at a non-zero offset of a larger buffer the test owns (and may scribble on). */
function embedded(bytes: Uint8Array): Uint8Array {
  const backing = new Uint8Array(bytes.length + 16);
  backing.set(bytes, 8);
  return backing.subarray(8, 8 + bytes.length);
}

/** RFC 9420 §7.8 computed the plain way: recursion over the whole tree, no memo. */
function plainTreeHash(nodes: RatchetTree, x: number): string {
  const hash = (x: number): Uint8Array => {
    const n = nodes[x] ?? null;
    if (x % 2 === 0) return cs.hash(encodeLeafTreeHashInput(x / 2, n !== null && n.nodeType === nodeTypes.leaf ? n.leafNode : null));
    const p = n !== null && n.nodeType === nodeTypes.parent ? n.parentNode : null;
    return cs.hash(encodeParentTreeHashInput(p, hash(left(x as NodeIndex)), hash(right(x as NodeIndex))));
  };
  return toHex(hash(x));
}

/** A group built by a few operations, plus what the tests look at along the way. */
interface Scenario {
  readonly states: GroupState[];
  readonly final: GroupState;
  readonly smallWelcome: MlsMessage;
  readonly largeWelcome: MlsMessage;
  readonly joiner: CreatedKeyPackage;
  /** Leaf indices of the members whose KeyPackages had no GREASE (identical capabilities). */
  readonly plainLeaves: number[];
}

/** Members added by the large commit: enough for a Welcome over 16 KiB. */
const MANY = 64;
let scenario: Promise<Scenario> | undefined;
function build(): Promise<Scenario> {
  return (scenario ??= (async () => {
    const now = Math.floor(Date.now() / 1000);
    const kp = (name: string, grease = true) => createKeyPackage({ cs, credential: basic(name), grease, now });
    const alice = await kp("alice");
    const states: GroupState[] = [];
    let s = await createGroup({ cs, config, leaf: { keyPackage: alice.keyPackage, privateKeys: alice.privateKeys } });
    states.push(s);
    const add = (kps: readonly CreatedKeyPackage[]) => ({ proposals: kps.map((k) => ({ proposalType: proposalTypes.add, add: { keyPackage: k.keyPackage } })) });

    // A small Welcome: one member.
    const bob = await kp("bob");
    let c = await createCommit(s, add([bob]));
    s = mergeStagedCommit(s, c.staged);
    states.push(s);
    const smallWelcome = c.welcome!;

    // A large Welcome: MANY members in one commit, half of them without GREASE.
    const many = await Promise.all(Array.from({ length: MANY }, (_, i) => kp(`m${i}`, i % 2 === 0)));
    c = await createCommit(s, add(many));
    s = mergeStagedCommit(s, c.staged);
    states.push(s);
    const largeWelcome = c.welcome!;

    // Remove two members, then a self-update with a path (alice's leaf becomes a commit leaf).
    c = await createCommit(s, { proposals: [3, 7].map((removed) => ({ proposalType: proposalTypes.remove, remove: { removed } })) });
    s = mergeStagedCommit(s, c.staged);
    states.push(s);
    c = await createCommit(s, { forcePath: true });
    s = mergeStagedCommit(s, c.staged);
    states.push(s);
    const final = s;
    const plainLeaves = many.filter((_, i) => i % 2 === 1).flatMap((k) => final.tree.findLeafBySignatureKey(k.keyPackage.leafNode.signatureKey) ?? []);
    return { states, final, smallWelcome, largeWelcome, joiner: many[1]!, plainLeaves };
  })());
}

describe("TreeHashMemo", () => {
  const h = (b: number, n = 32): Uint8Array => new Uint8Array(n).fill(b);

  it("set, get, has and drop", () => {
    const m = new TreeHashMemo("SHA-256", 7);
    expect(m.width).toBe(7);
    expect(m.alg).toBe("SHA-256");
    for (let x = 0; x < 7; x++) {
      expect(m.has(x)).toBe(false);
      expect(m.get(x)).toBeUndefined();
    }
    m.set(3, h(3));
    m.set(0, h(0xa0));
    expect(m.has(3)).toBe(true);
    const got = m.get(3)!;
    expect(got.length).toBe(32);
    expect(toHex(got)).toBe(toHex(h(3)));
    expect(toHex(m.get(0)!)).toBe(toHex(h(0xa0)));
    expect(m.has(1)).toBe(false);
    // A view into the memo: nothing was copied per entry.
    expect(got.buffer).toBe(m.get(0)!.buffer);
    expect(m.drop(3)).toBe(true);
    expect(m.drop(3)).toBe(false);
    expect(m.has(3)).toBe(false);
    expect(m.get(3)).toBeUndefined();
    expect(m.has(0)).toBe(true);
    // Set again after a drop.
    m.set(3, h(0x33));
    expect(toHex(m.get(3)!)).toBe(toHex(h(0x33)));
  });

  it("rejects hashes of the wrong length and nodes outside the memo", () => {
    const m = new TreeHashMemo("SHA-256", 3);
    expect(() => m.set(0, new Uint8Array(0))).toThrow(RangeError);
    m.set(0, h(1));
    expect(() => m.set(1, h(1, 48))).toThrow(RangeError);
    expect(() => m.set(1, h(1, 31))).toThrow(RangeError);
    expect(m.has(1)).toBe(false);
    expect(() => m.set(3, h(1))).toThrow(RangeError);
    expect(() => m.set(-1, h(1))).toThrow(RangeError);
    expect(() => new TreeHashMemo("SHA-256", 0).set(0, h(1))).toThrow(RangeError);
    expect(toHex(m.get(0)!)).toBe(toHex(h(1)));
  });

  it("a clone is independent in both directions", () => {
    const m = new TreeHashMemo("SHA-256", 7);
    m.set(1, h(1));
    m.set(2, h(2));
    const c = m.clone();
    expect(c.width).toBe(7);
    expect(c.alg).toBe("SHA-256");
    expect(toHex(c.get(1)!)).toBe(toHex(h(1)));
    c.set(1, h(0x11));
    c.drop(2);
    c.set(5, h(5));
    expect(toHex(m.get(1)!)).toBe(toHex(h(1)));
    expect(m.has(2)).toBe(true);
    expect(m.has(5)).toBe(false);
    m.set(6, h(6));
    m.drop(1);
    expect(c.has(6)).toBe(false);
    expect(toHex(c.get(1)!)).toBe(toHex(h(0x11)));
    // Cloning an empty memo, then filling the clone, leaves the original empty.
    const e = new TreeHashMemo("SHA-256", 3);
    const ec = e.clone();
    ec.set(0, h(9));
    expect(e.has(0)).toBe(false);
  });

  it("resize grows keeping entries (new nodes absent) and shrinks dropping the cut ones", () => {
    const m = new TreeHashMemo("SHA-256", 3);
    m.set(0, h(0));
    m.set(2, h(2));
    m.resize(7);
    expect(m.width).toBe(7);
    expect(toHex(m.get(0)!)).toBe(toHex(h(0)));
    expect(toHex(m.get(2)!)).toBe(toHex(h(2)));
    for (const x of [1, 3, 4, 5, 6]) expect(m.has(x)).toBe(false);
    m.set(6, h(6));
    expect(toHex(m.get(6)!)).toBe(toHex(h(6)));
    m.resize(3);
    expect(m.width).toBe(3);
    expect(m.has(6)).toBe(false);
    expect(() => m.set(6, h(6))).toThrow(RangeError);
    expect(toHex(m.get(2)!)).toBe(toHex(h(2)));
    // Growing again does not resurrect the dropped entry.
    m.resize(7);
    expect(m.has(6)).toBe(false);
    // A memo resized before its first entry still takes one anywhere in range.
    const e = new TreeHashMemo("SHA-256", 1);
    e.resize(7);
    e.set(6, h(7));
    expect(toHex(e.get(6)!)).toBe(toHex(h(7)));
  });
});

describe("tree hash with the memo", () => {
  it("every epoch's root hash equals the GroupContext's, the plain recursion's and a fresh tree's", async () => {
    const { states } = await build();
    for (const s of states) {
      const tree = s.tree;
      const memoised = toHex(rootTreeHash(cs, tree));
      expect(memoised).toBe(toHex(s.groupContext.treeHash));
      expect(memoised).toBe(plainTreeHash(tree.nodes, tree.root));
      const fresh = TreeState.fromRatchetTree(decodeRatchetTree(encodeRatchetTree(tree.toRatchetTree())));
      expect(toHex(rootTreeHash(cs, fresh))).toBe(memoised);
      // Every node, from the memo filled by the root's hash.
      for (let x = 0; x < tree.nodeCount; x++) expect(toHex(treeHash(cs, tree, x))).toBe(plainTreeHash(tree.nodes, x));
    }
  });

  it("trees derived from a tree with a filled memo (add, extend, update, remove, truncate) hash like the plain recursion", async () => {
    const leaves = await Promise.all(Array.from({ length: 6 }, async (_, i) => (await createKeyPackage({ cs, credential: basic(`t${i}`) })).keyPackage.leafNode));
    let t = TreeState.create(leaves[0]!);
    const check = (): void => {
      expect(toHex(rootTreeHash(cs, t))).toBe(plainTreeHash(t.nodes, t.root)); // fills the memo
      expect(toHex(rootTreeHash(cs, t))).toBe(plainTreeHash(t.nodes, t.root)); // served from it
    };
    check();
    for (const leaf of leaves.slice(1, 5)) {
      t = t.addLeaf(leaf).tree; // extends 1 -> 2 -> 4 -> 8 leaves
      check();
    }
    expect(t.nLeaves).toBe(8);
    t = t.updateLeaf(1, leaves[5]!);
    check();
    t = t.removeLeaf(2);
    check();
    t = t.removeLeaf(4); // truncates to 4 leaves
    expect(t.nLeaves).toBe(4);
    check();
    t = t.addLeaves([leaves[2]!, leaves[4]!]).tree;
    check();
  });

  it("treeHash returns a copy: changing it does not change the next result", async () => {
    const { final } = await build();
    const a = treeHash(cs, final.tree);
    const want = toHex(a);
    a.fill(0);
    expect(toHex(treeHash(cs, final.tree))).toBe(want);
    const b = rootTreeHash(cs, final.tree);
    b[0]! ^= 0xff;
    expect(toHex(rootTreeHash(cs, final.tree))).toBe(want);
    expect(toHex(final.groupContext.treeHash)).toBe(want);
  });
});

describe("decoded LeafNodes keep their encoding", () => {
  it("a key_package leaf: encode, decode, re-encode and TBS give the same bytes", async () => {
    const made = await createKeyPackage({ cs, credential: basic("alice@example.org") });
    const leaf = made.keyPackage.leafNode;
    expect(decodedLeafNodeEncoding(leaf)).toBeNull(); // built in code
    const bytes = encodeLeafNode(leaf);
    const input = embedded(bytes);
    const decoded = decodeLeafNode(input);
    const remembered = decodedLeafNodeEncoding(decoded);
    expect(remembered).not.toBeNull();
    expect(toHex(remembered!)).toBe(toHex(bytes));
    expect(toHex(encodeLeafNode(decoded))).toBe(toHex(bytes));
    const fresh: LeafNode = { ...decoded };
    expect(decodedLeafNodeEncoding(fresh)).toBeNull();
    expect(toHex(encodeLeafNodeTbs(decoded))).toBe(toHex(encodeLeafNodeTbs(fresh)));
    expect(toHex(encodeLeafNodeTbs(decoded))).toBe(toHex(encodeLeafNodeTbs(leaf)));
    expect(verifyLeafNodeSignature(cs, decoded)).toBe(true);
    // Decoded without shareInput: the remembered bytes are the leaf's own, not the caller's buffer.
    input.fill(0);
    expect(toHex(encodeLeafNode(decoded))).toBe(toHex(bytes));
  });

  it("a changed copy of a decoded leaf is encoded from its fields, not the remembered bytes", async () => {
    const made = await createKeyPackage({ cs, credential: basic("alice@example.org") });
    const decoded = decodeLeafNode(encodeLeafNode(made.keyPackage.leafNode));
    const signature = new Uint8Array(decoded.signature.length).fill(0x5a);
    const changed: LeafNode = { ...decoded, signature };
    const enc = encodeLeafNode(changed);
    expect(toHex(enc.subarray(enc.length - signature.length))).toBe(toHex(signature));
    expect(toHex(enc)).not.toBe(toHex(encodeLeafNode(decoded)));
    const otherKey: LeafNode = { ...decoded, encryptionKey: new Uint8Array(32).fill(1) };
    expect(toHex(encodeLeafNodeTbs(otherKey))).not.toBe(toHex(encodeLeafNodeTbs(decoded)));
  });

  it("the leaf of a decoded KeyPackage remembers its encoding too", async () => {
    const made = await createKeyPackage({ cs, credential: basic("alice@example.org") });
    const kp = decodeKeyPackage(encodeKeyPackage(made.keyPackage));
    expect(toHex(decodedLeafNodeEncoding(kp.leafNode)!)).toBe(toHex(encodeLeafNode(made.keyPackage.leafNode)));
  });

  it("an update leaf: the decoded TBS appends the group context like a fresh copy's", async () => {
    const made = await createKeyPackage({ cs, credential: basic("alice@example.org") });
    const { signature: _s, lifetime: _l, leafNodeSource: _src, ...common } = made.keyPackage.leafNode as LeafNode & { lifetime?: unknown };
    const content = { ...common, leafNodeSource: leafNodeSources.update } as LeafNodeContent;
    const leaf = signLeafNode(cs, made.privateKeys.signaturePrivateKey, content, GROUP);
    const bytes = encodeLeafNode(leaf);
    const decoded = decodeLeafNode(bytes);
    expect(decoded.leafNodeSource).toBe(leafNodeSources.update);
    expect(toHex(decodedLeafNodeEncoding(decoded)!)).toBe(toHex(bytes));
    expect(toHex(encodeLeafNode(decoded))).toBe(toHex(bytes));
    const tbs = encodeLeafNodeTbs(decoded, GROUP);
    expect(toHex(tbs)).toBe(toHex(encodeLeafNodeTbs({ ...decoded }, GROUP)));
    expect(toHex(tbs)).toBe(toHex(encodeLeafNodeTbs(leaf, GROUP)));
    const other = { ...GROUP, leafIndex: 4 };
    expect(toHex(encodeLeafNodeTbs(decoded, other))).toBe(toHex(encodeLeafNodeTbs({ ...decoded }, other)));
    expect(toHex(encodeLeafNodeTbs(decoded, other))).not.toBe(toHex(tbs));
    expect(() => encodeLeafNodeTbs(decoded)).toThrow(UsageError);
    expect(verifyLeafNodeSignature(cs, decoded, GROUP)).toBe(true);
    expect(verifyLeafNodeSignature(cs, decoded, other)).toBe(false);
  });

  it("a commit leaf from a real tree: TBS with {groupId, leafIndex} equals a fresh copy's", async () => {
    const { final } = await build();
    const decodedTree = decodeRatchetTree(encodeRatchetTree(final.tree.toRatchetTree()));
    const i = final.ownLeafIndex;
    const node = decodedTree[2 * i]!;
    if (node.nodeType !== nodeTypes.leaf) throw new Error("expected a leaf");
    const leaf = node.leafNode;
    expect(leaf.leafNodeSource).toBe(leafNodeSources.commit);
    const group = { groupId: final.groupContext.groupId, leafIndex: i };
    expect(toHex(decodedLeafNodeEncoding(leaf)!)).toBe(toHex(encodeLeafNode(leafNodeFields(leaf))));
    expect(toHex(encodeLeafNodeTbs(leaf, group))).toBe(toHex(encodeLeafNodeTbs(leafNodeFields(leaf), group)));
    expect(toHex(encodeLeafNodeTbs(leaf, group))).toBe(toHex(encodeLeafNodeTbs(final.tree.leaf(i)!, group)));
    expect(verifyLeafNodeSignature(cs, leaf, group)).toBe(true);
  });
});

describe("decodeRatchetTree", () => {
  it("re-encodes to the same bytes and decodes from a private copy", async () => {
    const { final } = await build();
    const encoded = encodeRatchetTree(final.tree.toRatchetTree());
    const input = embedded(encoded);
    const decoded = decodeRatchetTree(input);
    expect(toHex(encodeRatchetTree(decoded))).toBe(toHex(encoded));
    const leaves = decoded.filter((n) => n !== null && n.nodeType === nodeTypes.leaf).map((n) => (n as { leafNode: LeafNode }).leafNode);
    expect(leaves.length).toBe(final.tree.members().length);
    // Views of one private copy, not of the caller's buffer.
    const buffer = leaves[0]!.encryptionKey.buffer;
    expect(buffer).not.toBe(input.buffer);
    expect(buffer.byteLength).toBe(encoded.length);
    for (const l of leaves) {
      expect(l.encryptionKey.buffer).toBe(buffer);
      expect(l.signature.buffer).toBe(buffer);
      expect(decodedLeafNodeEncoding(l)!.buffer).toBe(buffer);
    }
    // The caller may reuse its buffer: the decoded tree does not change.
    input.fill(0xa5);
    expect(toHex(encodeRatchetTree(decoded))).toBe(toHex(encoded));
    expect(toHex(rootTreeHash(cs, TreeState.fromRatchetTree(decoded)))).toBe(toHex(final.groupContext.treeHash));
  });

  it("byte-identical capabilities and lists of different leaves are the same frozen object", async () => {
    const { final, plainLeaves } = await build();
    const decoded = TreeState.fromRatchetTree(decodeRatchetTree(encodeRatchetTree(final.tree.toRatchetTree())));
    expect(plainLeaves.length).toBeGreaterThanOrEqual(MANY / 2 - 2); // two members were removed
    const plain = plainLeaves.map((i) => decoded.leaf(i)!.capabilities);
    for (const c of plain) {
      expect(c).toBe(plain[0]);
      expect(Object.isFrozen(c)).toBe(true);
    }
    // Every list, GREASE'd or not: equal bytes -> one object.
    const byBytes = new Map<string, readonly number[]>();
    let shared = 0;
    for (const m of decoded.members()) {
      const caps: Capabilities = m.leafNode.capabilities;
      for (const list of [caps.versions, caps.cipherSuites, caps.extensions, caps.proposals, caps.credentials]) {
        const key = toHex(encodeCapabilities({ versions: list, cipherSuites: [], extensions: [], proposals: [], credentials: [] }));
        const seen = byBytes.get(key);
        if (seen === undefined) byBytes.set(key, list);
        else {
          expect(list).toBe(seen);
          shared++;
        }
        expect(Object.isFrozen(list)).toBe(true);
      }
    }
    expect(shared).toBeGreaterThan(100);
    // Different lists stay different.
    const versions = plain[0]!.versions;
    const credentials = plain[0]!.credentials;
    expect(credentials).not.toBe(versions);
  });

  it("still rejects malformed input with a CodecError", async () => {
    const { final } = await build();
    const encoded = encodeRatchetTree(final.tree.toRatchetTree());
    expect(() => decodeRatchetTree(encoded.subarray(0, encoded.length - 1))).toThrow(CodecError);
    const bad = encoded.slice();
    // First node: optional present (1), then node_type 7.
    const start = bad[0]! >> 6 === 2 ? 4 : bad[0]! >> 6 === 1 ? 2 : 1;
    expect(bad[start]).toBe(1);
    bad[start + 1] = 7;
    let err: unknown;
    try {
      decodeRatchetTree(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CodecError);
    expect((err as CodecError).code).toBe("codec.bad_enum");
    expect((err as CodecError).field).toBe("RatchetTree.ratchet_tree[0].node_type");
  });
});

describe("decodeMlsMessage of Welcomes", () => {
  it("a large Welcome (>= 16 KiB) is decoded from one private copy and re-encodes identically", async () => {
    const { largeWelcome, joiner } = await build();
    const bytes = encodeMlsMessage(largeWelcome);
    expect(bytes.length).toBeGreaterThanOrEqual(16 * 1024);
    const input = embedded(bytes);
    const m = decodeMlsMessage(input);
    if (m.wireFormat !== wireFormats.mls_welcome) throw new Error("expected a Welcome");
    expect(m.welcome.secrets.length).toBe(MANY);
    const buffer = m.welcome.encryptedGroupInfo.buffer;
    expect(buffer).not.toBe(input.buffer);
    expect(buffer.byteLength).toBe(bytes.length);
    for (const s of m.welcome.secrets) expect(s.newMember.buffer).toBe(buffer);
    input.fill(0);
    expect(toHex(encodeMlsMessage(m))).toBe(toHex(bytes));
    // And it still works as a Welcome after the caller's buffer changed.
    const joined = await joinFromWelcome({ cs, config, welcome: m, keyPackage: joiner.keyPackage, keyPackagePrivateKeys: joiner.privateKeys });
    expect(joined.state.tree.members().length).toBe(MANY + 2);
  });

  it("a small Welcome is copied field by field and re-encodes identically", async () => {
    const { smallWelcome } = await build();
    const bytes = encodeMlsMessage(smallWelcome);
    expect(bytes.length).toBeLessThan(16 * 1024);
    const input = embedded(bytes);
    const m = decodeMlsMessage(input);
    if (m.wireFormat !== wireFormats.mls_welcome) throw new Error("expected a Welcome");
    expect(m.welcome.encryptedGroupInfo.buffer).not.toBe(input.buffer);
    expect(m.welcome.secrets[0]!.newMember.buffer).not.toBe(m.welcome.encryptedGroupInfo.buffer);
    input.fill(0);
    expect(toHex(encodeMlsMessage(m))).toBe(toHex(bytes));
  });

  it("a large message that is not a Welcome is copied field by field", async () => {
    const made = await createKeyPackage({ cs, credential: basic("big"), leafExtensions: [{ extensionType: 0xf0a0, extensionData: new Uint8Array(20_000).fill(7) }] });
    const bytes = encodeMlsMessage({ version: 1, wireFormat: wireFormats.mls_key_package, keyPackage: made.keyPackage });
    expect(bytes.length).toBeGreaterThanOrEqual(16 * 1024);
    const input = embedded(bytes);
    const m = decodeMlsMessage(input);
    if (m.wireFormat !== wireFormats.mls_key_package) throw new Error("expected a KeyPackage");
    const data = m.keyPackage.leafNode.extensions[0]!.extensionData;
    expect(data.buffer).not.toBe(input.buffer);
    expect(data.buffer).not.toBe(m.keyPackage.signature.buffer);
    expect(m.keyPackage.initKey.buffer).not.toBe(m.keyPackage.signature.buffer);
    input.fill(0);
    expect(toHex(encodeMlsMessage(m))).toBe(toHex(bytes));
  });
});

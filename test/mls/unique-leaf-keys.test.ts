/**
 * RFC 9420 §7.3 "Verify that the following fields are unique among the members of the group:
 * signature_key, encryption_key", as checkUniqueLeafKeys (group-facts.ts) enforces it:
 *
 * - directly, on trees of fake leaves (no crypto): changed leaves against the rest and against
 *   each other, blank leaves, an empty change list, a 2,000-leaf tree;
 * - through the group API (native provider, suite 1, PublicMessage handshakes, one case also as
 *   PrivateMessage): the committer
 *   refuses to create such a Commit, and a receiving member (and the Delivery Service observer)
 *   rejects one crafted without the sender-side checks, with its state left usable.
 *
 * The crafted Commits are built from the same low-level steps as createCommit (apply proposals,
 * UpdatePath, sign, key schedule, confirmation tag, membership tag) minus validation; a control
 * test shows a crafted Commit without a duplicate is accepted, so each rejection is the duplicate.
 */
import { describe, expect, it } from "vitest";
import type { CipherSuite, KeyPair } from "../../src/crypto/cipher-suite.js";
import { nativeProvider } from "../../src/crypto/native/index.js";
import { ValidationError } from "../../src/errors.js";
import { unsafeTestingAuthenticationService } from "../../src/mls/auth/authentication-service.js";
import { contentTypes, credentialTypes, leafNodeSources, proposalOrRefTypes, proposalTypes, senderTypes, wireFormats } from "../../src/mls/core/protocol.js";
import { decodeMlsMessage, encodeMlsMessage, type MlsMessage } from "../../src/mls/framing/mls-message.js";
import type { Sender } from "../../src/mls/framing/sender.js";
import {
  applyProposals,
  checkUniqueLeafKeys,
  createCommit,
  createGroup,
  deriveNextEpoch,
  groupConfig,
  joinFromWelcome,
  mergeStagedCommit,
  processMessage,
  provisionalGroupContext,
  PublicGroup,
  type GroupConfig,
  type GroupState,
  type PendingProposal,
  type ResolvedProposal,
} from "../../src/mls/group/index.js";
import { frameContent, protectContent, signContent, wireFormatFor } from "../../src/mls/group/outbound.js";
import { createKeyPackage, signKeyPackage, type CreatedKeyPackage } from "../../src/mls/messages/key-package-ops.js";
import type { KeyPackage } from "../../src/mls/messages/key-package.js";
import type { Proposal, ProposalOrRef } from "../../src/mls/messages/proposal.js";
import { encodeGroupContext } from "../../src/mls/schedule/group-context.js";
import { zeroSecret } from "../../src/mls/schedule/key-schedule.js";
import { signLeafNode } from "../../src/mls/tree/leaf-node-ops.js";
import type { LeafNode } from "../../src/mls/tree/leaf-node.js";
import { TreeState } from "../../src/mls/tree/tree-state.js";
import { encryptPath, preparePath, type LeafTemplate } from "../../src/mls/tree/treekem.js";
import type { UpdatePath } from "../../src/mls/tree/update-path.js";
import { toHex, utf8 } from "../../src/util/bytes.js";
import { fakeKey, fakeLeaf } from "../helpers/fake-leaves.js";

// ---------------------------------------------------------------------------------------------
// Direct tests on fake trees
// ---------------------------------------------------------------------------------------------

/** A tree whose leaf i is `leaves[i]`. */
function treeOf(leaves: readonly LeafNode[]): TreeState {
  const t = TreeState.create(leaves[0]!).addLeaves(leaves.slice(1));
  expect(t.leafIndices).toEqual(leaves.slice(1).map((_, i) => i + 1));
  return t.tree;
}

/** The error checkUniqueLeafKeys throws (fails the test when it does not throw). */
function thrown(tree: TreeState, changed: readonly number[]): ValidationError {
  try {
    checkUniqueLeafKeys(tree, changed);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return e as ValidationError;
  }
  throw new Error(`checkUniqueLeafKeys(${JSON.stringify(changed)}) did not throw`);
}

/** Expects a duplicate of `field` reported between exactly leaves `a` and `b` (in either order). */
function expectDuplicate(tree: TreeState, changed: readonly number[], field: "signature_key" | "encryption_key", a: number, b: number): void {
  const e = thrown(tree, changed);
  expect(e.code).toBe(`valid.duplicate_${field}`);
  expect(e.rfc).toBe("RFC 9420 §7.3");
  const m = /leaves (\d+) and (\d+) have the same (\w+)/.exec(e.message);
  expect(m, e.message).not.toBeNull();
  expect([Number(m![1]), Number(m![2])].sort((x, y) => x - y)).toEqual([a, b].sort((x, y) => x - y));
  expect(m![3]).toBe(field);
  // RFC 9420 §9.2 spirit: no key bytes in messages.
  expect(e.message).not.toContain(toHex(tree.leaf(a)![field === "signature_key" ? "signatureKey" : "encryptionKey"]));
}

describe("checkUniqueLeafKeys on a tree (RFC 9420 §7.3)", () => {
  it("accepts changed leaves whose keys are unique among all members", () => {
    const tree = treeOf(Array.from({ length: 6 }, () => fakeLeaf()));
    expect(() => checkUniqueLeafKeys(tree, [2])).not.toThrow();
    expect(() => checkUniqueLeafKeys(tree, [0, 3, 5])).not.toThrow();
    expect(() => checkUniqueLeafKeys(tree, [0, 1, 2, 3, 4, 5])).not.toThrow();
  });

  it("rejects a changed leaf with the signature_key of an unchanged member, naming both leaves", () => {
    const leaves = Array.from({ length: 5 }, () => fakeLeaf());
    leaves[3] = fakeLeaf({ sig: leaves[1]!.signatureKey.slice() });
    const tree = treeOf(leaves);
    expectDuplicate(tree, [3], "signature_key", 1, 3);
    // The other way round: leaf 1 changed, leaf 3 unchanged.
    expectDuplicate(tree, [1], "signature_key", 1, 3);
    // Other changed leaves around it do not hide it.
    expectDuplicate(tree, [0, 3, 4], "signature_key", 1, 3);
  });

  it("rejects a changed leaf with the encryption_key of an unchanged member, naming both leaves", () => {
    const leaves = Array.from({ length: 5 }, () => fakeLeaf());
    leaves[4] = fakeLeaf({ enc: leaves[0]!.encryptionKey.slice() });
    const tree = treeOf(leaves);
    expectDuplicate(tree, [4], "encryption_key", 0, 4);
    expectDuplicate(tree, [0], "encryption_key", 0, 4);
    expectDuplicate(tree, [2, 4], "encryption_key", 0, 4);
  });

  it("rejects two changed leaves sharing a key", () => {
    const leaves = Array.from({ length: 6 }, () => fakeLeaf());
    leaves[5] = fakeLeaf({ sig: leaves[2]!.signatureKey.slice() });
    const sigTree = treeOf(leaves);
    expectDuplicate(sigTree, [2, 5], "signature_key", 2, 5);
    expectDuplicate(sigTree, [5, 1, 2], "signature_key", 2, 5);

    const leaves2 = Array.from({ length: 6 }, () => fakeLeaf());
    leaves2[4] = fakeLeaf({ enc: leaves2[1]!.encryptionKey.slice() });
    expectDuplicate(treeOf(leaves2), [1, 4], "encryption_key", 1, 4);
  });

  it("does not compare a changed leaf with itself (also when listed twice)", () => {
    const tree = treeOf(Array.from({ length: 4 }, () => fakeLeaf()));
    expect(() => checkUniqueLeafKeys(tree, [2])).not.toThrow();
    expect(() => checkUniqueLeafKeys(tree, [2, 2])).not.toThrow();
    expect(() => checkUniqueLeafKeys(tree, [1, 3, 1, 3])).not.toThrow();
    // A leaf whose signature and encryption keys are the same bytes only collides with itself.
    const k = fakeKey(0x7777);
    const t2 = treeOf([fakeLeaf(), fakeLeaf({ sig: k, enc: k }), fakeLeaf()]);
    expect(() => checkUniqueLeafKeys(t2, [1])).not.toThrow();
  });

  it("skips blank leaves: a blank changed index, and blanks in the scan before a duplicate", () => {
    const leaves = Array.from({ length: 8 }, () => fakeLeaf());
    leaves[7] = fakeLeaf({ sig: leaves[0]!.signatureKey.slice() });
    let tree = treeOf(leaves);
    tree = tree.removeLeaf(2).removeLeaf(5);
    expect(tree.nLeaves).toBe(8);
    expect(tree.leaf(2)).toBeNull();
    expect(tree.leaf(5)).toBeNull();
    expect(() => checkUniqueLeafKeys(tree, [2])).not.toThrow();
    expect(() => checkUniqueLeafKeys(tree, [2, 5, 3])).not.toThrow();
    // The scan goes past the blank leaves to find the duplicate at the end, from either side.
    expectDuplicate(tree, [0], "signature_key", 0, 7);
    expectDuplicate(tree, [2, 7], "signature_key", 0, 7);
  });

  it("with no changed leaf, checks nothing (duplicates among unchanged members are not its concern)", () => {
    const leaves = Array.from({ length: 4 }, () => fakeLeaf());
    leaves[2] = fakeLeaf({ sig: leaves[1]!.signatureKey.slice(), enc: leaves[1]!.encryptionKey.slice() });
    const tree = treeOf(leaves);
    expect(() => checkUniqueLeafKeys(tree, [])).not.toThrow();
    expect(() => checkUniqueLeafKeys(tree, [0])).not.toThrow();
    expect(() => checkUniqueLeafKeys(tree, [3])).not.toThrow();
    expectDuplicate(tree, [2], "signature_key", 1, 2);
  });

  it("compares bytes, not the 4-byte prefilter tag: different keys with equal tails are distinct", () => {
    const tail = 0xdeadbeef;
    const tree = treeOf([
      fakeLeaf({ sig: fakeKey(0x1001, tail), enc: fakeKey(0x2001, tail) }),
      fakeLeaf({ sig: fakeKey(0x1002, tail), enc: fakeKey(0x2002, tail) }),
      fakeLeaf({ sig: fakeKey(0x1003, tail), enc: fakeKey(0x2003, tail) }),
    ]);
    expect(() => checkUniqueLeafKeys(tree, [0, 1, 2])).not.toThrow();
    expect(() => checkUniqueLeafKeys(tree, [1])).not.toThrow();
    const dup = treeOf([...[0, 1, 2].map((i) => tree.leaf(i)!), fakeLeaf({ enc: fakeKey(0x2002, tail) })]);
    expectDuplicate(dup, [3], "encryption_key", 1, 3);
  });

  it("finds a duplicate at the last leaf of 2,000 (blank tail) and 2,048 (full) leaves", () => {
    for (const n of [2000, 2048]) {
      const leaves = Array.from({ length: n }, () => fakeLeaf());
      const unique = treeOf(leaves);
      expect(() => checkUniqueLeafKeys(unique, [0])).not.toThrow();
      expect(() => checkUniqueLeafKeys(unique, [n - 1])).not.toThrow();

      const sigDup = treeOf([...leaves.slice(0, n - 1), fakeLeaf({ sig: leaves[0]!.signatureKey.slice() })]);
      expect(sigDup.nLeaves).toBe(2048);
      expectDuplicate(sigDup, [0], "signature_key", 0, n - 1);
      expectDuplicate(sigDup, [n - 1], "signature_key", 0, n - 1);

      const encDup = treeOf([...leaves.slice(0, n - 1), fakeLeaf({ enc: leaves[1000]!.encryptionKey.slice() })]);
      expectDuplicate(encDup, [1000], "encryption_key", 1000, n - 1);
      expectDuplicate(encDup, [n - 1], "encryption_key", 1000, n - 1);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Through the group API
// ---------------------------------------------------------------------------------------------

const wire = (m: MlsMessage): MlsMessage => decodeMlsMessage(encodeMlsMessage(m));

interface Setup {
  cs: CipherSuite;
  config: GroupConfig;
  alice: GroupState;
  bob: GroupState;
  carol: GroupState;
  /** The Delivery Service's view of the group. */
  ds: PublicGroup;
  /** Bob's leaf encryption key pair (copied before joining). */
  bobEnc: KeyPair;
}

async function keyPackage(cs: CipherSuite, name: string): Promise<CreatedKeyPackage> {
  return createKeyPackage({ cs, credential: { credentialType: credentialTypes.basic, identity: utf8(name) } });
}

/** Alice creates the group and adds Bob and Carol (leaves 0, 1, 2). */
async function threeMembers(handshakeWireFormat: "public" | "private" = "public"): Promise<Setup> {
  const cs = nativeProvider.suite(1);
  const config = groupConfig({ authenticationService: unsafeTestingAuthenticationService, handshakeWireFormat });
  const [a, b, c] = await Promise.all([keyPackage(cs, "alice"), keyPackage(cs, "bob"), keyPackage(cs, "carol")]);
  const bobEnc = { publicKey: b.keyPackage.leafNode.encryptionKey.slice(), privateKey: b.privateKeys.encryptionPrivateKey.slice() };
  let alice = await createGroup({ cs, config, leaf: { keyPackage: a.keyPackage, privateKeys: a.privateKeys } });
  const created = await createCommit(alice, { proposals: [b, c].map((k) => ({ proposalType: proposalTypes.add, add: { keyPackage: k.keyPackage } })) });
  alice = mergeStagedCommit(alice, created.staged);
  const join = async (k: CreatedKeyPackage) =>
    (await joinFromWelcome({ cs, config, welcome: wire(created.welcome!), keyPackage: k.keyPackage, keyPackagePrivateKeys: k.privateKeys })).state;
  const bob = await join(b);
  const carol = await join(c);
  expect([alice.ownLeafIndex, bob.ownLeafIndex, carol.ownLeafIndex]).toEqual([0, 1, 2]);
  const ds = await PublicGroup.fromGroupInfo(cs, wire(created.groupInfo!), { config });
  return { cs, config, alice, bob, carol, ds, bobEnc };
}

/** A copy of `kp` (a fresh client's KeyPackage) whose leaf uses `encryptionKey`, re-signed. */
function withLeafEncryptionKey(cs: CipherSuite, kp: CreatedKeyPackage, encryptionKey: Uint8Array): KeyPackage {
  const { signature: _leafSig, ...leafContent } = kp.keyPackage.leafNode;
  const leafNode = signLeafNode(cs, kp.privateKeys.signaturePrivateKey, { ...leafContent, encryptionKey });
  const { signature: _kpSig, ...tbs } = kp.keyPackage;
  return signKeyPackage(cs, kp.privateKeys.signaturePrivateKey, { ...tbs, leafNode });
}

interface CraftOptions {
  readonly byValue?: readonly Proposal[];
  readonly byReference?: readonly PendingProposal[];
  /** Include an UpdatePath; the committer's new leaf may take other keys than createCommit would allow. */
  readonly path?: { readonly signatureKey?: Uint8Array; readonly signaturePrivateKey?: Uint8Array; readonly leafKeyPair?: KeyPair };
}

/**
 * A Commit from `state`'s member made like createCommit (RFC 9420 §12.4.1) but without any
 * validation, so a receiver's checks can be tested against content an honest sender refuses.
 */
async function craftCommit(state: GroupState, o: CraftOptions): Promise<MlsMessage> {
  const { cs } = state;
  const own: Sender = { senderType: senderTypes.member, leafIndex: state.ownLeafIndex };
  const resolved: ResolvedProposal[] = [
    ...(o.byReference ?? []).map((p) => ({ proposal: p.proposal, sender: p.sender, ref: p.ref })),
    ...(o.byValue ?? []).map((proposal) => ({ proposal, sender: own, ref: null })),
  ];
  const applied = applyProposals(state.tree, state.groupContext.extensions, resolved);
  let tree = applied.tree;
  let path: UpdatePath | null = null;
  let commitSecret = zeroSecret(cs);
  if (o.path !== undefined) {
    const cur = state.ownLeafNode;
    const leaf: LeafTemplate = { signatureKey: o.path.signatureKey ?? cur.signatureKey, credential: cur.credential, capabilities: cur.capabilities, extensions: cur.extensions };
    const prepared = await preparePath({
      cs,
      tree: applied.tree,
      leafIndex: state.ownLeafIndex,
      leaf,
      sign: { signaturePrivateKey: o.path.signaturePrivateKey ?? state.signaturePrivateKey, groupId: state.groupId },
      excluded: applied.added.map((a) => a.leafIndex),
      leafKeyPair: o.path.leafKeyPair,
    });
    tree = prepared.tree;
    path = await encryptPath(cs, prepared, encodeGroupContext(provisionalGroupContext(cs, state.groupContext, tree, applied.extensions)));
    commitSecret = prepared.commitSecret;
  }
  const provisional = provisionalGroupContext(cs, state.groupContext, tree, applied.extensions);
  const proposals: ProposalOrRef[] = resolved.map((r) =>
    r.ref === null ? { type: proposalOrRefTypes.proposal, proposal: r.proposal } : { type: proposalOrRefTypes.reference, reference: r.ref },
  );
  const content = frameContent(state, { contentType: contentTypes.commit, commit: { proposals, path } });
  const ac = signContent(state, content, (signature) =>
    deriveNextEpoch({
      cs,
      interimTranscriptHash: state.interimTranscriptHash,
      provisional,
      commit: { wireFormat: wireFormatFor(state, contentTypes.commit), content, signature },
      initSecret: state.epochSecrets.initSecret,
      commitSecret,
      pskSecret: zeroSecret(cs),
    }).confirmationTag,
  );
  return wire(protectContent(state, ac));
}

/** Carol's Update proposal whose new leaf carries `signatureKey`, signed with its private key. */
async function craftUpdate(s: Setup, signaturePrivateKey: Uint8Array): Promise<MlsMessage> {
  const { cs, carol } = s;
  const cur = carol.ownLeafNode;
  const leafNode = signLeafNode(
    cs,
    signaturePrivateKey,
    {
      encryptionKey: (await cs.hpkeKeyPair()).publicKey,
      signatureKey: cs.signaturePublicKey(signaturePrivateKey),
      credential: cur.credential,
      capabilities: cur.capabilities,
      leafNodeSource: leafNodeSources.update,
      extensions: cur.extensions,
    },
    { groupId: carol.groupId, leafIndex: carol.ownLeafIndex },
  );
  const content = frameContent(carol, { contentType: contentTypes.proposal, proposal: { proposalType: proposalTypes.update, update: { leafNode } } });
  return wire(protectContent(carol, signContent(carol, content)));
}

async function rejects(p: Promise<unknown>, code: string): Promise<ValidationError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e, `expected ${code}`).toBeInstanceOf(ValidationError);
  expect((e as ValidationError).code).toBe(code);
  return e as ValidationError;
}

/** Bob (and Carol) still follow Alice: her next honest Commit is processed and all agree on the epoch. */
async function stillInSync(s: Setup, alice: GroupState = s.alice): Promise<void> {
  const epoch = s.bob.epoch;
  expect(s.bob.epoch).toBe(alice.epoch);
  const created = await createCommit(alice, { includePending: false, forcePath: true });
  const a = mergeStagedCommit(alice, created.staged);
  for (const member of [s.bob, s.carol]) {
    const r = await processMessage(member, encodeMlsMessage(created.commitMessage));
    if (r.kind !== "commit") throw new Error(`expected a commit, got ${r.kind}`);
    const next = mergeStagedCommit(member, r.staged);
    expect(next.epoch).toBe(epoch + 1n);
    expect(toHex(next.epochAuthenticator())).toBe(toHex(a.epochAuthenticator()));
  }
  if (s.config.handshakeWireFormat === "public") {
    const ds = await s.ds.processCommit(created.commitMessage);
    expect(toHex(ds.group.treeHash)).toBe(toHex(a.groupContext.treeHash));
  }
}

describe("a Commit bringing a duplicate leaf key (native provider, suite 1)", () => {
  it("control: crafted Commits without a duplicate are accepted by members and the DS", async () => {
    const s = await threeMembers();
    const dave = await keyPackage(s.cs, "dave");
    const msg = await craftCommit(s.alice, { byValue: [{ proposalType: proposalTypes.add, add: { keyPackage: dave.keyPackage } }], path: {} });
    const r = await processMessage(s.bob, encodeMlsMessage(msg));
    if (r.kind !== "commit") throw new Error(`expected a commit, got ${r.kind}`);
    expect(r.staged.changes.added.map((x) => x.identity)).toEqual(["dave"]);
    const rc = await processMessage(s.carol, encodeMlsMessage(msg));
    if (rc.kind !== "commit") throw new Error(`expected a commit, got ${rc.kind}`);
    expect(toHex(mergeStagedCommit(s.bob, r.staged).epochAuthenticator())).toBe(toHex(mergeStagedCommit(s.carol, rc.staged).epochAuthenticator()));
    await expect(s.ds.validateCommit(msg)).resolves.toMatchObject({ newEpoch: s.alice.epoch + 1n });
  });

  it("an Add of a KeyPackage reusing Bob's signature_key: RFC 9420 §12.2 (same client) rejects it first, sender and receiver", async () => {
    const s = await threeMembers();
    const mallory = await createKeyPackage({ cs: s.cs, credential: { credentialType: credentialTypes.basic, identity: utf8("mallory") }, signaturePrivateKey: s.bob.signaturePrivateKey });
    expect(toHex(mallory.keyPackage.leafNode.signatureKey)).toBe(toHex(s.bob.ownLeafNode.signatureKey));
    const add: Proposal = { proposalType: proposalTypes.add, add: { keyPackage: mallory.keyPackage } };
    await rejects(createCommit(s.alice, { proposals: [add] }), "valid.add_existing_member");
    const msg = await craftCommit(s.alice, { byValue: [add] });
    await rejects(processMessage(s.bob, encodeMlsMessage(msg)), "valid.add_existing_member");
    await rejects(s.ds.validateCommit(msg), "valid.add_existing_member");
    await stillInSync(s);
  });

  it("an Add of a KeyPackage reusing Bob's encryption_key: createCommit refuses, Bob, Carol and the DS reject the crafted Commit", async () => {
    const s = await threeMembers();
    const mallory = await keyPackage(s.cs, "mallory");
    const kp = withLeafEncryptionKey(s.cs, mallory, s.bob.ownLeafNode.encryptionKey);
    const add: Proposal = { proposalType: proposalTypes.add, add: { keyPackage: kp } };
    const own = await rejects(createCommit(s.alice, { proposals: [add] }), "valid.duplicate_encryption_key");
    expect(own.message).toMatch(/leaves (1 and 3|3 and 1) have the same encryption_key/);
    const msg = await craftCommit(s.alice, { byValue: [add] });
    for (const m of [s.bob, s.carol]) {
      const e = await rejects(processMessage(m, encodeMlsMessage(msg)), "valid.duplicate_encryption_key");
      expect(e.message).toMatch(/leaves (1 and 3|3 and 1)/);
    }
    await rejects(s.ds.validateCommit(msg), "valid.duplicate_encryption_key");
    await stillInSync(s);
  });

  it("the committer's new leaf (UpdatePath) takes Bob's signature_key: Bob, Carol and the DS reject it, Bob's state stays usable", async () => {
    const s = await threeMembers();
    // createCommit cannot even express this: the path leaf keeps the committer's signature key.
    const msg = await craftCommit(s.alice, { path: { signatureKey: s.bob.ownLeafNode.signatureKey, signaturePrivateKey: s.bob.signaturePrivateKey } });
    for (const m of [s.bob, s.carol]) {
      const e = await rejects(processMessage(m, encodeMlsMessage(msg)), "valid.duplicate_signature_key");
      expect(e.message).toMatch(/leaves (0 and 1|1 and 0) have the same signature_key/);
    }
    await rejects(s.ds.validateCommit(msg), "valid.duplicate_signature_key");
    expect(s.bob.epoch).toBe(s.alice.epoch);
    await stillInSync(s);
  });

  it("the same as PrivateMessage: the rejected Commit leaves the members able to process the next one", async () => {
    const s = await threeMembers("private");
    const msg = await craftCommit(s.alice, { path: { signatureKey: s.bob.ownLeafNode.signatureKey, signaturePrivateKey: s.bob.signaturePrivateKey } });
    expect(msg.wireFormat).toBe(wireFormats.mls_private_message);
    for (const m of [s.bob, s.carol]) await rejects(processMessage(m, encodeMlsMessage(msg)), "valid.duplicate_signature_key");
    await stillInSync(s);
  });

  it("the committer's new leaf takes Bob's encryption_key: RFC 9420 §12.4.2 (UpdatePath keys fresh) rejects it first", async () => {
    const s = await threeMembers();
    const msg = await craftCommit(s.alice, { path: { leafKeyPair: s.bobEnc } });
    for (const m of [s.bob, s.carol]) await rejects(processMessage(m, encodeMlsMessage(msg)), "valid.update_path_key_reused");
    await rejects(s.ds.validateCommit(msg), "valid.update_path_key_reused");
    await stillInSync(s);
  });

  it("Carol's Update takes Bob's signature_key: createCommit refuses to commit it, the crafted Commit is rejected by Bob and the DS", async () => {
    const s = await threeMembers();
    const update = await craftUpdate(s, s.bob.signaturePrivateKey);
    // The proposal alone is not checked against the tree (RFC 9420 §7.3 uniqueness is judged on the Commit).
    const cache = async (m: GroupState): Promise<GroupState> => {
      const r = await processMessage(m, encodeMlsMessage(update));
      if (r.kind !== "proposal") throw new Error(`expected a proposal, got ${r.kind}`);
      return r.state;
    };
    const alice = await cache(s.alice);
    const bob = await cache(s.bob);
    const ds = (await s.ds.processProposal(update)).group;
    expect(alice.proposals().length).toBe(1);

    const own = await rejects(createCommit(alice), "valid.duplicate_signature_key");
    expect(own.message).toMatch(/leaves (1 and 2|2 and 1) have the same signature_key/);
    // RFC 9420 §12.2: an Update requires a path.
    const msg = await craftCommit(alice, { byReference: alice.proposals(), path: {} });
    const e = await rejects(processMessage(bob, encodeMlsMessage(msg)), "valid.duplicate_signature_key");
    expect(e.message).toMatch(/leaves (1 and 2|2 and 1)/);
    await rejects(ds.validateCommit(msg), "valid.duplicate_signature_key");

    // The bad Update stays cached but uncommitted; Alice's next Commit without it goes through.
    await stillInSync({ ...s, bob, ds }, alice);
  });
});

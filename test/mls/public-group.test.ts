/**
 * The Delivery Service observer (public-group.ts) follows a group whose members send handshakes
 * as PublicMessage: after every Commit its epoch, tree hash and transcript hashes equal the
 * members'; bad Commits are refused without changing it.
 */
import { describe, expect, it } from "vitest";
import type { CryptoProvider } from "../../src/crypto/cipher-suite.js";
import { CryptoError, UsageError } from "../../src/errors.js";
import { extensionTypes } from "../../src/mls/core/extension.js";
import { encodeExternalSenders } from "../../src/mls/core/external-senders.js";
import { contentTypes, proposalTypes, senderTypes, wireFormats } from "../../src/mls/core/protocol.js";
import { signFramedContent } from "../../src/mls/framing/content-auth.js";
import type { FramedContent } from "../../src/mls/framing/framed-content.js";
import type { MlsMessage } from "../../src/mls/framing/mls-message.js";
import { protectPublicMessage } from "../../src/mls/framing/public-message-protection.js";
import {
  completeExternalJoin,
  createCommit,
  createExternalProposal,
  createGroupInfo,
  createNewMemberProposal,
  joinExternally,
  proposeReInit,
  proposeRemove,
  proposeUpdate,
  PublicGroup,
  type CreatedCommit,
  type GroupState,
} from "../../src/mls/group/index.js";
import { encodeGroupContext } from "../../src/mls/schedule/group-context.js";
import { toHex, utf8 } from "../../src/util/bytes.js";
import { basic, GroupHarness, testConfig, wire } from "../helpers/group-harness.js";
import { PROVIDERS } from "../helpers/providers.js";

const hex = toHex;

function expectMatches(obs: PublicGroup, s: GroupState): void {
  expect(obs.epoch).toBe(s.epoch);
  expect(hex(obs.treeHash)).toBe(hex(s.groupContext.treeHash));
  expect(hex(obs.confirmedTranscriptHash)).toBe(hex(s.groupContext.confirmedTranscriptHash));
  expect(hex(obs.interimTranscriptHash)).toBe(hex(s.interimTranscriptHash));
  expect(hex(encodeGroupContext(obs.groupContext))).toBe(hex(s.groupContextBytes));
  expect(obs.members().map((m) => [m.leafIndex, m.identity])).toEqual(s.members().map((m) => [m.leafIndex, m.identity]));
}

/** A DS that runs the observer on everything before delivering it. */
class ObservedGroup {
  constructor(
    readonly g: GroupHarness,
    public obs: PublicGroup,
  ) {}

  async proposal(m: MlsMessage, sender?: { name: string; state: GroupState }): Promise<void> {
    const r = await this.obs.processProposal(wire(m));
    this.obs = r.group;
    await this.g.deliverProposal(m, sender, r.ref);
  }

  /** The observer validates (without changing), applies, then the members process. */
  async commit(m: MlsMessage, opts: Parameters<GroupHarness["accept"]>[1] = {}) {
    const before = this.obs;
    const v = await this.obs.validateCommit(wire(m));
    expect(before.epoch).toBe(v.parentEpoch);
    this.obs = this.obs.applyCommit(v);
    expect(this.obs.epoch).toBe(v.newEpoch);
    await this.g.accept(m, opts);
    return v;
  }

  async memberCommit(name: string, opts: Parameters<typeof createCommit>[1] = {}): Promise<{ created: CreatedCommit; v: Awaited<ReturnType<ObservedGroup["commit"]>> }> {
    const created = await createCommit(this.g.get(name), opts);
    const v = await this.commit(created.commitMessage, { committer: name, ownStaged: created.staged, welcome: created.welcome });
    this.check();
    return { created, v };
  }

  check(): void {
    for (const n of this.g.names()) expectMatches(this.obs, this.g.get(n));
  }
}

async function setup(p: CryptoProvider) {
  const cs = p.suite(1);
  const ds = cs.signatureKeyPair();
  const senders = { extensionType: extensionTypes.external_senders, extensionData: encodeExternalSenders([{ signatureKey: ds.publicKey, credential: basic("ds.example") }]) };
  const g = await GroupHarness.create(cs, testConfig({ handshakeWireFormat: "public" }), "alice", [senders]);
  const created = await g.add("alice", "bob", "carol", "dave");
  const obs = await PublicGroup.fromGroupInfo(cs, created.groupInfo!, { config: g.config });
  const o = new ObservedGroup(g, obs);
  o.check();
  return { cs, ds, g, o };
}

for (const p of PROVIDERS) {
  describe(`${p.name}: PublicGroup observer`, () => {
    it("follows adds, updates and removes by reference, external proposals, external joins and new-member proposals", async () => {
      const { cs, ds, g, o } = await setup(p);
      expect(o.obs.externalSenders().map((s) => hex(s.signatureKey))).toEqual([hex(ds.publicKey)]);

      // Adds by value.
      const kps = await Promise.all(["erin", "frank"].map((n) => g.keyPackage(n)));
      const add = await o.memberCommit("alice", { proposals: kps.map((k) => ({ proposalType: proposalTypes.add, add: { keyPackage: k.keyPackage } })) });
      expect(add.v.added.map((a) => [a.identity, hex(a.keyPackageRef!)])).toEqual(kps.map((k, i) => [["erin", "frank"][i], hex(k.ref)]));
      expect(add.v.pathPresent).toBe(false);

      // Update and Remove by reference, committed by erin (with her path).
      const upd = await proposeUpdate(g.get("bob"));
      await o.proposal(upd.message, { name: "bob", state: upd.state });
      const rm = await proposeRemove(g.get("carol"), g.leafOf("dave"));
      await o.proposal(rm.message, { name: "carol", state: rm.state });
      expect(o.obs.proposals().length).toBe(2);
      const c2 = await o.memberCommit("erin");
      expect(c2.v.removed.map((r) => r.identity)).toEqual(["dave"]);
      expect(c2.v.updated.map((u) => u.identity).sort()).toEqual(["bob", "erin"]);
      expect(c2.v.proposals.every((x) => x.ref !== null)).toBe(true);
      expect(o.obs.proposals().length).toBe(0);

      // The external sender removes frank; a member commits it by reference.
      const ext = createExternalProposal({ cs, groupContext: o.obs.groupContext, senderIndex: 0, signaturePrivateKey: ds.privateKey, proposal: { proposalType: proposalTypes.remove, remove: { removed: g.leafOf("frank") } } });
      await o.proposal(ext.message);
      const c3 = await o.memberCommit("bob");
      expect(c3.v.removed.map((r) => r.identity)).toEqual(["frank"]);
      expect(c3.v.proposals[0]!.sender.senderType).toBe(senderTypes.external);

      // External join.
      const gi = await createGroupInfo(g.get("carol"));
      const join = await joinExternally({ cs, config: g.config, groupInfo: gi, credential: basic("zoe"), signaturePrivateKey: cs.signatureKeyPair().privateKey });
      const vj = await o.commit(join.commitMessage, { checkSync: false });
      g.states.set("zoe", completeExternalJoin(join.staged));
      g.expectInSync();
      o.check();
      expect(vj.isExternal).toBe(true);
      expect(vj.added).toEqual([expect.objectContaining({ identity: "zoe", keyPackageRef: null })]);
      expect(vj.committer).toMatchObject({ kind: "external", identity: "zoe" });

      // A new client's own Add, committed by reference; then an empty Commit.
      const yann = await g.keyPackage("yann");
      const np = createNewMemberProposal({ cs, groupContext: o.obs.groupContext, keyPackage: yann.keyPackage, signaturePrivateKey: yann.privateKeys.signaturePrivateKey });
      await o.proposal(np.message);
      const c4 = await o.memberCommit("zoe");
      expect(c4.v.added.map((a) => a.identity)).toEqual(["yann"]);
      const c5 = await o.memberCommit("yann");
      expect(c5.v.proposals).toEqual([]);
      expect(c5.v.pathPresent).toBe(true);
      expect(o.obs.members().map((m) => m.identity).sort()).toEqual(["alice", "bob", "carol", "erin", "yann", "zoe"]);
    });

    it("refuses bad signatures, stale epochs, invalid proposal lists and unknown references without changing", async () => {
      const { cs, g, o } = await setup(p);
      const start = o.obs;
      const c = await createCommit(g.get("bob"));
      if (c.commitMessage.wireFormat !== wireFormats.mls_public_message) throw new Error("expected a PublicMessage");
      const pm = c.commitMessage.publicMessage;
      // Bad signature.
      const sig = pm.auth.signature.slice();
      sig[5]! ^= 1;
      await expect(o.obs.validateCommit({ ...c.commitMessage, publicMessage: { ...pm, auth: { ...pm.auth, signature: sig } } })).rejects.toThrow(CryptoError);
      // An invalid proposal list, properly signed by bob: he removes himself (RFC 9420 §12.2).
      const bob = g.get("bob");
      const content: FramedContent = {
        groupId: bob.groupId,
        epoch: bob.epoch,
        sender: { senderType: senderTypes.member, leafIndex: bob.ownLeafIndex },
        authenticatedData: new Uint8Array(0),
        contentType: contentTypes.commit,
        commit: { proposals: [{ type: 1, proposal: { proposalType: proposalTypes.remove, remove: { removed: bob.ownLeafIndex } } }], path: null },
      };
      const forged = signFramedContent({ cs, signaturePrivateKey: bob.signaturePrivateKey, wireFormat: wireFormats.mls_public_message, content, groupContext: bob.groupContextBytes, confirmationTag: () => new Uint8Array(cs.params.Nh) });
      const forgedMsg: MlsMessage = { version: 1, wireFormat: wireFormats.mls_public_message, publicMessage: protectPublicMessage(cs, forged, bob.epochSecrets.membershipKey, bob.groupContextBytes) };
      await expect(o.obs.validateCommit(wire(forgedMsg))).rejects.toMatchObject({ code: "valid.remove_committer" });
      // A wrong-length confirmation tag.
      const shortTag = signFramedContent({ cs, signaturePrivateKey: bob.signaturePrivateKey, wireFormat: wireFormats.mls_public_message, content: { ...content, commit: { proposals: [], path: null } }, groupContext: bob.groupContextBytes, confirmationTag: () => new Uint8Array(3) });
      await expect(o.obs.validateCommit({ version: 1, wireFormat: wireFormats.mls_public_message, publicMessage: { content: shortTag.content, auth: shortTag.auth, membershipTag: new Uint8Array(32) } })).rejects.toMatchObject({ code: "valid.confirmation_tag_length" });
      // A reference to a proposal the observer never saw.
      const hidden = await proposeUpdate(g.get("carol"));
      g.states.set("carol", hidden.state);
      const referencing = await createCommit(await (async () => {
        // alice receives the proposal directly (bypassing the observer).
        await g.deliverProposal(hidden.message, { name: "carol", state: hidden.state });
        return g.get("alice");
      })());
      await expect(o.obs.validateCommit(referencing.commitMessage)).rejects.toMatchObject({ code: "valid.unknown_proposal_ref" });
      // A PrivateMessage cannot be followed.
      const priv = await createCommit(g.get("dave").with({ config: testConfig({ handshakeWireFormat: "private" }) }), { includePending: false });
      await expect(o.obs.validateCommit(priv.commitMessage)).rejects.toMatchObject({ code: "usage.private_message" });
      // Nothing changed: the observer is the same object at the same epoch and accepts the real Commit.
      expect(o.obs).toBe(start);
      expect(o.obs.epoch).toBe(1n);
      const v = await o.obs.validateCommit(c.commitMessage);
      expect(() => start.applyCommit({ ...v })).toThrow(UsageError);
      o.obs = o.obs.applyCommit(v);
      // Bob's commit wins; alice's (with carol's hidden Update) loses and is dropped by the DS.
      const staged = await g.accept(c.commitMessage, { committer: "bob", ownStaged: c.staged });
      expect(staged.size).toBe(3);
      o.check();
      // Stale epoch: the same Commit again.
      await expect(o.obs.validateCommit(c.commitMessage)).rejects.toMatchObject({ code: "valid.wrong_epoch" });
      await expect(start.validateCommit(priv.commitMessage)).rejects.toThrow(UsageError);
      expect(() => o.obs.applyCommit(v)).toThrow(UsageError);
    });

    it("builds from a GroupInfo without tree, checks its signature, and stops after a ReInit", async () => {
      const { cs, g, o } = await setup(p);
      const alice = g.get("alice");
      const bare = await createGroupInfo(alice, { ratchetTree: false });
      await expect(PublicGroup.fromGroupInfo(cs, bare, { config: g.config })).rejects.toMatchObject({ code: "usage.missing_ratchet_tree" });
      const obs = await PublicGroup.fromGroupInfo(cs, bare, { config: g.config, ratchetTree: o.obs.ratchetTree() });
      expectMatches(obs, alice);
      const forged = { ...bare, signer: g.leafOf("bob") };
      await expect(PublicGroup.fromGroupInfo(cs, forged, { config: g.config, ratchetTree: alice.tree })).rejects.toThrow(CryptoError);
      await expect(PublicGroup.fromGroupInfo(p.suite(3), bare, { config: g.config, ratchetTree: alice.tree })).rejects.toThrow(UsageError);

      const ri = await proposeReInit(g.get("carol"), { groupId: utf8("next"), cipherSuite: 1 });
      await o.proposal(ri.message, { name: "carol", state: ri.state });
      const { v } = await o.memberCommit("dave");
      expect(v.reinit?.groupId).toEqual(utf8("next"));
      expect(o.obs.reinit?.groupId).toEqual(utf8("next"));
      const again = await proposeReInit(g.get("alice").with({ status: { kind: "active" } }), { groupId: utf8("x"), cipherSuite: 1 });
      await expect(o.obs.processProposal(again.message)).rejects.toMatchObject({ code: "usage.pending_reinit" });
    });
  });
}

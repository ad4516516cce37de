/**
 * External joins (RFC 9420 §12.4.3.2) and external proposals (RFC 9420 §12.1.8): a client outside
 * the group joins from the published GroupInfo (also to resync after losing its state), an
 * external sender listed in external_senders proposes, a new client proposes its own Add; members
 * process all of it through processMessage.
 */
import { describe, expect, it } from "vitest";
import type { CryptoProvider } from "../../src/crypto/cipher-suite.js";
import { CryptoError, UsageError, ValidationError } from "../../src/errors.js";
import { extensionTypes, type Extension } from "../../src/mls/core/extension.js";
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
  externalPskStore,
  groupInfoMessage,
  joinExternally,
  mergeStagedCommit,
  processMessage,
  protect,
  type ExternalJoin,
  type GroupState,
} from "../../src/mls/group/index.js";
import type { GroupInfo } from "../../src/mls/messages/group-info.js";
import { utf8 } from "../../src/util/bytes.js";
import { basic, GroupHarness, testConfig, wire } from "../helpers/group-harness.js";
import { PROVIDERS } from "../helpers/providers.js";

const PSK_ID = utf8("external-join-psk");
const PSK = utf8("an external PSK known to everyone");

async function threeMembers(p: CryptoProvider, wf: "public" | "private", extensions?: Extension[]): Promise<GroupHarness> {
  const config = testConfig({ handshakeWireFormat: wf, externalPsks: externalPskStore([{ pskId: PSK_ID, psk: PSK }]) });
  const g = await GroupHarness.create(p.suite(1), config, "alice", extensions);
  await g.add("alice", "bob", "carol");
  return g;
}

/** Members process an external Commit and merge it; the joiner completes and is added to the harness. */
async function acceptExternal(g: GroupHarness, name: string, join: ExternalJoin): Promise<GroupState> {
  await g.accept(join.commitMessage, { checkSync: false });
  const state = completeExternalJoin(join.staged);
  g.states.set(name, state);
  g.expectInSync();
  return state;
}

async function readApp(state: GroupState, m: MlsMessage): Promise<Uint8Array> {
  const r = await processMessage(state, wire(m));
  if (r.kind !== "application") throw new Error(`expected application data, got ${r.kind}`);
  return r.data;
}

for (const p of PROVIDERS) {
  describe(`${p.name}: external join (RFC 9420 §12.4.3.2)`, () => {
    for (const wf of ["public", "private"] as const) {
      it(`joins from the GroupInfo, then talks, commits and is joined by another external client (handshakes ${wf})`, async () => {
        const g = await threeMembers(p, wf);
        const cs = g.cs;
        const gi = groupInfoMessage(await createGroupInfo(g.get("bob")));
        const zoe = cs.signatureKeyPair();
        const join = await joinExternally({ cs, config: g.config, groupInfo: gi, credential: basic("zoe"), signaturePrivateKey: zoe.privateKey, authenticatedData: utf8("hello") });
        expect(join.commitMessage.wireFormat).toBe(wireFormats.mls_public_message);
        if (join.commitMessage.wireFormat !== wireFormats.mls_public_message) throw new Error("unreachable");
        expect(join.commitMessage.publicMessage.content.sender).toEqual({ senderType: senderTypes.new_member_commit });
        expect(join.commitMessage.publicMessage.membershipTag).toBeUndefined();
        expect(join.staged.changes.added.map((a) => a.identity)).toEqual(["zoe"]);
        expect(join.staged.committer).toMatchObject({ kind: "external", identity: "zoe" });

        const zoeState = await acceptExternal(g, "zoe", join);
        expect(zoeState.epoch).toBe(2n);
        expect(zoeState.ownLeafIndex).toBe(3);
        // The new member reads and is read.
        expect(await readApp(g.get("alice"), protect(zoeState, utf8("hi from zoe")))).toEqual(utf8("hi from zoe"));
        expect(await readApp(zoeState, protect(g.get("carol"), utf8("welcome zoe")))).toEqual(utf8("welcome zoe"));
        // ... commits ...
        await g.commit("zoe");
        // ... and its published GroupInfo lets the next client in (only the fresh one is accepted).
        const yann = cs.signatureKeyPair();
        if (join.groupInfo === null) throw new Error("expected a GroupInfo");
        const stale = await joinExternally({ cs, config: g.config, groupInfo: join.groupInfo, credential: basic("yann"), signaturePrivateKey: yann.privateKey });
        await expect(processMessage(g.get("alice"), wire(stale.commitMessage))).rejects.toMatchObject({ code: "valid.wrong_epoch" });
        const fresh = await createCommit(g.get("alice"), { includePending: false, forcePath: false, groupInfo: true });
        await g.accept(fresh.commitMessage, { committer: "alice", ownStaged: fresh.staged });
        const y = await joinExternally({ cs, config: g.config, groupInfo: fresh.groupInfo!, credential: basic("yann"), signaturePrivateKey: yann.privateKey });
        await acceptExternal(g, "yann", y);
        expect(g.names().length).toBe(5);
      });
    }

    it("uses a tree given out of band, injects an external PSK, and checks the GroupInfo", async () => {
      const g = await threeMembers(p, "public");
      const cs = g.cs;
      const bob = g.get("bob");
      const bare: GroupInfo = await createGroupInfo(bob, { ratchetTree: false });
      const key = cs.signatureKeyPair().privateKey;
      const params = { cs, config: g.config, credential: basic("zoe"), signaturePrivateKey: key };
      await expect(joinExternally({ ...params, groupInfo: bare })).rejects.toMatchObject({ code: "usage.missing_ratchet_tree" });
      // No external_pub: the group does not allow external joins.
      const closed = await createGroupInfo(bob, { externalPub: false });
      await expect(joinExternally({ ...params, groupInfo: closed })).rejects.toMatchObject({ code: "valid.no_external_pub" });
      // A GroupInfo whose signature does not verify.
      const forged: GroupInfo = { ...bare, signature: bare.signature.map((b, i) => (i === 0 ? b ^ 1 : b)) };
      await expect(joinExternally({ ...params, groupInfo: forged, ratchetTree: bob.tree })).rejects.toThrow(CryptoError);
      // Wrong suite.
      await expect(joinExternally({ ...params, cs: p.suite(3), groupInfo: bare, ratchetTree: bob.tree })).rejects.toMatchObject({ code: "usage.wrong_cipher_suite" });
      // A PSK nobody has is refused before anything is sent.
      await expect(joinExternally({ ...params, groupInfo: bare, ratchetTree: bob.tree, psks: [utf8("unknown")] })).rejects.toMatchObject({ code: "valid.psk_not_available" });

      const join = await joinExternally({ ...params, groupInfo: bare, ratchetTree: bob.tree.toRatchetTree(), psks: [PSK_ID] });
      expect(join.staged.psks.length).toBe(1);
      await acceptExternal(g, "zoe", join);
    });

    it("resync: a member that lost its state rejoins and replaces its old leaf (by signature key, by identity, by index)", async () => {
      const g = await threeMembers(p, "private");
      const cs = g.cs;
      const lost = g.get("bob");
      g.states.delete("bob");
      const gi = await createGroupInfo(g.get("alice"));
      // Same signature key: the old leaf is found by it.
      const j1 = await joinExternally({ cs, config: g.config, groupInfo: gi, credential: basic("bob"), signaturePrivateKey: lost.signaturePrivateKey, resync: {} });
      expect(j1.staged.changes.removed).toEqual([expect.objectContaining({ identity: "bob", leafIndex: lost.ownLeafIndex })]);
      expect(j1.staged.changes.added.map((a) => a.identity)).toEqual(["bob"]);
      // The freed leaf is the leftmost blank one: bob gets it back.
      expect(j1.staged.committer.leafIndex).toBe(lost.ownLeafIndex);
      await acceptExternal(g, "bob", j1);
      // The old state is stale for good: the next Commit cannot be processed by it.
      const c = await g.commit("carol");
      await expect(processMessage(lost, wire(c.commitMessage))).rejects.toThrow(ValidationError);

      // A new signature key: the old leaf is found by the AS's notion of the same client.
      const lost2 = g.get("carol");
      g.states.delete("carol");
      const gi2 = await createGroupInfo(g.get("alice"));
      const fresh = cs.signatureKeyPair();
      const j2 = await joinExternally({ cs, config: g.config, groupInfo: gi2, credential: basic("carol"), signaturePrivateKey: fresh.privateKey, resync: {} });
      expect(j2.staged.changes.removed.map((r) => r.leafIndex)).toEqual([lost2.ownLeafIndex]);
      await acceptExternal(g, "carol", j2);

      // Explicit leaf; a resync that removes someone else's leaf is refused (the new leaf must be a
      // valid successor of the removed one, RFC 9420 §12.2).
      const gi3 = await createGroupInfo(g.get("alice"));
      await expect(
        joinExternally({ cs, config: g.config, groupInfo: gi3, credential: basic("mallory"), signaturePrivateKey: cs.signatureKeyPair().privateKey, resync: { removeLeaf: g.leafOf("alice") } }),
      ).rejects.toMatchObject({ code: "valid.invalid_successor" });
      await expect(
        joinExternally({ cs, config: g.config, groupInfo: gi3, credential: basic("nobody"), signaturePrivateKey: cs.signatureKeyPair().privateKey, resync: {} }),
      ).rejects.toMatchObject({ code: "usage.no_previous_leaf" });
      const d = g.get("carol");
      g.states.delete("carol");
      const j3 = await joinExternally({ cs, config: g.config, groupInfo: gi3, credential: basic("carol"), signaturePrivateKey: d.signaturePrivateKey, resync: { removeLeaf: d.ownLeafIndex } });
      await acceptExternal(g, "carol", j3);
      expect(g.names().sort()).toEqual(["alice", "bob", "carol"]);
    });

    it("a joiner's staged commit is not merged into a member state, and a member's not completed as a join", async () => {
      const g = await threeMembers(p, "public");
      const join = await joinExternally({ cs: g.cs, config: g.config, groupInfo: await createGroupInfo(g.get("alice")), credential: basic("zoe"), signaturePrivateKey: g.cs.signatureKeyPair().privateKey });
      expect(() => mergeStagedCommit(g.get("alice"), join.staged)).toThrow(UsageError);
      const own = await createCommit(g.get("alice"));
      expect(() => completeExternalJoin(own.staged)).toThrow(UsageError);
    });
  });

  describe(`${p.name}: external proposals (RFC 9420 §12.1.8)`, () => {
    it("an external sender removes and adds by reference; a new client proposes its own Add", async () => {
      const cs = p.suite(1);
      const ds = cs.signatureKeyPair();
      const senders: Extension = { extensionType: extensionTypes.external_senders, extensionData: encodeExternalSenders([{ signatureKey: cs.signatureKeyPair().publicKey, credential: basic("other") }, { signatureKey: ds.publicKey, credential: basic("ds.example") }]) };
      const g = await threeMembers(p, "public", [senders]);
      const gc = g.get("alice").groupContext;

      // Remove carol.
      const rm = createExternalProposal({ cs, groupContext: gc, senderIndex: 1, signaturePrivateKey: ds.privateKey, proposal: { proposalType: proposalTypes.remove, remove: { removed: g.leafOf("carol") } } });
      if (rm.message.wireFormat !== wireFormats.mls_public_message) throw new Error("expected a PublicMessage");
      expect(rm.message.publicMessage.content.sender).toEqual({ senderType: senderTypes.external, senderIndex: 1 });
      await g.deliverProposal(rm.message, undefined, rm.ref);
      // Add dave (the DS holds his KeyPackage).
      const dave = await g.keyPackage("dave");
      const add = createExternalProposal({ cs, groupContext: gc, senderIndex: 1, signaturePrivateKey: ds.privateKey, proposal: { proposalType: proposalTypes.add, add: { keyPackage: dave.keyPackage } } });
      await g.deliverProposal(add.message, undefined, add.ref);
      const c = await g.commit("bob");
      expect(c.staged.proposals.map((x) => [x.proposal.proposalType, x.sender.senderType, x.ref !== null])).toEqual([
        [proposalTypes.remove, senderTypes.external, true],
        [proposalTypes.add, senderTypes.external, true],
      ]);
      expect(g.names().sort()).toEqual(["alice", "bob", "dave"]);

      // A new client proposes its own Add from the GroupInfo's GroupContext.
      const gi = await createGroupInfo(g.get("dave"));
      const erin = await g.keyPackage("erin");
      await expect(() => createNewMemberProposal({ cs, groupContext: gi.groupContext, keyPackage: erin.keyPackage, signaturePrivateKey: ds.privateKey })).toThrow(UsageError);
      const np = createNewMemberProposal({ cs, groupContext: gi.groupContext, keyPackage: erin.keyPackage, signaturePrivateKey: erin.privateKeys.signaturePrivateKey });
      await g.deliverProposal(np.message, undefined, np.ref);
      const c2 = await createCommit(g.get("alice"));
      expect(c2.staged.proposals[0]!.sender).toEqual({ senderType: senderTypes.new_member_proposal });
      await g.accept(c2.commitMessage, { committer: "alice", ownStaged: c2.staged, welcome: c2.welcome });
      expect(g.names().sort()).toEqual(["alice", "bob", "dave", "erin"]);

      // Stale: a proposal of the previous epoch is refused.
      await expect(processMessage(g.get("alice"), wire(rm.message))).rejects.toMatchObject({ code: "valid.wrong_epoch" });
    });

    it("refuses disallowed types, unknown senders, wrong keys and forged signatures", async () => {
      const cs = p.suite(1);
      const ds = cs.signatureKeyPair();
      const senders: Extension = { extensionType: extensionTypes.external_senders, extensionData: encodeExternalSenders([{ signatureKey: ds.publicKey, credential: basic("ds.example") }]) };
      const g = await threeMembers(p, "public", [senders]);
      const alice = g.get("alice");
      const gc = alice.groupContext;
      const remove = { proposalType: proposalTypes.remove, remove: { removed: 1 } } as const;
      // Sender side.
      expect(() => createExternalProposal({ cs, groupContext: gc, senderIndex: 0, signaturePrivateKey: ds.privateKey, proposal: { proposalType: proposalTypes.update, update: { leafNode: alice.ownLeafNode } } })).toThrow(UsageError);
      expect(() => createExternalProposal({ cs, groupContext: gc, senderIndex: 1, signaturePrivateKey: ds.privateKey, proposal: remove })).toThrow(UsageError);
      expect(() => createExternalProposal({ cs, groupContext: gc, senderIndex: 0, signaturePrivateKey: cs.signatureKeyPair().privateKey, proposal: remove })).toThrow(UsageError);
      // Receiver side: an unknown sender_index, a signature by another key.
      const asMsg = (o: { senderIndex: number; key: Uint8Array; group?: GroupState }): MlsMessage => {
        const at = o.group?.groupContext ?? gc;
        const content: FramedContent = { groupId: at.groupId, epoch: at.epoch, sender: { senderType: senderTypes.external, senderIndex: o.senderIndex }, authenticatedData: new Uint8Array(0), contentType: contentTypes.proposal, proposal: remove };
        const ac = signFramedContent({ cs, signaturePrivateKey: o.key, wireFormat: wireFormats.mls_public_message, content });
        return { version: 1, wireFormat: wireFormats.mls_public_message, publicMessage: protectPublicMessage(cs, ac) };
      };
      expect((await processMessage(alice, wire(asMsg({ senderIndex: 0, key: ds.privateKey })))).kind).toBe("proposal");
      await expect(processMessage(alice, wire(asMsg({ senderIndex: 3, key: ds.privateKey })))).rejects.toMatchObject({ code: "valid.unknown_external_sender" });
      await expect(processMessage(alice, wire(asMsg({ senderIndex: 0, key: cs.signatureKeyPair().privateKey })))).rejects.toThrow(CryptoError);
      // A group without external_senders refuses external proposals altogether.
      const plain = (await threeMembers(p, "public")).get("alice");
      await expect(processMessage(plain, wire(asMsg({ senderIndex: 0, key: ds.privateKey, group: plain })))).rejects.toMatchObject({ code: "valid.no_external_senders" });
    });
  });
}

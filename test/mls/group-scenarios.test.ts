/**
 * Multi-member scenarios of the group state machine (RFC 9420 §11, §12, §15), run for both
 * providers and both handshake framings (PublicMessage with membership tag, PrivateMessage).
 * Every message goes through its wire encoding; after every step all members must agree on
 * epoch, tree hash and epoch authenticator (RFC 9420 §8.7).
 */
import { describe, expect, it } from "vitest";
import type { CipherSuite, CryptoProvider } from "../../src/crypto/cipher-suite.js";
import { CryptoError, UsageError, ValidationError } from "../../src/errors.js";
import { credentialTypes, proposalTypes, wireFormats } from "../../src/mls/core/protocol.js";
import type { MlsMessage } from "../../src/mls/framing/mls-message.js";
import {
  createCommit,
  externalPskId,
  externalPskStore,
  mergeStagedCommit,
  processMessage,
  proposeAdd,
  proposeExternalPsk,
  proposeReInit,
  proposeRemove,
  proposeResumptionPsk,
  proposeUpdate,
  protect,
  rebaseProposals,
  type CreateCommitOptions,
  type CreatedCommit,
  type GroupConfig,
  type GroupState,
  type HandshakeWireFormat,
  type SentProposal,
  type StagedCommit,
} from "../../src/mls/group/index.js";
import { createKeyPackage, type CreatedKeyPackage } from "../../src/mls/messages/key-package-ops.js";
import { bytesEqual, toHex, utf8 } from "../../src/util/bytes.js";
import { extensionTypes, findExtension, type Extension } from "../../src/mls/core/extension.js";
import { decodeExternalPub } from "../../src/mls/core/external-pub.js";
import { encodeExternalSenders } from "../../src/mls/core/external-senders.js";
import { encodeRequiredCapabilities } from "../../src/mls/core/required-capabilities.js";
import { contentTypes, proposalOrRefTypes, senderTypes } from "../../src/mls/core/protocol.js";
import { signFramedContent } from "../../src/mls/framing/content-auth.js";
import type { FramedContent } from "../../src/mls/framing/framed-content.js";
import { protectPublicMessage } from "../../src/mls/framing/public-message-protection.js";
import { createGroupInfo, deriveNextEpoch, provisionalGroupContext, ratchetTreeOf, reserveJoinerLeaf, type NextEpoch } from "../../src/mls/group/index.js";
import type { GroupInfo } from "../../src/mls/messages/group-info.js";
import { encodeGroupContext } from "../../src/mls/schedule/group-context.js";
import { interimTranscriptHash } from "../../src/mls/schedule/transcript-hash.js";
import { encryptPath, preparePath } from "../../src/mls/tree/treekem.js";
import { GroupMembers, testConfig, wire } from "../helpers/group-harness.js";
import { PROVIDERS } from "../helpers/providers.js";

const PSK_ID = utf8("shared-psk");
const PSK = utf8("0123456789abcdef0123456789abcdef");

/**
 * The harness's members with this file's stricter delivery: a proposal's sender sees it as its
 * own, every member stages exactly the committer's changes, every new member joins by Welcome,
 * and all members stay active.
 */
class Group extends GroupMembers {
  /** Every other member processes a proposal its sender already cached. */
  async deliverProposal(sender: string, sent: SentProposal): Promise<void> {
    this.states.set(sender, sent.state);
    const bytes = wire(sent.message);
    for (const name of this.names()) {
      if (name === sender) {
        const own = await processMessage(sent.state, bytes);
        expect(own.kind).toBe("own");
        continue;
      }
      const r = await processMessage(this.get(name), bytes);
      if (r.kind !== "proposal") throw new Error(`expected a proposal, got ${r.kind}`);
      expect(bytesEqual(r.ref, sent.ref)).toBe(true);
      this.states.set(name, r.state);
    }
  }

  /** The DS accepted `created`: the committer merges, members process and merge, joiners join. */
  async accept(committer: string, created: CreatedCommit): Promise<Map<string, StagedCommit>> {
    const staged = await this.processCommit(wire(created.commitMessage), committer);
    for (const st of staged.values()) if (!st.removedSelf) expect(st.changes).toEqual(created.staged.changes);
    this.states.set(committer, mergeStagedCommit(this.get(committer), created.staged));
    for (const a of created.staged.changes.added) if (!this.pending.has(a.identity)) throw new Error(`no KeyPackage for ${a.identity}`);
    await this.joinAdded(created.staged.changes.added, created.welcome);
    this.expectInSync();
    return staged;
  }

  async commit(committer: string, opts: CreateCommitOptions = {}): Promise<{ created: CreatedCommit; staged: Map<string, StagedCommit> }> {
    const created = await createCommit(this.get(committer), opts);
    return { created, staged: await this.accept(committer, created) };
  }

  async add(committer: string, ...names: string[]): Promise<CreatedCommit> {
    const { created } = await this.commit(committer, { proposals: await this.addProposals(names) });
    return created;
  }

  override expectInSync(): void {
    super.expectInSync();
    for (const s of this.states.values()) expect(s.isActive).toBe(true);
  }
}

function configFor(wf: HandshakeWireFormat, withPsk = true): GroupConfig {
  return testConfig({ handshakeWireFormat: wf, externalPsks: withPsk ? externalPskStore([{ pskId: PSK_ID, psk: PSK }]) : undefined });
}

async function fiveMembers(p: CryptoProvider, wf: HandshakeWireFormat): Promise<Group> {
  const g = await Group.create(p.suite(1), configFor(wf), "alice");
  const created = await g.add("alice", "bob", "carol", "dave", "erin");
  expect(created.staged.changes.added.map((a) => a.identity)).toEqual(["bob", "carol", "dave", "erin"]);
  expect(created.staged.hasPath).toBe(false);
  const handshake = wf === "public" ? wireFormats.mls_public_message : wireFormats.mls_private_message;
  expect(created.commitMessage.wireFormat).toBe(handshake);
  return g;
}

async function receive(state: GroupState, m: MlsMessage) {
  const r = await processMessage(state, wire(m));
  if (r.kind !== "application") throw new Error(`expected an application message, got ${r.kind}`);
  return r;
}

/**
 * A minimal external joiner (RFC 9420 §12.4.3.2), built from the low-level pieces only to test
 * that members process external Commits; creating external Commits is external.ts's job.
 */
async function externalJoin(cs: CipherSuite, gi: GroupInfo, name: string) {
  const kp = await createKeyPackage({ cs, credential: { credentialType: credentialTypes.basic, identity: utf8(name) } });
  const extPub = findExtension(gi.extensions, extensionTypes.external_pub)!;
  const { kemOutput, secret: initSecret } = await cs.hpkeExportSender(decodeExternalPub(extPub.extensionData).externalPub, new Uint8Array(0), utf8("MLS 1.0 external init secret"), cs.params.Nh);
  const tree = ratchetTreeOf(gi)!;
  const reserved = reserveJoinerLeaf(tree, kp.keyPackage.leafNode);
  const leaf = kp.keyPackage.leafNode;
  const prepared = await preparePath({
    cs,
    tree: reserved.tree,
    leafIndex: reserved.leafIndex,
    leaf: { signatureKey: leaf.signatureKey, credential: leaf.credential, capabilities: leaf.capabilities, extensions: leaf.extensions },
    sign: { signaturePrivateKey: kp.privateKeys.signaturePrivateKey, groupId: gi.groupContext.groupId },
  });
  const provisional = provisionalGroupContext(cs, gi.groupContext, prepared.tree, gi.groupContext.extensions);
  const path = await encryptPath(cs, prepared, encodeGroupContext(provisional));
  const content: FramedContent = {
    groupId: gi.groupContext.groupId,
    epoch: gi.groupContext.epoch,
    sender: { senderType: senderTypes.new_member_commit },
    authenticatedData: new Uint8Array(0),
    contentType: contentTypes.commit,
    commit: { proposals: [{ type: proposalOrRefTypes.proposal, proposal: { proposalType: proposalTypes.external_init, externalInit: { kemOutput } } }], path },
  };
  let next: NextEpoch | undefined;
  const ac = signFramedContent({
    cs,
    signaturePrivateKey: kp.privateKeys.signaturePrivateKey,
    wireFormat: wireFormats.mls_public_message,
    content,
    groupContext: encodeGroupContext(gi.groupContext),
    confirmationTag: (signature) => {
      next = deriveNextEpoch({
        cs,
        interimTranscriptHash: interimTranscriptHash(cs, gi.groupContext.confirmedTranscriptHash, gi.confirmationTag),
        provisional,
        commit: { wireFormat: wireFormats.mls_public_message, content, signature },
        initSecret,
        commitSecret: prepared.commitSecret,
        pskSecret: new Uint8Array(cs.params.Nh),
      });
      return next.confirmationTag;
    },
  });
  const message: MlsMessage = { version: 1, wireFormat: wireFormats.mls_public_message, publicMessage: protectPublicMessage(cs, ac) };
  return { message, leafIndex: reserved.leafIndex, epochAuthenticator: next!.keySchedule.epochSecrets.epochAuthenticator, epoch: gi.groupContext.epoch };
}

for (const p of PROVIDERS) {
  for (const wf of ["public", "private"] as const) {
    describe(`${p.name}, handshakes as ${wf === "public" ? "PublicMessage" : "PrivateMessage"}`, () => {
      it("creator adds many in one commit; all join by Welcome; update, remove, empty commit", async () => {
        const g = await Group.create(p.suite(1), configFor(wf), "alice");
        const names = Array.from({ length: 9 }, (_, i) => `m${i}`);
        await g.add("alice", ...names);
        expect(g.names().length).toBe(10);

        // Update proposal from m3, committed by m5 (by reference).
        const upd = await proposeUpdate(g.get("m3"));
        await g.deliverProposal("m3", upd);
        const oldKey = g.get("alice").tree.leaf(g.leafOf("m3"))!.encryptionKey;
        const { created } = await g.commit("m5");
        expect(created.staged.changes.updated.map((u) => u.identity)).toEqual(["m3", "m5"]);
        expect(bytesEqual(g.get("alice").tree.leaf(g.leafOf("m3"))!.encryptionKey, oldKey)).toBe(false);
        // m3 can still follow the group after its Update (it kept the new leaf key).
        await g.commit("alice");

        // Remove by value.
        const r = await g.commit("m0", { proposals: [{ proposalType: proposalTypes.remove, remove: { removed: g.leafOf("m7") } }] });
        expect(r.created.staged.changes.removed.map((x) => x.identity)).toEqual(["m7"]);
        expect(g.removed.get("m7")!.status.kind).toBe("removed");
        expect(g.names()).not.toContain("m7");

        // Empty commit: path required (RFC 9420 §12.4).
        const e = await g.commit("m8");
        expect(e.created.staged.hasPath).toBe(true);
        expect(e.created.staged.proposals).toEqual([]);
      });

      it("proposals by reference from several senders, then one commit; a removed member cannot decrypt later messages", async () => {
        const g = await fiveMembers(p, wf);
        const early = protect(g.get("erin"), utf8("from erin, epoch 1"));
        const graceKp = await g.keyPackage("grace");
        await g.deliverProposal("bob", await proposeUpdate(g.get("bob")));
        await g.deliverProposal("carol", await proposeRemove(g.get("carol"), g.leafOf("erin")));
        await g.deliverProposal("dave", await proposeAdd(g.get("dave"), graceKp.keyPackage));
        await g.deliverProposal("alice", await proposeExternalPsk(g.get("alice"), PSK_ID));
        // RFC 9420 §12.4: no application data while proposals are pending.
        expect(() => protect(g.get("alice"), utf8("hi"))).toThrow(UsageError);
        expect(g.get("bob").proposals().length).toBe(4);

        const { created, staged } = await g.commit("carol");
        expect(created.staged.proposals.map((x) => x.ref !== null)).toEqual([true, true, true, true]);
        expect(created.staged.psks.length).toBe(1);
        const ch = created.staged.changes;
        expect(ch.added.map((a) => a.identity)).toEqual(["grace"]);
        expect(ch.removed.map((a) => a.identity)).toEqual(["erin"]);
        expect(ch.updated.map((a) => a.identity).sort()).toEqual(["bob", "carol"]);
        expect(staged.get("erin")!.removedSelf).toBe(true);
        expect(g.names().sort()).toEqual(["alice", "bob", "carol", "dave", "grace"]);

        // A late message of the previous epoch still decrypts (RFC 9420 §15.3) ...
        const r = await receive(g.get("alice"), early);
        expect(r.data).toEqual(utf8("from erin, epoch 1"));
        expect(r.sender.identity).toBe("erin");
        expect(r.epoch).toBe(g.get("alice").epoch - 1n);
        // ... but the removed member cannot read the new epoch, nor send.
        const erin = g.removed.get("erin")!;
        const next = protect(g.get("bob"), utf8("after erin left"));
        await expect(processMessage(erin, wire(next))).rejects.toThrow(ValidationError);
        expect(() => protect(erin, utf8("x"))).toThrow(UsageError);
        await expect(createCommit(erin)).rejects.toThrow(UsageError);
        for (const n of ["alice", "carol", "dave", "grace"]) expect((await receive(g.get(n), next)).data).toEqual(utf8("after erin left"));
      });

      it("application messages out of order within the window, gaps reported, past epochs bounded", async () => {
        const g = await fiveMembers(p, wf);
        const msgs = [0, 1, 2, 3, 4, 5].map((i) => protect(g.get("bob"), utf8(`m${i}`), utf8(`ad${i}`)));
        const carol = g.get("carol");
        const first = await receive(carol, msgs[3]!);
        expect(first.data).toEqual(utf8("m3"));
        expect(first.authenticatedData).toEqual(utf8("ad3"));
        expect(first.skipped).toEqual([0, 1, 2]);
        for (const i of [0, 2, 1, 5]) expect((await receive(carol, msgs[i]!)).data).toEqual(utf8(`m${i}`));
        // RFC 9750 §8.1.4: m4 was never delivered.
        const gaps = carol.generationGaps();
        expect(gaps.map((x) => [x.leafIndex, x.ratchet, x.missing])).toEqual([[g.leafOf("bob"), "application", [4]]]);
        // A key is used once (RFC 9420 §9.2).
        await expect(processMessage(carol, wire(msgs[1]!))).rejects.toThrow(ValidationError);
        // Our own message reflected back is recognised.
        expect((await processMessage(g.get("bob"), wire(msgs[0]!))).kind).toBe("own");

        // maxPastEpochs (default 3): a message stays readable for three more epochs, then not.
        const old = protect(g.get("dave"), utf8("old"));
        for (let i = 0; i < 3; i++) await g.commit("alice");
        expect((await receive(g.get("erin"), old)).data).toEqual(utf8("old"));
        const old2 = protect(g.get("dave"), utf8("old2"));
        for (let i = 0; i < 4; i++) await g.commit("alice");
        await expect(processMessage(g.get("erin"), wire(old2))).rejects.toThrow(ValidationError);
        expect(g.get("erin").pastEpochs.length).toBe(3);
      });

      it("two members commit the same epoch: the loser discards, rebases and succeeds next epoch", async () => {
        const g = await fiveMembers(p, wf);
        const henry = await g.keyPackage("henry");
        const bobOld = g.get("bob");
        const bobCommit = await createCommit(bobOld, {
          proposals: [
            { proposalType: proposalTypes.add, add: { keyPackage: henry.keyPackage } },
            { proposalType: proposalTypes.remove, remove: { removed: g.leafOf("dave") } },
          ],
        });
        const carolCommit = await createCommit(g.get("carol"), { proposals: [{ proposalType: proposalTypes.remove, remove: { removed: g.leafOf("alice") } }] });
        // The DS accepts carol's; bob processes it from the same state his own commit was made from.
        await g.accept("carol", carolCommit);
        expect(g.names()).not.toContain("alice");
        expect(() => mergeStagedCommit(g.get("bob"), bobCommit.staged)).toThrow(UsageError);
        expect(() => mergeStagedCommit(bobOld, bobCommit.staged)).toThrow(UsageError);
        await expect(createCommit(bobOld)).rejects.toThrow(UsageError);
        const rebased = rebaseProposals(bobCommit.staged, g.get("bob"));
        expect(rebased.map((x) => x.proposalType)).toEqual([proposalTypes.add, proposalTypes.remove]);
        const { created } = await g.commit("bob", { proposals: rebased });
        expect(created.staged.changes.added.map((a) => a.identity)).toEqual(["henry"]);
        expect(created.staged.changes.removed.map((a) => a.identity)).toEqual(["dave"]);
        expect(g.names().sort()).toEqual(["bob", "carol", "erin", "henry"]);
      });

      it("PSK proposals: external PSK by reference and by value, resumption PSK; a member without the PSK cannot process", async () => {
        const g = await fiveMembers(p, wf);
        await g.deliverProposal("dave", await proposeExternalPsk(g.get("dave"), PSK_ID));
        await g.commit("alice");
        await g.commit("bob", { proposals: [{ proposalType: proposalTypes.psk, psk: { psk: externalPskId(g.get("bob"), PSK_ID) } }] });
        await g.deliverProposal("carol", await proposeResumptionPsk(g.get("carol"), g.get("carol").epoch - 1n));
        const { created } = await g.commit("erin");
        expect(created.staged.psks.length).toBe(1);
        expect(created.staged.hasPath).toBe(false);

        const noPsk = g.get("erin").with({ config: configFor(wf, false) });
        const c = await createCommit(g.get("alice"), { proposals: [{ proposalType: proposalTypes.psk, psk: { psk: externalPskId(g.get("alice"), PSK_ID) } }] });
        await expect(processMessage(noPsk, wire(c.commitMessage))).rejects.toMatchObject({ code: "valid.psk_not_available" });
        await expect(createCommit(noPsk, { proposals: [{ proposalType: proposalTypes.psk, psk: { psk: externalPskId(noPsk, utf8("unknown")) } }] })).rejects.toThrow(ValidationError);
        // Exporter agrees across members.
        const ex = g.names().map((n) => toHex(g.get(n).exportSecret("test", utf8("ctx"), 32)));
        expect(new Set(ex).size).toBe(1);
      });

      it("processes an external Commit (new_member_commit with ExternalInit, RFC 9420 §12.4.3.2), joiner and members agree", async () => {
        const g = await fiveMembers(p, wf);
        const cs = g.cs;
        // Remove dave first so the joiner takes a blank leaf in the middle.
        await g.commit("alice", { proposals: [{ proposalType: proposalTypes.remove, remove: { removed: g.leafOf("dave") } }] });
        const gi = await createGroupInfo(g.get("carol"));
        const ext = await externalJoin(cs, gi, "zoe");
        const late = await externalJoin(cs, gi, "yann");
        const staged = new Map<string, StagedCommit>();
        for (const n of g.names()) {
          const r = await processMessage(g.get(n), wire(ext.message));
          if (r.kind !== "commit") throw new Error("expected a commit");
          expect(r.staged.committer.kind).toBe("external");
          expect(r.staged.changes.added.map((a) => a.identity)).toEqual(["zoe"]);
          staged.set(n, r.staged);
        }
        for (const [n, st] of staged) g.states.set(n, mergeStagedCommit(g.get(n), st));
        const auths = new Set(g.names().map((n) => toHex(g.get(n).epochAuthenticator())));
        expect([...auths]).toEqual([toHex(ext.epochAuthenticator)]);
        const alice = g.get("alice");
        expect(alice.tree.members().length).toBe(5);
        expect(alice.tree.leaf(ext.leafIndex)!.credential).toEqual({ credentialType: credentialTypes.basic, identity: utf8("zoe") });
        expect(ext.leafIndex).toBe(3); // dave's old leaf
        // A second external Commit built on the same (now past) epoch is rejected.
        await expect(processMessage(alice, wire(late.message))).rejects.toMatchObject({ code: "valid.wrong_epoch" });
      });

      it("GroupContextExtensions: external_senders and required_capabilities; an external sender's Remove is committed by reference", async () => {
        const g = await fiveMembers(p, wf);
        const cs = g.cs;
        const ds = cs.signatureKeyPair();
        const dsCred = { credentialType: credentialTypes.basic, identity: utf8("ds.example.org") } as const;
        const required = encodeRequiredCapabilities({ extensionTypes: [], proposalTypes: [], credentialTypes: [credentialTypes.basic] });
        const exts: Extension[] = [
          { extensionType: extensionTypes.external_senders, extensionData: encodeExternalSenders([{ signatureKey: ds.publicKey, credential: dsCred }]) },
          { extensionType: extensionTypes.required_capabilities, extensionData: required },
        ];
        const gce = (e: Extension[]) => ({ proposalType: proposalTypes.group_context_extensions, groupContextExtensions: { extensions: e } }) as const;
        const { created } = await g.commit("alice", { proposals: [gce(exts)] });
        expect(created.staged.extensionsChanged).toBe(true);
        expect(g.get("dave").groupContext.extensions).toEqual(exts);
        // An extension type no member supports, or a required one, is refused (RFC 9420 §12.1.7, §13.4).
        const unknown = { extensionType: 0xff01, extensionData: new Uint8Array(0) };
        await expect(createCommit(g.get("bob"), { proposals: [gce([...exts, unknown])] })).rejects.toMatchObject({ code: "valid.unsupported_group_extension" });
        const requireUnknown = { extensionType: extensionTypes.required_capabilities, extensionData: encodeRequiredCapabilities({ extensionTypes: [0xff02], proposalTypes: [], credentialTypes: [] }) };
        await expect(createCommit(g.get("bob"), { proposals: [gce([requireUnknown])] })).rejects.toMatchObject({ code: "valid.unsupported_required_capability" });

        // The external sender (e.g. the Delivery Service) proposes removing erin (RFC 9420 §12.1.8).
        const s0 = g.get("alice");
        const content: FramedContent = {
          groupId: s0.groupId,
          epoch: s0.epoch,
          sender: { senderType: senderTypes.external, senderIndex: 0 },
          authenticatedData: new Uint8Array(0),
          contentType: contentTypes.proposal,
          proposal: { proposalType: proposalTypes.remove, remove: { removed: g.leafOf("erin") } },
        };
        const ac = signFramedContent({ cs, signaturePrivateKey: ds.privateKey, wireFormat: wireFormats.mls_public_message, content });
        const msg: MlsMessage = { version: 1, wireFormat: wireFormats.mls_public_message, publicMessage: protectPublicMessage(cs, ac) };
        for (const n of g.names()) {
          const r = await processMessage(g.get(n), wire(msg));
          if (r.kind !== "proposal") throw new Error("expected a proposal");
          expect(r.sender).toEqual({ senderType: senderTypes.external, senderIndex: 0 });
          g.states.set(n, r.state);
        }
        // An Update from an external sender is malformed (RFC 9420 §12.1.8).
        const bad = signFramedContent({ cs, signaturePrivateKey: ds.privateKey, wireFormat: wireFormats.mls_public_message, content: { ...content, proposal: { proposalType: proposalTypes.update, update: { leafNode: s0.ownLeafNode } } } });
        await expect(processMessage(s0, { version: 1, wireFormat: wireFormats.mls_public_message, publicMessage: protectPublicMessage(cs, bad) })).rejects.toMatchObject({ code: "valid.external_sender_content" });
        const r = await g.commit("carol");
        expect(r.created.staged.changes.removed.map((x) => x.identity)).toEqual(["erin"]);
        expect(r.created.staged.proposals[0]!.sender.senderType).toBe(senderTypes.external);
      });

      it("ReInit: a committed ReInit stops the old group (RFC 9420 §11.2, §12.4.2)", async () => {
        const g = await fiveMembers(p, wf);
        const sent = await proposeReInit(g.get("bob"), { groupId: utf8("new-group"), cipherSuite: 1 });
        await g.deliverProposal("bob", sent);
        // ReInit must be alone; the pending Update is preferred over it (RFC 9420 §12.2 SHOULD).
        await g.deliverProposal("dave", await proposeUpdate(g.get("dave")));
        const c1 = await createCommit(g.get("carol"));
        expect(c1.staged.proposals.map((x) => x.proposal.proposalType)).toEqual([proposalTypes.update]);
        await g.accept("carol", c1);
        await g.deliverProposal("bob", await proposeReInit(g.get("bob"), { groupId: utf8("new-group"), cipherSuite: 1 }));
        const c2 = await createCommit(g.get("carol"));
        for (const n of g.names()) {
          if (n === "carol") continue;
          const r = await processMessage(g.get(n), wire(c2.commitMessage));
          if (r.kind !== "commit") throw new Error("expected a commit");
          expect(r.staged.reinit?.groupId).toEqual(utf8("new-group"));
          g.states.set(n, mergeStagedCommit(g.get(n), r.staged));
        }
        g.states.set("carol", mergeStagedCommit(g.get("carol"), c2.staged));
        for (const n of g.names()) {
          const st = g.get(n);
          expect(st.status.kind).toBe("pendingReinit");
          expect(() => protect(st, utf8("x"))).toThrow(UsageError);
          await expect(createCommit(st)).rejects.toMatchObject({ code: "usage.pending_reinit" });
        }
        expect(new Set(g.names().map((n) => toHex(g.get(n).epochAuthenticator()))).size).toBe(1);
      });

      it("tampered handshakes are rejected; invalid proposal lists are rejected", async () => {
        const g = await fiveMembers(p, wf);
        const c = await createCommit(g.get("alice"));
        const bytes = wire(c.commitMessage);
        const tampered = bytes.slice();
        tampered[tampered.length - 3]! ^= 1; // membership tag (public) or ciphertext (private)
        await expect(processMessage(g.get("bob"), tampered)).rejects.toThrow(wf === "public" ? CryptoError : Error);
        if (wf === "public" && c.commitMessage.wireFormat === wireFormats.mls_public_message) {
          // Without the membership tag a member's PublicMessage is rejected.
          const pm = c.commitMessage.publicMessage;
          await expect(processMessage(g.get("bob"), { ...c.commitMessage, publicMessage: { ...pm, membershipTag: new Uint8Array(32) } })).rejects.toThrow(CryptoError);
        }
        // §12.2: removing the committer, two removes of one leaf, an Update by value from the committer.
        const alice = g.get("alice");
        const rm = (i: number) => ({ proposalType: proposalTypes.remove, remove: { removed: i } }) as const;
        await expect(createCommit(alice, { proposals: [rm(alice.ownLeafIndex)] })).rejects.toMatchObject({ code: "valid.remove_committer" });
        await expect(createCommit(alice, { proposals: [rm(1), rm(1)] })).rejects.toMatchObject({ code: "valid.duplicate_leaf_change" });
        await expect(createCommit(alice, { proposals: [rm(42)] })).rejects.toMatchObject({ code: "valid.remove_blank_leaf" });
        // A KeyPackage of a client already in the group (same signature key), and twice the same new client.
        const again = await createKeyPackage({ cs: g.cs, credential: { credentialType: credentialTypes.basic, identity: utf8("bob") }, signaturePrivateKey: g.get("bob").signaturePrivateKey });
        const add = (k: CreatedKeyPackage) => ({ proposalType: proposalTypes.add, add: { keyPackage: k.keyPackage } }) as const;
        await expect(createCommit(alice, { proposals: [add(again)] })).rejects.toMatchObject({ code: "valid.add_existing_member" });
        const frank = await g.keyPackage("frank");
        await expect(createCommit(alice, { proposals: [add(frank), add(frank)] })).rejects.toMatchObject({ code: "valid.duplicate_add" });
        // Removing bob in the same commit makes re-adding his client valid.
        await expect(createCommit(alice, { proposals: [rm(g.leafOf("bob")), add(again)] })).resolves.toBeDefined();
        // The real commit still goes through afterwards.
        await g.accept("alice", c);
      });
    });
  }
}

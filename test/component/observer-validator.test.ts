/**
 * The hub's PublicGroup observer as its commit validator (src/component/observer-validator.ts),
 * the group policy (observer-policy.ts) and the hub's Remove proposals (affiliation-sync.ts), with
 * real MLS members (PublicMessage handshakes) and the real Sequencer over both stores.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MemoryStore } from "../../src/component/store/memory-store.js";
import { openSqliteStore } from "../../src/component/store/sqlite-store.js";
import { contentTypes, proposalTypes, senderTypes, wireFormats } from "../../src/mls/core/protocol.js";
import { decodeMlsMessage, encodeMlsMessage } from "../../src/mls/framing/mls-message.js";
import {
  completeExternalJoin,
  createCommit,
  createGroup,
  createGroupInfo,
  groupInfoMessage,
  joinExternally,
  joinFromWelcome,
  mergeStagedCommit,
  processMessage,
  proposeRemove,
  proposeUpdate,
} from "../../src/mls/group/index.js";
import { xmppBindingExtension } from "../../src/xmpp/binding-extension.js";
import { extensionTypes } from "../../src/mls/core/extension.js";
import { encodeExternalSenders } from "../../src/mls/core/external-senders.js";
import type { MlsMessage } from "../../src/mls/framing/mls-message.js";
import { parseMls } from "../../src/xmpp/delivery-stanzas.js";
import { buildCreate } from "../../src/xmpp/group-stanzas.js";
import { NS_MLS } from "../../src/xmpp/ns.js";
import { buildSubmit, parseAccepted } from "../../src/xmpp/submit-stanzas.js";
import { createTestGateway, DOMAIN } from "./gateway-helpers/fake-network.js";
import { errorOf, resultOf } from "./gateway-helpers/setup.js";
import { basic } from "../helpers/group-harness.js";
import { XmppProtocolError } from "../../src/xmpp/errors.js";
import { cs, makeKeyPackage } from "./gateway-helpers/mls-fixtures.js";
import { addOf, DEFAULT_POLICY, HUB, memberConfig, ObserverWorld, removeOf, wire } from "./gateway-helpers/observer-world.js";
import { tempDir } from "./helpers/fixtures.js";

const ALICE = "alice@example.org/phone";
const BOB = "bob@example.org/phone";
const BOB_TABLET = "bob@example.org/tablet";
const CAROL = "carol@example.org/laptop";
const DAVE = "dave@example.org/pc";
const ERIN = "erin@example.org/pc";

const dir = tempDir("xmpp-mls-observer-");
afterAll(() => dir.remove());
let dbs = 0;

/** The reason of a refused submission. */
async function refusal(p: Promise<unknown>): Promise<{ name: string; reason?: string }> {
  const e = await p.then(
    () => expect.unreachable("the submission should have been refused"),
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(XmppProtocolError);
  return (e as XmppProtocolError).app as { name: string; reason?: string };
}

/** Alice (owner) with bob and carol (members) in the group at epoch 1. */
async function threeMembers(w: ObserverWorld): Promise<void> {
  for (const [jid, a] of [["bob@example.org", "member"], ["carol@example.org", "member"], ["erin@example.org", "member"]] as const) w.affiliations.map.set(jid, a);
  await w.create(ALICE);
  const bob = await makeKeyPackage(BOB);
  const carol = await makeKeyPackage(CAROL);
  const v = await w.submitCommit(ALICE, await w.commit(ALICE, { proposals: [addOf(bob), addOf(carol)] }), [bob, carol]);
  expect(v).toEqual({ seq: 1, epoch: 1n, replayed: false });
}

/** A copy of a PublicMessage with one bit of its signature flipped. */
function badSignature(bytes: Uint8Array): Uint8Array {
  const m = decodeMlsMessage(bytes);
  if (m.wireFormat !== wireFormats.mls_public_message) throw new Error("not a PublicMessage");
  const signature = m.publicMessage.auth.signature.slice();
  signature[5]! ^= 1;
  return encodeMlsMessage({ ...m, publicMessage: { ...m.publicMessage, auth: { ...m.publicMessage.auth, signature } } });
}

const stores = [
  { name: "MemoryStore", open: () => new MemoryStore() },
  { name: "SqliteStore", open: () => openSqliteStore(join(dir.path, `observer-${++dbs}.sqlite`)) },
];

for (const impl of stores) {
  describe(`observer validator on ${impl.name}`, () => {
    it("follows accepted commits: adds with Welcome routing, self-removal by reference, updates with a path", async () => {
      const w = new ObserverWorld(impl.open());
      await threeMembers(w);
      await w.expectInSync();
      // The Welcome went to the added devices' full JIDs.
      expect(w.store.listWelcomes(w.groupId).map((r) => r.jid).sort()).toEqual([BOB, CAROL]);
      expect(w.store.getObserverCheckpoint(w.groupId)?.epoch).toBe(1n);

      // Carol leaves: her own Remove proposal (allowed for anyone), committed by bob by reference.
      const leave = await proposeRemove(w.get(CAROL), w.leafOf(CAROL));
      expect((await w.submit(CAROL, { proposals: [wire(leave.message)] })).seq).toBe(3);
      await w.deliverProposal(wire(leave.message), CAROL);
      w.members.set(CAROL, leave.state);
      await w.submitCommit(BOB, await w.commit(BOB));
      expect(w.members.has(CAROL)).toBe(false);
      await w.expectInSync();

      // An Update proposal and a commit with a path; then a commit without GroupInfo.
      const upd = await proposeUpdate(w.get(ALICE));
      await w.submit(ALICE, { proposals: [wire(upd.message)] });
      w.members.set(ALICE, upd.state);
      await w.deliverProposal(wire(upd.message), ALICE);
      await w.submitCommit(BOB, await w.commit(BOB, { forcePath: true }));
      await w.submitCommit(ALICE, await w.commit(ALICE, { forcePath: true }), [], { groupInfo: false });
      await w.expectInSync();
      expect(w.group.epoch).toBe(4n);
      expect(w.store.getObserverCheckpoint(w.groupId)?.epoch).toBe(3n);
      w.store.close();
    });

    it("refuses a bad signature, a non-admin removal, adding a non-member, a disallowed external join — changing nothing", async () => {
      const w = new ObserverWorld(impl.open());
      await threeMembers(w);
      const before = w.snapshot();

      const good = await w.commit(ALICE, { forcePath: true });
      expect(await refusal(w.submit(ALICE, { commit: badSignature(wire(good.commitMessage)), groupInfo: wire(good.groupInfo!) }))).toEqual({ name: "invalid-message", reason: "verification-failed" });

      const bobRemovesCarol = await w.commit(BOB, { proposals: [removeOf(w.leafOf(CAROL))] });
      expect(await refusal(w.submit(BOB, { commit: wire(bobRemovesCarol.commitMessage) }))).toEqual({ name: "policy-violation", reason: "not-authorized-remove" });
      const proposal = await proposeRemove(w.get(BOB), w.leafOf(CAROL));
      expect(await refusal(w.submit(BOB, { proposals: [wire(proposal.message)] }))).toEqual({ name: "policy-violation", reason: "not-authorized-remove" });

      const dave = await makeKeyPackage(DAVE);
      const addDave = await w.commit(ALICE, { proposals: [addOf(dave)] });
      expect(await refusal(w.submit(ALICE, { commit: wire(addDave.commitMessage), welcome: wire(addDave.welcome!), groupInfo: wire(addDave.groupInfo!) }))).toEqual({
        name: "policy-violation",
        reason: "not-affiliated",
      });
      expect(w.affiliations.refreshes).toBeGreaterThan(0);
      const erin = await makeKeyPackage(ERIN);
      const bobAddsErin = await w.commit(BOB, { proposals: [addOf(erin)] });
      expect(await refusal(w.submit(BOB, { commit: wire(bobAddsErin.commitMessage), welcome: wire(bobAddsErin.welcome!) }))).toEqual({ name: "policy-violation", reason: "not-authorized-add" });

      const gi = decodeMlsMessage(w.store.getGroupInfo(w.groupId)!.bytes);
      const join = await joinExternally({ cs, config: memberConfig, groupInfo: gi, credential: basic(ERIN), signaturePrivateKey: cs.signatureKeyPair().privateKey });
      expect(await refusal(w.submit(ERIN, { commit: wire(join.commitMessage), groupInfo: wire(join.groupInfo!) }))).toEqual({ name: "policy-violation", reason: "external-join-disabled" });

      // Someone else's commit, and a GroupInfo that is not the new epoch's.
      expect(await refusal(w.submit(BOB, { commit: wire(good.commitMessage) }))).toEqual({ name: "invalid-message", reason: "identity-mismatch" });
      const stale = wire(groupInfoMessage(await createGroupInfo(w.get(ALICE))));
      expect(await refusal(w.submit(ALICE, { commit: wire(good.commitMessage), groupInfo: stale }))).toMatchObject({ reason: "invalid-group-info" });
      expect(w.snapshot()).toEqual(before);
      expect(w.reflections.filter((r) => r.epoch > 0n)).toEqual([]);

      // The valid ones still go through: alice's commit, bob adding his own tablet.
      await w.submitCommit(ALICE, good);
      const tablet = await makeKeyPackage(BOB_TABLET);
      await w.submitCommit(BOB, await w.commit(BOB, { proposals: [addOf(tablet)] }), [tablet]);
      await w.expectInSync();
      expect(w.members.has(BOB_TABLET)).toBe(true);
      w.store.close();
    });

    it("allows external joins by affiliated accounts when the policy does, with the GroupInfo", async () => {
      const w = new ObserverWorld(impl.open());
      await threeMembers(w);
      w.store.updateGroupPolicy(w.groupId, { ...DEFAULT_POLICY, allowExternalJoin: true });
      const gi = decodeMlsMessage(w.store.getGroupInfo(w.groupId)!.bytes);
      const dave = await joinExternally({ cs, config: memberConfig, groupInfo: gi, credential: basic(DAVE), signaturePrivateKey: cs.signatureKeyPair().privateKey });
      expect(await refusal(w.submit(DAVE, { commit: wire(dave.commitMessage), groupInfo: wire(dave.groupInfo!) }))).toEqual({ name: "policy-violation", reason: "not-affiliated" });
      const erin = await joinExternally({ cs, config: memberConfig, groupInfo: gi, credential: basic(ERIN), signaturePrivateKey: cs.signatureKeyPair().privateKey });
      expect(await refusal(w.submit(ERIN, { commit: wire(erin.commitMessage) }))).toEqual({ name: "invalid-message", reason: "invalid-group-info" });
      await w.submit(ERIN, { commit: wire(erin.commitMessage), groupInfo: wire(erin.groupInfo!) });
      await w.deliverCommit(erin.commitMessage, null);
      w.members.set(ERIN, completeExternalJoin(erin.staged));
      await w.expectInSync();
      w.store.close();
    });

    it("proposes the removal of a revoked account's devices once per epoch; members process and commit it", async () => {
      const w = new ObserverWorld(impl.open());
      await threeMembers(w);
      const tablet = await makeKeyPackage(BOB_TABLET);
      await w.submitCommit(ALICE, await w.commit(ALICE, { proposals: [addOf(tablet)] }), [tablet]);

      w.affiliations.map.set("bob@example.org", "none");
      expect(await w.sync.revoke(w.group, "bob@example.org")).toBe(2);
      expect(await w.sync.revoke(w.group, "Bob@example.org")).toBe(0);
      const entries = w.store.readLog(w.groupId, { afterEpoch: w.group.epoch, max: 10 }).entries.filter((e) => e.kind !== "welcome-record");
      expect(entries.map((e) => [e.kind, e.sender])).toEqual([["proposal", HUB], ["proposal", HUB]]);
      const removed: number[] = [];
      for (const e of entries) {
        const m = decodeMlsMessage(e.bytes);
        if (m.wireFormat !== wireFormats.mls_public_message || m.publicMessage.content.contentType !== contentTypes.proposal) throw new Error("not a proposal");
        expect(m.publicMessage.content.sender).toEqual({ senderType: senderTypes.external, senderIndex: 0 });
        expect(m.publicMessage.membershipTag).toBeUndefined();
        const p = m.publicMessage.content.proposal;
        if (p.proposalType !== proposalTypes.remove) throw new Error("not a Remove");
        removed.push(p.remove.removed);
        // Every member (bob's devices included) accepts it as a valid external proposal.
        for (const [name, state] of [...w.members]) {
          const r = await processMessage(state, e.bytes);
          expect(r.kind).toBe("proposal");
          if (r.kind === "proposal") w.members.set(name, r.state);
        }
      }
      expect(removed.sort()).toEqual([w.leafOf(BOB), w.leafOf(BOB_TABLET)].sort());
      expect(w.reflections.slice(-2).map((r) => r.kind)).toEqual(["proposal", "proposal"]);

      // A Commit leaving them out is refused; one including them (by reference) removes bob.
      const partial = await w.commit(CAROL, { includePending: false, forcePath: true });
      expect(await refusal(w.submit(CAROL, { commit: wire(partial.commitMessage) }))).toEqual({ name: "policy-violation", reason: "missing-proposals" });
      const v = await w.submitCommit(CAROL, await w.commit(CAROL));
      expect(v.epoch).toBe(3n);
      expect([...w.members.keys()].sort()).toEqual([ALICE, CAROL]);
      await w.expectInSync();
      await expect.poll(() => w.sync.pending(w.groupId)).toEqual([]);
      expect(await w.sync.revoke(w.group, "bob@example.org")).toBe(0);
      w.store.close();
    });
  });
}

describe("the hub's Remove proposals across epochs", () => {
  it("issues pending removals again when an external Commit moves the epoch on", async () => {
    const w = new ObserverWorld(new MemoryStore());
    await threeMembers(w);
    w.store.updateGroupPolicy(w.groupId, { ...DEFAULT_POLICY, allowExternalJoin: true });
    w.affiliations.map.set("carol@example.org", "outcast");
    expect(await w.sync.revoke(w.group, CAROL)).toBe(1);
    expect(w.sync.pending(w.groupId)).toEqual(["carol@example.org"]);
    // An external Commit cannot reference proposals (RFC 9420 §12.4.3.2): it is not held to them.
    const gi = decodeMlsMessage(w.store.getGroupInfo(w.groupId)!.bytes);
    const erin = await joinExternally({ cs, config: memberConfig, groupInfo: gi, credential: basic(ERIN), signaturePrivateKey: cs.signatureKeyPair().privateKey });
    await w.submit(ERIN, { commit: wire(erin.commitMessage), groupInfo: wire(erin.groupInfo!) });
    // The hub proposes carol's removal again, in epoch 2.
    await expect.poll(() => w.store.readLog(w.groupId, { afterEpoch: 2n, max: 10 }).entries.filter((e) => e.sender === HUB).map((e) => e.epoch)).toEqual([2n]);
    expect(w.sync.pending(w.groupId)).toEqual(["carol@example.org"]);
  });
});

describe("the gateway's default validator (fake network)", () => {
  it("validates a real group: admin adds, a member's add refused, a revoked account's device proposed for removal", async () => {
    const t = createTestGateway({ observer: true });
    expect(t.services.observer).not.toBeNull();
    const room = t.net.addRoom("observed", "alice@example.org").jid;
    t.net.setAffiliation(room, "bob@example.org", "member");
    t.net.setAffiliation(room, "carol@example.org", "member");
    const aliceKp = await makeKeyPackage(ALICE);
    let alice = await createGroup({
      cs, config: memberConfig, leaf: { keyPackage: aliceKp.keyPackage, privateKeys: aliceKp.privateKeys },
      extensions: [xmppBindingExtension(room, DOMAIN), { extensionType: extensionTypes.external_senders, extensionData: encodeExternalSenders([t.identity.externalSender(1)]) }],
    });
    const gi = wire(groupInfoMessage(await createGroupInfo(alice)));
    resultOf(await t.net.iq(ALICE, "set", buildCreate({ group: alice.groupId, room, groupInfo: gi })));

    // Alice (owner) adds bob's phone; the Welcome goes to bob's device.
    const bobKp = await makeKeyPackage(BOB);
    const add = await createCommit(alice, { proposals: [addOf(bobKp)] });
    const sub = (c: { commitMessage: MlsMessage; welcome: MlsMessage | null; groupInfo: MlsMessage | null }, epoch: bigint) =>
      buildSubmit({ group: alice.groupId, epoch, proposals: [], commit: wire(c.commitMessage), ...(c.welcome !== null && { welcome: wire(c.welcome) }), ...(c.groupInfo !== null && { groupInfo: wire(c.groupInfo) }) });
    expect(parseAccepted(resultOf(await t.net.iq(ALICE, "set", sub(add, 0n)))!)).toEqual({ seq: 1, epoch: 1n });
    alice = mergeStagedCommit(alice, add.staged);
    await t.net.settle();
    expect(t.net.outbox.some((m) => m.attrs.to === BOB && m.getChild("welcome", NS_MLS) !== undefined)).toBe(true);
    const bob = (await joinFromWelcome({ cs, config: memberConfig, welcome: add.welcome!, keyPackage: bobKp.keyPackage, keyPackagePrivateKeys: bobKp.privateKeys })).state;

    // Bob (member) may not add carol.
    const bobAdds = await createCommit(bob, { proposals: [addOf(await makeKeyPackage(CAROL))] });
    const refused = errorOf(await t.net.iq(BOB, "set", sub(bobAdds, 1n)));
    expect(refused.app).toEqual({ name: "policy-violation", reason: "not-authorized-add" });

    // The owner revokes bob's membership: the hub proposes his removal in the room.
    t.net.setAffiliation(room, "bob@example.org", "none");
    const messages = t.net.rooms.get(room)!.messages;
    await expect.poll(() => messages.length, { timeout: 5000 }).toBe(2);
    const reflected = parseMls(messages[1]!.getChild("mls", NS_MLS)!);
    expect([reflected.kind, reflected.epoch, reflected.seq]).toEqual(["proposal", 1n, 3]);
    const r = await processMessage(alice, reflected.message);
    expect(r.kind === "proposal" && r.proposal.proposalType === proposalTypes.remove && r.proposal.remove.removed === bob.ownLeafIndex).toBe(true);
  });
});

describe("observer validator across a restart", () => {
  it("rebuilds its view from the checkpoint and the log, and continues validating", async () => {
    const path = join(dir.path, "restart.sqlite");
    const w = new ObserverWorld(openSqliteStore(path), undefined, { checkpointInterval: 2 });
    await threeMembers(w);
    await w.submitCommit(BOB, await w.commit(BOB, { forcePath: true })); // epoch 2: checkpoint
    const upd = await proposeUpdate(w.get(CAROL));
    await w.submit(CAROL, { proposals: [wire(upd.message)] });
    w.members.set(CAROL, upd.state);
    await w.deliverProposal(wire(upd.message), CAROL);
    await w.submitCommit(ALICE, await w.commit(ALICE)); // epoch 3, no checkpoint (interval 2)
    await w.submitCommit(ALICE, await w.commit(ALICE, { forcePath: true }), [], { groupInfo: false }); // epoch 4, no GroupInfo
    const bobRemove = await proposeRemove(w.get(BOB), w.leafOf(BOB));
    await w.submit(BOB, { proposals: [wire(bobRemove.message)] }); // pending in epoch 4
    w.members.set(BOB, bobRemove.state);
    await w.deliverProposal(wire(bobRemove.message), BOB);
    expect(w.store.getObserverCheckpoint(w.groupId)?.epoch).toBe(2n);
    w.store.close();

    // A new process: a new store connection, a new validator with nothing in memory.
    w.attach(openSqliteStore(path));
    await w.expectInSync();
    const before = w.snapshot();
    const bad = await w.commit(CAROL, { proposals: [removeOf(w.leafOf(ALICE))] });
    expect(await refusal(w.submit(CAROL, { commit: wire(bad.commitMessage) }))).toEqual({ name: "policy-violation", reason: "not-authorized-remove" });
    expect(w.snapshot()).toEqual(before);
    // Bob's Remove, accepted before the restart, is referenced by the next Commit.
    const v = await w.submitCommit(CAROL, await w.commit(CAROL));
    expect(v.epoch).toBe(5n);
    expect(w.members.has(BOB)).toBe(false);
    await w.expectInSync();
    expect(w.store.getObserverCheckpoint(w.groupId)?.epoch).toBe(5n);
    w.store.close();
  });

  it("checks KeyPackage lifetimes of new Adds, but not when replaying old Commits", async () => {
    const path = join(dir.path, "lifetimes.sqlite");
    const clock = { ms: Date.now() };
    const options = { now: () => clock.ms, checkpointInterval: 10 };
    const w = new ObserverWorld(openSqliteStore(path), undefined, options);
    await threeMembers(w); // adds bob's and carol's KeyPackages (90 days)
    await w.submitCommit(ALICE, await w.commit(ALICE, { forcePath: true }), [], { groupInfo: false });
    w.store.close();
    clock.ms += 200 * 24 * 3600 * 1000;
    w.attach(openSqliteStore(path));
    expect(w.store.getObserverCheckpoint(w.groupId)?.epoch).toBe(0n);
    await w.expectInSync(); // replayed from epoch 0: the Adds of now expired KeyPackages included
    const late = await makeKeyPackage("erin@example.org/old");
    const add = await w.commit(ALICE, { proposals: [addOf(late)] });
    expect(await refusal(w.submit(ALICE, { commit: wire(add.commitMessage), welcome: wire(add.welcome!) }))).toEqual({ name: "invalid-message", reason: "invalid-key-package" });
    w.store.close();
  });

  it("only sequences groups whose handshakes are PrivateMessages (framing checks, no signatures)", async () => {
    const w = new ObserverWorld(new MemoryStore());
    await w.create(ALICE);
    const forged = badSignature(wire((await w.commit(ALICE)).commitMessage));
    const ctx = { group: w.group, cipherSuite: 1, proposals: [] };
    expect(await w.validator.validate(w.groupId, 0n, forged, ALICE, ctx)).toMatchObject({ ok: false, reason: "verification-failed" });
    const privateGroup = { ...w.group, handshakeWireFormat: "private" as const };
    expect(await w.validator.viewOf(privateGroup)).toBeNull();
    expect(await w.validator.validate(w.groupId, 0n, forged, ALICE, { ...ctx, group: privateGroup })).toMatchObject({ ok: true, newEpoch: 1n, added: [], removed: [] });
  });
});

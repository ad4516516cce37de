/**
 * Submissions through the gateway (XEP "Handshake Submission and Verdicts", "Delivery",
 * "Catch-up"): verdicts, ordering, reflection into the room, Welcome routing, and every refusal
 * leaving the store exactly as it was.
 */
import { describe, expect, it } from "vitest";
import { WrongEpochError } from "../../src/component/errors.js";
import { proposalOrRefTypes, senderTypes } from "../../src/mls/core/protocol.js";
import { makeProposalRef } from "../../src/crypto/labeled.js";
import { encodeAuthenticatedContent } from "../../src/mls/framing/framed-content.js";
import { decodeMlsMessage } from "../../src/mls/framing/mls-message.js";
import { toBase64 } from "../../src/util/bytes.js";
import { parseMls, parseWelcome } from "../../src/xmpp/delivery-stanzas.js";
import { buildLogRequest, parseLogResult } from "../../src/xmpp/log-stanzas.js";
import { NS_EME, NS_HINTS, NS_MLS } from "../../src/xmpp/ns.js";
import { buildSubmit, parseAccepted, type Submit } from "../../src/xmpp/submit-stanzas.js";
import { xml, type Element } from "../../src/xmpp/xml.js";
import { createTestGateway, DOMAIN, testConfig, type TestGateway } from "./gateway-helpers/fake-network.js";
import { addOf, cs, makeEpochGroupInfo, makeKeyPackage, syntheticCommit, syntheticProposal, syntheticWelcome } from "./gateway-helpers/mls-fixtures.js";
import { ALICE_PHONE, BOB, BOB_DESKTOP, BOB_PHONE, CAROL, CAROL_LAPTOP, errorOf, publish, registerGroup, resultOf, snapshot, type RegisteredGroup } from "./gateway-helpers/setup.js";

async function submit(t: TestGateway, from: string, v: Partial<Submit> & Pick<Submit, "group" | "epoch">): Promise<Element> {
  return t.net.iq(from, "set", buildSubmit({ proposals: [], ...v }));
}

async function accepted(t: TestGateway, from: string, v: Partial<Submit> & Pick<Submit, "group" | "epoch">): Promise<{ seq: number; epoch: bigint }> {
  return parseAccepted(resultOf(await submit(t, from, v))!);
}

function reflected(t: TestGateway, g: RegisteredGroup): ReturnType<typeof parseMls>[] {
  return t.net.rooms.get(g.room)!.messages.map((m) => {
    expect(m.attrs.from).toBe(DOMAIN);
    expect(m.attrs.type).toBe("groupchat");
    expect(m.getChild("encryption", NS_EME)?.attrs.namespace).toBe(NS_MLS);
    expect(m.getChild("store", NS_HINTS)).toBeDefined();
    expect(m.getChild("body")).toBeUndefined();
    return parseMls(m.getChild("mls", NS_MLS)!);
  });
}

describe("submit: verdicts", () => {
  it("accepts commits in order: seq and epoch increase, each is reflected into the room and logged", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    const c0 = syntheticCommit(g.groupId, 0n);
    expect(await accepted(t, ALICE_PHONE, { group: g.groupId, epoch: 0n, commit: c0 })).toEqual({ seq: 1, epoch: 1n });
    const c1 = syntheticCommit(g.groupId, 1n);
    expect(await accepted(t, BOB_PHONE, { group: g.groupId, epoch: 1n, commit: c1 })).toEqual({ seq: 2, epoch: 2n });
    expect(t.store.getGroup(g.groupIdHex).epoch).toBe(2n);

    const room = reflected(t, g);
    expect(room.map((m) => [m.kind, m.epoch, m.seq])).toEqual([["commit", 0n, 1], ["commit", 1n, 2]]);
    expect(room[0]!.message).toEqual(c0);
    const log = t.store.readLog(g.groupIdHex, { max: 10 });
    expect(log.entries.map((e) => [e.kind, e.epoch, e.sender])).toEqual([["commit", 0n, ALICE_PHONE], ["commit", 1n, BOB_PHONE]]);
  });

  it("sequences proposals before the commit and answers the commit's seq", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    const alone = syntheticProposal(g.groupId, 0n);
    expect(await accepted(t, BOB_PHONE, { group: g.groupId, epoch: 0n, proposals: [alone] })).toEqual({ seq: 1, epoch: 0n });
    const p1 = syntheticProposal(g.groupId, 0n);
    const p2 = syntheticProposal(g.groupId, 0n);
    const v = await accepted(t, ALICE_PHONE, { group: g.groupId, epoch: 0n, proposals: [p1, p2], commit: syntheticCommit(g.groupId, 0n) });
    expect(v).toEqual({ seq: 4, epoch: 1n });
    expect(reflected(t, g).map((m) => [m.kind, m.seq])).toEqual([["proposal", 1], ["proposal", 2], ["proposal", 3], ["commit", 4]]);
  });

  it("first commit wins: a second commit for the same epoch gets wrong-epoch with the current epoch", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    await accepted(t, ALICE_PHONE, { group: g.groupId, epoch: 0n, commit: syntheticCommit(g.groupId, 0n) });
    const before = snapshot(t);
    const e = errorOf(await submit(t, BOB_PHONE, { group: g.groupId, epoch: 0n, commit: syntheticCommit(g.groupId, 0n) }));
    expect(e.type).toBe("modify");
    expect(e.condition).toBe("conflict");
    expect(e.app).toEqual({ name: "wrong-epoch", current: 1n });
    expect(errorOf(await submit(t, BOB_PHONE, { group: g.groupId, epoch: 7n, commit: syntheticCommit(g.groupId, 7n) })).app).toEqual({ name: "wrong-epoch", current: 1n });
    expect(snapshot(t)).toEqual(before);
  });

  it("concurrent commits for one epoch: exactly one wins", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    const replies = await Promise.all(
      [ALICE_PHONE, BOB_PHONE, `${BOB}/tablet`].map((from) => submit(t, from, { group: g.groupId, epoch: 0n, commit: syntheticCommit(g.groupId, 0n) })),
    );
    expect(replies.filter((r) => r.attrs.type === "result")).toHaveLength(1);
    expect(replies.filter((r) => r.attrs.type === "error").map((r) => errorOf(r).app)).toEqual([
      { name: "wrong-epoch", current: 1n },
      { name: "wrong-epoch", current: 1n },
    ]);
    expect(t.store.readLog(g.groupIdHex, { max: 10 }).count).toBe(1);
  });

  it("answers an identical resubmission with the original verdict, storing nothing", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    const c = syntheticCommit(g.groupId, 0n);
    const first = await accepted(t, ALICE_PHONE, { group: g.groupId, epoch: 0n, commit: c });
    await accepted(t, BOB_PHONE, { group: g.groupId, epoch: 1n, commit: syntheticCommit(g.groupId, 1n) });
    const before = snapshot(t);
    expect(await accepted(t, ALICE_PHONE, { group: g.groupId, epoch: 0n, commit: c })).toEqual(first);
    const p = syntheticProposal(g.groupId, 2n);
    const pv = await accepted(t, BOB_PHONE, { group: g.groupId, epoch: 2n, proposals: [p] });
    const after = snapshot(t);
    expect(await accepted(t, BOB_PHONE, { group: g.groupId, epoch: 2n, proposals: [p] })).toEqual(pv);
    expect(snapshot(t)).toEqual(after);
    expect(after.length).toBe(before.length + 1);
    expect(t.net.rooms.get(g.room)!.messages).toHaveLength(3);
  });

  it("replaying an old commit under the current epoch attribute is refused (attribute-mismatch)", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    const c = syntheticCommit(g.groupId, 0n);
    await accepted(t, ALICE_PHONE, { group: g.groupId, epoch: 0n, commit: c });
    const before = snapshot(t);
    const e = errorOf(await submit(t, BOB_PHONE, { group: g.groupId, epoch: 1n, commit: c }));
    expect(e.app).toEqual({ name: "invalid-message", reason: "attribute-mismatch" });
    expect(snapshot(t)).toEqual(before);
  });
});

describe("submit: refusals leave the store intact", () => {
  async function refused(t: TestGateway, el: Element, from = ALICE_PHONE): Promise<ReturnType<typeof errorOf>> {
    const before = snapshot(t);
    const e = errorOf(await t.net.iq(from, "set", el));
    expect(snapshot(t)).toEqual(before);
    return e;
  }

  it("unknown group", async () => {
    const t = createTestGateway();
    await registerGroup(t);
    const gid = new Uint8Array([1, 2, 3, 4]);
    const e = await refused(t, buildSubmit({ group: gid, epoch: 0n, proposals: [], commit: syntheticCommit(gid, 0n) }));
    expect(e.condition).toBe("item-not-found");
    expect(e.app).toEqual({ name: "unknown-group" });
  });

  it("not a member of the room", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    const e = await refused(t, buildSubmit({ group: g.groupId, epoch: 0n, proposals: [], commit: syntheticCommit(g.groupId, 0n) }), CAROL_LAPTOP);
    expect(e.condition).toBe("forbidden");
    expect(e.app).toEqual({ name: "policy-violation", reason: "not-member" });
  });

  it("malformed base64, missing attributes, wrong element order", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    const bad = [
      xml("submit", { xmlns: NS_MLS, group: g.groupIdHex, epoch: "0" }, xml("commit", {}, "@@@notbase64@@@")),
      xml("submit", { xmlns: NS_MLS, group: g.groupIdHex }, xml("commit", {}, toBase64(syntheticCommit(g.groupId, 0n)))),
      xml("submit", { xmlns: NS_MLS, group: g.groupIdHex.toUpperCase(), epoch: "0" }, xml("commit", {}, toBase64(syntheticCommit(g.groupId, 0n)))),
      xml("submit", { xmlns: NS_MLS, group: g.groupIdHex, epoch: "-1" }, xml("commit", {}, toBase64(syntheticCommit(g.groupId, 0n)))),
      xml("submit", { xmlns: NS_MLS, group: g.groupIdHex, epoch: "0" }, xml("commit", {}, toBase64(syntheticCommit(g.groupId, 0n))), xml("proposal", {}, toBase64(syntheticProposal(g.groupId, 0n)))),
      xml("submit", { xmlns: NS_MLS, group: g.groupIdHex, epoch: "0" }),
      xml("submit", { xmlns: NS_MLS, group: g.groupIdHex, epoch: "0" }, xml("welcome", {}, "AAAA")),
    ];
    for (const el of bad) expect((await refused(t, el)).condition).toBe("bad-request");
  });

  it("truncated, mutated and trailing-garbage MLS messages", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    const c = syntheticCommit(g.groupId, 0n);
    const mutatedWireFormat = c.slice();
    mutatedWireFormat[3] = 0x09;
    const mutatedLength = c.slice();
    mutatedLength[4] = 0x3f; // group_id length prefix no longer fits
    const cases: [Uint8Array, string][] = [
      [c.subarray(0, c.length - 7), "malformed"],
      [new Uint8Array([...c, 0, 0]), "malformed"],
      [mutatedWireFormat, "malformed"],
      [mutatedLength, "malformed"],
      [syntheticProposal(g.groupId, 0n), "attribute-mismatch"],
      [makeEpochGroupInfo(g.groupId, 1n, g.room, DOMAIN), "wire-format"],
    ];
    for (const [bytes, reason] of cases) {
      const e = await refused(t, buildSubmit({ group: g.groupId, epoch: 0n, proposals: [], commit: bytes }));
      expect(e.condition).toBe("bad-request");
      expect(e.app).toEqual({ name: "invalid-message", reason });
    }
  });

  it("wrong group id inside the message; epoch attribute disagreeing with the message", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    const other = cs.randomBytes(16);
    expect((await refused(t, buildSubmit({ group: g.groupId, epoch: 0n, proposals: [], commit: syntheticCommit(other, 0n) }))).app).toEqual({ name: "invalid-message", reason: "wrong-group" });
    expect((await refused(t, buildSubmit({ group: g.groupId, epoch: 0n, proposals: [syntheticProposal(other, 0n)] }))).app).toEqual({ name: "invalid-message", reason: "wrong-group" });
    expect((await refused(t, buildSubmit({ group: g.groupId, epoch: 0n, proposals: [], commit: syntheticCommit(g.groupId, 3n) }))).app).toEqual({ name: "invalid-message", reason: "attribute-mismatch" });
  });

  it("a bad proposal rejects the whole submission, commit included", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    const e = await refused(t, buildSubmit({ group: g.groupId, epoch: 0n, proposals: [syntheticProposal(g.groupId, 0n), new Uint8Array([0, 1, 0, 1])], commit: syntheticCommit(g.groupId, 0n) }));
    expect(e.app).toEqual({ name: "invalid-message", reason: "malformed" });
    expect(t.store.getGroup(g.groupIdHex).epoch).toBe(0n);
  });

  it("an external commit when external joins are off; a commit referencing an unknown proposal", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    const ext = syntheticCommit(g.groupId, 0n, { sender: { senderType: senderTypes.new_member_commit } });
    const e = await refused(t, buildSubmit({ group: g.groupId, epoch: 0n, proposals: [], commit: ext }));
    expect(e.condition).toBe("not-allowed");
    expect(e.app).toEqual({ name: "policy-violation", reason: "external-join-disabled" });
    const byRef = syntheticCommit(g.groupId, 0n, { proposals: [{ type: proposalOrRefTypes.reference, reference: cs.randomBytes(32) }] });
    expect((await refused(t, buildSubmit({ group: g.groupId, epoch: 0n, proposals: [], commit: byRef }))).app).toEqual({ name: "invalid-message", reason: "invalid-commit" });
  });

  it("oversized stanza and oversized payload", async () => {
    const t = createTestGateway({ config: testConfig({ maxStanzaBytes: 2048, maxPayloadBytes: 1024 }) });
    const g = await registerGroup(t);
    const big = buildSubmit({ group: g.groupId, epoch: 0n, proposals: [syntheticProposal(g.groupId, 0n), syntheticProposal(g.groupId, 0n), syntheticProposal(g.groupId, 0n)], commit: syntheticCommit(g.groupId, 0n) });
    big.append(xml("padding", { xmlns: "urn:example:pad" }, "x".repeat(4096)));
    const e = await refused(t, big);
    expect(e.condition).toBe("policy-violation");
    expect(e.app).toEqual({ name: "too-large", max: 2048 });
    const payload = xml("submit", { xmlns: NS_MLS, group: g.groupIdHex, epoch: "0" }, xml("commit", {}, toBase64(cs.randomBytes(1200))));
    expect((await refused(t, payload)).app).toEqual({ name: "too-large", max: 1024 });
  });

  it("rate limit per account", async () => {
    const t = createTestGateway({ config: testConfig({ rateLimits: { submitPerMinute: 2 } }) });
    const g = await registerGroup(t);
    await accepted(t, BOB_PHONE, { group: g.groupId, epoch: 0n, proposals: [syntheticProposal(g.groupId, 0n)] });
    await accepted(t, BOB_DESKTOP, { group: g.groupId, epoch: 0n, proposals: [syntheticProposal(g.groupId, 0n)] });
    const e = await refused(t, buildSubmit({ group: g.groupId, epoch: 0n, proposals: [syntheticProposal(g.groupId, 0n)] }), BOB_PHONE);
    expect(e.type).toBe("wait");
    expect(e.condition).toBe("resource-constraint");
    expect(e.app?.name).toBe("rate-limited");
    await accepted(t, ALICE_PHONE, { group: g.groupId, epoch: 0n, proposals: [syntheticProposal(g.groupId, 0n)] });
  });

  it("a GroupInfo for the wrong epoch or without the binding", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    const commit = syntheticCommit(g.groupId, 0n);
    expect((await refused(t, buildSubmit({ group: g.groupId, epoch: 0n, proposals: [], commit, groupInfo: makeEpochGroupInfo(g.groupId, 5n, g.room, DOMAIN) }))).app).toEqual({
      name: "invalid-message",
      reason: "invalid-group-info",
    });
    expect((await refused(t, buildSubmit({ group: g.groupId, epoch: 0n, proposals: [], commit, groupInfo: makeEpochGroupInfo(g.groupId, 1n, g.room, "mls.evil.org") }))).app).toEqual({
      name: "invalid-message",
      reason: "binding-mismatch",
    });
    const ok = await accepted(t, ALICE_PHONE, { group: g.groupId, epoch: 0n, commit, groupInfo: makeEpochGroupInfo(g.groupId, 1n, g.room, DOMAIN) });
    expect(ok.epoch).toBe(1n);
    expect(t.store.getGroupInfo(g.groupIdHex)?.epoch).toBe(1n);
  });
});

describe("submit: Welcome", () => {
  it("routes the Welcome of a commit adding bob's devices to their full JIDs, and logs a welcome-record", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    const desktop = await makeKeyPackage(BOB_DESKTOP);
    const phone = await makeKeyPackage(BOB_PHONE);
    const welcome = syntheticWelcome([desktop.ref, phone.ref]);
    const v = await accepted(t, ALICE_PHONE, { group: g.groupId, epoch: 0n, commit: syntheticCommit(g.groupId, 0n, { proposals: [addOf(desktop), addOf(phone)] }), welcome });
    expect(v).toEqual({ seq: 1, epoch: 1n });
    await t.net.settle();
    const sent = t.net.outbox.filter((m) => m.getChild("welcome", NS_MLS) !== undefined);
    expect(sent.map((m) => m.attrs.to).sort()).toEqual([BOB_DESKTOP, BOB_PHONE]);
    for (const m of sent) {
      expect(m.attrs.type).toBe("normal");
      expect(m.attrs.from).toBe(DOMAIN);
      expect(m.getChild("store", NS_HINTS)).toBeDefined();
      const w = parseWelcome(m.getChild("welcome", NS_MLS)!);
      expect([w.room, w.epoch, w.seq]).toEqual([g.room, 1n, 1]);
      expect(w.welcome).toEqual(welcome);
    }
    expect(t.store.listWelcomes(g.groupIdHex).map((r) => [r.jid, r.delivered])).toEqual([[BOB_DESKTOP, true], [BOB_PHONE, true]]);
    expect(t.store.readLog(g.groupIdHex, { max: 10 }).entries.map((e) => [e.kind, e.epoch])).toEqual([["commit", 0n], ["welcome-record", 1n]]);
  });

  it("routes a Welcome through a proposal sent by reference, and through claims for PrivateMessage groups", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    const carolKp = await makeKeyPackage(CAROL_LAPTOP);
    t.net.setAffiliation(g.room, CAROL, "member");
    const add = syntheticProposal(g.groupId, 0n, { proposalType: 1, add: { keyPackage: carolKp.keyPackage } });
    const m = decodeMlsMessage(add);
    if (m.wireFormat !== 1) throw new Error("not public");
    const ref = makeProposalRef(cs, encodeAuthenticatedContent({ wireFormat: 1, content: m.publicMessage.content, auth: m.publicMessage.auth }));
    await accepted(t, BOB_PHONE, { group: g.groupId, epoch: 0n, proposals: [add] });
    const commit = syntheticCommit(g.groupId, 0n, { proposals: [{ type: proposalOrRefTypes.reference, reference: ref }] });
    expect(errorOf(await submit(t, ALICE_PHONE, { group: g.groupId, epoch: 0n, commit })).app).toEqual({ name: "invalid-message", reason: "missing-welcome" });
    await accepted(t, ALICE_PHONE, { group: g.groupId, epoch: 0n, commit, welcome: syntheticWelcome([carolKp.ref]) });
    await t.net.settle();
    expect(t.net.outbox.filter((x) => x.getChild("welcome", NS_MLS)).map((x) => x.attrs.to)).toEqual([CAROL_LAPTOP]);

    // PrivateMessage group: the DS only knows the claimed refs.
    const tp = createTestGateway({ config: testConfig({}, { handshakeWireFormat: "private" }) });
    const gp = await registerGroup(tp);
    const kp = await publish(tp, BOB, "desktop");
    resultOf(await tp.net.iq(ALICE_PHONE, "set", xml("claim", { xmlns: NS_MLS, jid: BOB, "cipher-suite": "1" })));
    const privateCommit = privateMessage(gp.groupId, 0n);
    await accepted(tp, ALICE_PHONE, { group: gp.groupId, epoch: 0n, commit: privateCommit, welcome: syntheticWelcome([kp.ref]) });
    await tp.net.settle();
    expect(tp.net.outbox.filter((x) => x.getChild("welcome", NS_MLS)).map((x) => x.attrs.to)).toEqual([BOB_DESKTOP]);
  });

  it("refuses adding an account that is not affiliated with the room (re-reading the affiliations)", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    const carolKp = await makeKeyPackage(CAROL_LAPTOP);
    const commit = syntheticCommit(g.groupId, 0n, { proposals: [addOf(carolKp)] });
    const before = snapshot(t);
    const e = errorOf(await submit(t, ALICE_PHONE, { group: g.groupId, epoch: 0n, commit, welcome: syntheticWelcome([carolKp.ref]) }));
    expect(e.condition).toBe("not-allowed");
    expect(e.app).toEqual({ name: "policy-violation", reason: "not-affiliated" });
    expect(snapshot(t)).toEqual(before);
    // Granted behind the DS's back (no notification): the re-read before the commit sees it.
    t.net.rooms.get(g.room)!.affiliations.set(CAROL, "member");
    expect(await accepted(t, ALICE_PHONE, { group: g.groupId, epoch: 0n, commit, welcome: syntheticWelcome([carolKp.ref]) })).toEqual({ seq: 1, epoch: 1n });
  });

  it("refuses a Welcome that does not address exactly the added KeyPackages, and a missing one", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    const desktop = await makeKeyPackage(BOB_DESKTOP);
    const phone = await makeKeyPackage(BOB_PHONE);
    const commit = syntheticCommit(g.groupId, 0n, { proposals: [addOf(desktop), addOf(phone)] });
    const before = snapshot(t);
    const e1 = errorOf(await submit(t, ALICE_PHONE, { group: g.groupId, epoch: 0n, commit, welcome: syntheticWelcome([desktop.ref]) }));
    expect(e1.app).toEqual({ name: "invalid-message", reason: "welcome-mismatch" });
    const e2 = errorOf(await submit(t, ALICE_PHONE, { group: g.groupId, epoch: 0n, commit }));
    expect(e2.app).toEqual({ name: "invalid-message", reason: "missing-welcome" });
    const e3 = errorOf(await submit(t, ALICE_PHONE, { group: g.groupId, epoch: 0n, commit: syntheticCommit(g.groupId, 0n), welcome: syntheticWelcome([desktop.ref]) }));
    expect(e3.app).toEqual({ name: "invalid-message", reason: "welcome-mismatch" });
    expect(snapshot(t)).toEqual(before);
    expect(t.net.outbox.filter((x) => x.getChild("welcome", NS_MLS))).toHaveLength(0);
  });
});

describe("log", () => {
  it("returns entries from an epoch on, paged with RSM", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    for (let e = 0n; e < 4n; e++) {
      await accepted(t, ALICE_PHONE, { group: g.groupId, epoch: e, proposals: [syntheticProposal(g.groupId, e)], commit: syntheticCommit(g.groupId, e) });
    }
    const all = parseLogResult(resultOf(await t.net.iq(BOB_PHONE, "get", buildLogRequest({ group: g.groupId })))!);
    expect(all.entries.map((x) => x.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(all.rsm).toEqual({ first: 1, last: 8, count: 8 });
    expect(all.entries[1]!.sender).toBe(ALICE_PHONE);
    expect(Number.isNaN(Date.parse(all.entries[1]!.stamp))).toBe(false);

    const p1 = parseLogResult(resultOf(await t.net.iq(BOB_PHONE, "get", buildLogRequest({ group: g.groupId, afterEpoch: 2n, rsm: { max: 3 } })))!);
    expect(p1.entries.map((x) => [x.seq, x.epoch, x.kind])).toEqual([[5, 2n, "proposal"], [6, 2n, "commit"], [7, 3n, "proposal"]]);
    expect(p1.rsm).toEqual({ first: 5, last: 7, count: 4 });
    const p2 = parseLogResult(resultOf(await t.net.iq(BOB_PHONE, "get", buildLogRequest({ group: g.groupId, afterEpoch: 2n, rsm: { max: 3, after: 7 } })))!);
    expect(p2.entries.map((x) => x.seq)).toEqual([8]);
    const empty = parseLogResult(resultOf(await t.net.iq(BOB_PHONE, "get", buildLogRequest({ group: g.groupId, afterEpoch: 9n })))!);
    expect(empty.entries).toEqual([]);
    expect(empty.rsm).toEqual({ count: 0 });
  });

  it("refuses non-members, unknown groups and unsupported RSM elements", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    expect(errorOf(await t.net.iq(CAROL_LAPTOP, "get", buildLogRequest({ group: g.groupId }))).app).toEqual({ name: "policy-violation", reason: "not-member" });
    expect(errorOf(await t.net.iq(BOB_PHONE, "get", buildLogRequest({ group: new Uint8Array([7]) }))).app).toEqual({ name: "unknown-group" });
    const before = xml("log", { xmlns: NS_MLS, group: g.groupIdHex }, xml("set", { xmlns: "http://jabber.org/protocol/rsm" }, xml("before", {}, "3")));
    expect(errorOf(await t.net.iq(BOB_PHONE, "get", before)).condition).toBe("bad-request");
  });
});

describe("sequencer hooks", () => {
  it("appendOwnProposal logs and reflects a DS proposal with the DS as sender", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    const v = await t.services.sequencer.appendOwnProposal(g.groupIdHex, (group) => syntheticProposal(g.groupId, group.epoch));
    expect(v).toEqual({ seq: 1, epoch: 0n, replayed: false });
    expect(t.store.readLog(g.groupIdHex, { max: 5 }).entries[0]!.sender).toBe(DOMAIN);
    expect(reflected(t, g).map((m) => [m.kind, m.seq])).toEqual([["proposal", 1]]);
    await expect(t.services.sequencer.submit({ groupId: g.groupIdHex, epoch: 4n, proposals: [syntheticProposal(g.groupId, 4n)], submitter: BOB_PHONE })).rejects.toBeInstanceOf(WrongEpochError);
  });

  it("a pluggable validator decides and applies only after the durable append", async () => {
    const applied: string[] = [];
    const t = createTestGateway({
      options: {
        validator: {
          validateProposal: () => ({ ok: false, kind: "policy", reason: "not-authorized-remove", message: "no" }),
          validate: (_g, epoch) => ({ ok: true, newEpoch: epoch + 1n, added: [], removed: [], apply: () => void applied.push(`commit@${epoch}`) }),
          groupCreated: (group) => void applied.push(`created ${group.roomJid}`),
        },
      },
    });
    const g = await registerGroup(t);
    const e = errorOf(await submit(t, BOB_PHONE, { group: g.groupId, epoch: 0n, proposals: [syntheticProposal(g.groupId, 0n)] }));
    expect(e.condition).toBe("not-allowed");
    expect(e.app).toEqual({ name: "policy-violation", reason: "not-authorized-remove" });
    await accepted(t, BOB_PHONE, { group: g.groupId, epoch: 0n, commit: new Uint8Array([1, 2, 3]) });
    expect(applied).toEqual([`created ${g.room}`, "commit@0"]);
  });
});

/** A PrivateMessage commit (random ciphertexts: the DS can only read the framing). */
function privateMessage(groupId: Uint8Array, epoch: bigint): Uint8Array {
  const w: number[] = [];
  const opaque = (b: Uint8Array): void => {
    w.push(b.length, ...b); // lengths below 64 fit a one-byte varint
  };
  w.push(0, 1, 0, 2); // mls10, mls_private_message
  opaque(groupId);
  for (let i = 7; i >= 0; i--) w.push(Number((epoch >> BigInt(8 * i)) & 0xffn));
  w.push(3); // content_type commit
  opaque(new Uint8Array(0));
  opaque(cs.randomBytes(20));
  opaque(cs.randomBytes(40));
  return new Uint8Array(w);
}

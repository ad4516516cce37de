/**
 * Registering a group for a room (`<create/>`) and reading its GroupInfo, through the gateway
 * with a fake MUC service: the XEP's checks 1-7 in order, each with its error, and the store
 * untouched by every refusal.
 */
import { describe, expect, it } from "vitest";
import { xmppBindingExtension } from "../../src/xmpp/binding-extension.js";
import { toHex } from "../../src/util/bytes.js";
import { buildCreate, buildGroupInfoRequest, parseGroupInfoResult } from "../../src/xmpp/group-stanzas.js";
import { NS_MAM } from "../../src/xmpp/ns.js";
import { createTestGateway, DOMAIN, MUC, testConfig } from "./gateway-helpers/fake-network.js";
import { makeGroupInfo, makeKeyPackage } from "./gateway-helpers/mls-fixtures.js";
import { ALICE, ALICE_PHONE, BOB_PHONE, CAROL_LAPTOP, errorOf, registerGroup, resultOf, snapshot } from "./gateway-helpers/setup.js";

describe("create", () => {
  it("binds a room: checks the room and the GroupInfo, joins the room, stores the group at epoch 0", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    const rec = t.store.getGroup(g.groupIdHex);
    expect(rec.roomJid).toBe(g.room);
    expect(rec.epoch).toBe(0n);
    expect(rec.createdBy).toBe(ALICE_PHONE);
    expect(t.store.getExternalSenders(g.groupIdHex)?.dsIndex).toBe(0);
    expect(t.net.rooms.get(g.room)!.occupants.get("mls-ds")).toBe(DOMAIN);
    expect(t.services.muc.isJoined(g.room)).toBe(true);
  });

  it("refuses non-owners, foreign MUC services and unconfigured rooms", async () => {
    const t = createTestGateway();
    const room = t.net.addRoom("r1", ALICE).jid;
    const creator = await makeKeyPackage(BOB_PHONE);
    const gi = makeGroupInfo(creator, { room, ds: DOMAIN, identity: t.identity });
    const notOwner = errorOf(await t.net.iq(BOB_PHONE, "set", buildCreate({ group: gi.groupId, room, groupInfo: gi.bytes })));
    expect(notOwner.condition).toBe("forbidden");
    expect(notOwner.app).toEqual({ name: "policy-violation", reason: "not-owner" });

    const foreign = errorOf(await t.net.iq(ALICE_PHONE, "set", buildCreate({ group: gi.groupId, room: "r1@muc.elsewhere.org", groupInfo: gi.bytes })));
    expect(foreign.app).toEqual({ name: "policy-violation", reason: "not-owner" });

    const aliceKp = await makeKeyPackage(ALICE_PHONE);
    const open = t.net.addRoom("open", ALICE, { features: ["muc_persistent", "muc_nonanonymous", NS_MAM] }).jid;
    const g2 = makeGroupInfo(aliceKp, { room: open, ds: DOMAIN, identity: t.identity });
    const cfg = errorOf(await t.net.iq(ALICE_PHONE, "set", buildCreate({ group: g2.groupId, room: open, groupInfo: g2.bytes })));
    expect(cfg.condition).toBe("not-allowed");
    expect(cfg.app).toEqual({ name: "policy-violation", reason: "room-config" });

    const noAdmin = t.net.addRoom("noadmin", ALICE, { dsAffiliation: "none" }).jid;
    const g3 = makeGroupInfo(aliceKp, { room: noAdmin, ds: DOMAIN, identity: t.identity });
    expect(errorOf(await t.net.iq(ALICE_PHONE, "set", buildCreate({ group: g3.groupId, room: noAdmin, groupInfo: g3.bytes }))).app).toEqual({
      name: "policy-violation",
      reason: "room-config",
    });
    expect(snapshot(t)).toEqual([]);
    expect(t.store.findGroupByRoom(room)).toBeUndefined();
  });

  it("refuses a second binding of the room or of the group id", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    const before = snapshot(t);
    const kp = await makeKeyPackage(ALICE_PHONE);
    const again = makeGroupInfo(kp, { room: g.room, ds: DOMAIN, identity: t.identity });
    const e = errorOf(await t.net.iq(ALICE_PHONE, "set", buildCreate({ group: again.groupId, room: g.room, groupInfo: again.bytes })));
    expect(e.condition).toBe("conflict");
    expect(e.app).toEqual({ name: "group-exists" });
    const other = t.net.addRoom("other", ALICE).jid;
    const sameId = makeGroupInfo(kp, { room: other, ds: DOMAIN, identity: t.identity, groupId: g.groupId });
    expect(errorOf(await t.net.iq(ALICE_PHONE, "set", buildCreate({ group: g.groupId, room: other, groupInfo: sameId.bytes }))).app).toEqual({ name: "group-exists" });
    expect(snapshot(t)).toEqual(before);
  });

  it("checks the GroupInfo: signature, tree, group id, epoch, member, suite, binding, external sender", async () => {
    const t = createTestGateway();
    const room = t.net.addRoom("gi", ALICE).jid;
    const kp = await makeKeyPackage(ALICE_PHONE);
    const send = async (groupId: Uint8Array, bytes: Uint8Array): Promise<ReturnType<typeof errorOf>> =>
      errorOf(await t.net.iq(ALICE_PHONE, "set", buildCreate({ group: groupId, room, groupInfo: bytes })));

    const good = makeGroupInfo(kp, { room, ds: DOMAIN, identity: t.identity });
    const flipped = good.bytes.slice();
    flipped[flipped.length - 3]! ^= 1;
    expect((await send(good.groupId, flipped)).app).toEqual({ name: "invalid-message", reason: "verification-failed" });
    expect((await send(good.groupId, good.bytes.subarray(0, 40))).app).toEqual({ name: "invalid-message", reason: "malformed" });
    expect((await send(new Uint8Array([1, 2, 3]), good.bytes)).app).toEqual({ name: "invalid-message", reason: "invalid-group-info" });

    const noTree = makeGroupInfo(kp, { room, ds: DOMAIN, identity: t.identity, noTree: true });
    expect((await send(noTree.groupId, noTree.bytes)).app).toEqual({ name: "invalid-message", reason: "invalid-group-info" });
    const epoch5 = makeGroupInfo(kp, { room, ds: DOMAIN, identity: t.identity, epoch: 5n });
    expect((await send(epoch5.groupId, epoch5.bytes)).app).toEqual({ name: "invalid-message", reason: "invalid-group-info" });
    const bobs = makeGroupInfo(await makeKeyPackage(BOB_PHONE), { room, ds: DOMAIN, identity: t.identity });
    expect((await send(bobs.groupId, bobs.bytes)).app).toEqual({ name: "invalid-message", reason: "invalid-group-info" });

    const otherRoom = makeGroupInfo(kp, { room: `elsewhere@${MUC}`, ds: DOMAIN, identity: t.identity });
    expect((await send(otherRoom.groupId, otherRoom.bytes)).app).toEqual({ name: "invalid-message", reason: "binding-mismatch" });
    const otherDs = makeGroupInfo(kp, { room, ds: "mls.evil.org", identity: t.identity });
    expect((await send(otherDs.groupId, otherDs.bytes)).app).toEqual({ name: "invalid-message", reason: "binding-mismatch" });
    const noSender = makeGroupInfo(kp, { room, ds: DOMAIN, extensions: [xmppBindingExtension(room, DOMAIN)] });
    expect((await send(noSender.groupId, noSender.bytes)).app).toEqual({ name: "invalid-message", reason: "binding-mismatch" });
    expect(snapshot(t)).toEqual([]);

    const t3 = createTestGateway({ config: testConfig({ cipherSuites: [3] }) });
    const room3 = t3.net.addRoom("gi", ALICE).jid;
    const g3 = makeGroupInfo(kp, { room: room3, ds: DOMAIN, identity: t3.identity });
    const e3 = errorOf(await t3.net.iq(ALICE_PHONE, "set", buildCreate({ group: g3.groupId, room: room3, groupInfo: g3.bytes })));
    expect(e3.condition).toBe("not-acceptable");
  });
});

describe("group-info", () => {
  it("returns the stored GroupInfo to room members, by group or by room", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    for (const req of [buildGroupInfoRequest({ group: g.groupId }), buildGroupInfoRequest({ room: g.room })]) {
      const r = parseGroupInfoResult(resultOf(await t.net.iq(BOB_PHONE, "get", req))!);
      expect(toHex(r.group)).toBe(g.groupIdHex);
      expect(r.room).toBe(g.room);
      expect(r.epoch).toBe(0n);
      expect(r.groupInfo).toEqual(t.store.getGroupInfo(g.groupIdHex)!.bytes);
    }
  });

  it("refuses non-members and unknown groups", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    const e = errorOf(await t.net.iq(CAROL_LAPTOP, "get", buildGroupInfoRequest({ group: g.groupId })));
    expect(e.condition).toBe("forbidden");
    expect(e.app).toEqual({ name: "policy-violation", reason: "not-member" });
    const u = errorOf(await t.net.iq(BOB_PHONE, "get", buildGroupInfoRequest({ group: new Uint8Array([9, 9]) })));
    expect(u.condition).toBe("item-not-found");
    expect(u.app).toEqual({ name: "unknown-group" });
    expect(errorOf(await t.net.iq(BOB_PHONE, "get", buildGroupInfoRequest({ room: `nope@${MUC}` }))).app).toEqual({ name: "unknown-group" });
  });

  it("lets anyone read it when the policy says so", async () => {
    const t = createTestGateway({ config: testConfig({}, { groupInfoReadableBy: "anyone" }) });
    const g = await registerGroup(t);
    resultOf(await t.net.iq(CAROL_LAPTOP, "get", buildGroupInfoRequest({ group: g.groupId })));
    expect(t.store.getGroup(g.groupIdHex).policy.groupInfoReadableBy).toBe("anyone");
  });
});

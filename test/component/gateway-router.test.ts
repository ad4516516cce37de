/**
 * Robustness and lifecycle of the gateway: malformed stanzas never crash it and get the right
 * answer, unexpected failures leak nothing, affiliation revocations reach the hook, rooms are
 * re-joined after a reconnect, fatal stream errors end `done`, `stop()` leaves the rooms.
 */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { startGateway } from "../../src/component/gateway.js";
import { silentLogger } from "../../src/component/log.js";
import type { AffiliationRevoked } from "../../src/component/muc.js";
import { MemoryStore } from "../../src/component/store/memory-store.js";
import type { GroupRecord } from "../../src/component/store/types.js";
import { buildClaim } from "../../src/xmpp/key-package-stanzas.js";
import { NS_DISCO_INFO, NS_MLS, NS_STANZAS } from "../../src/xmpp/ns.js";
import { buildSubmit } from "../../src/xmpp/submit-stanzas.js";
import { xml } from "../../src/xmpp/xml.js";
import { createDsIdentity } from "../../src/component/ds-identity.js";
import { nativeProvider } from "../../src/crypto/native/index.js";
import { createTestGateway, DOMAIN, FakeNetwork, testConfig } from "./gateway-helpers/fake-network.js";
import { syntheticCommit } from "./gateway-helpers/mls-fixtures.js";
import { ALICE_PHONE, BOB, BOB_PHONE, CAROL, errorOf, iqOf, registerGroup, resultOf } from "./gateway-helpers/setup.js";

describe("malformed input", () => {
  it("answers bad-request or service-unavailable and keeps serving", async () => {
    const t = createTestGateway();
    const twoChildren = iqOf(ALICE_PHONE, "set", xml("claim", { xmlns: NS_MLS, jid: BOB, "cipher-suite": "1" }));
    twoChildren.append(xml("extra"));
    const cases: [ReturnType<typeof xml>, string][] = [
      [twoChildren, "bad-request"],
      [xml("iq", { type: "set", to: DOMAIN }, buildClaim({ jid: BOB, cipherSuite: 1 })), "bad-request"],
      [iqOf(ALICE_PHONE, "set", xml("submit", { xmlns: NS_MLS, group: "zz", epoch: "0" })), "bad-request"],
      [iqOf(ALICE_PHONE, "set", xml("submit", { xmlns: NS_MLS, group: "00", epoch: "99999999999999999999999" })), "bad-request"],
      [iqOf(ALICE_PHONE, "get", xml("nonsense", { xmlns: "urn:example:nothing" })), "service-unavailable"],
      [iqOf(ALICE_PHONE, "set", xml("frobnicate", { xmlns: NS_MLS })), "service-unavailable"],
      [xml("iq", { type: "get", from: ALICE_PHONE, to: `someone@${DOMAIN}` }, xml("query", { xmlns: NS_DISCO_INFO })), "service-unavailable"],
      [xml("iq", { type: "get", from: ALICE_PHONE, to: `${DOMAIN}/res` }, xml("query", { xmlns: NS_DISCO_INFO })), "service-unavailable"],
    ];
    for (const [el, condition] of cases) {
      const reply = await t.net.raw(el);
      const e = errorOf(reply);
      expect(e.condition, el.toString()).toBe(condition);
    }
    // Messages and presences of any shape are swallowed without a reply.
    t.net.deliver(xml("message", { from: ALICE_PHONE, to: DOMAIN }, xml("mls", { xmlns: NS_MLS, kind: "bogus" })));
    t.net.deliver(xml("presence", { from: "weird", to: DOMAIN }, xml("x", { xmlns: "http://jabber.org/protocol/muc#user" }, xml("item", { affiliation: "?" }))));
    t.net.deliver(xml("message", { to: DOMAIN, type: "error" }));
    // An address xmpp.js cannot parse would throw inside its "element" listener.
    t.net.deliver(xml("iq", { type: "get", from: "@", to: DOMAIN, id: "x1" }, xml("query", { xmlns: NS_DISCO_INFO })));
    t.net.deliver(xml("message", { from: "a@", to: DOMAIN }));
    await t.net.settle();
    resultOf(await t.net.iq(ALICE_PHONE, "get", xml("query", { xmlns: NS_DISCO_INFO })));
  });

  it("turns an unexpected failure into internal-server-error without details", async () => {
    const t = createTestGateway({
      options: {
        validator: {
          validate: () => {
            throw new Error("secret internals");
          },
          validateProposal: () => ({ ok: true }),
        },
      },
    });
    const g = await registerGroup(t);
    const reply = await t.net.iq(ALICE_PHONE, "set", buildSubmit({ group: g.groupId, epoch: 0n, proposals: [], commit: syntheticCommit(g.groupId, 0n) }));
    const e = errorOf(reply);
    expect(e.condition).toBe("internal-server-error");
    expect(reply.toString()).not.toContain("secret internals");
    expect(reply.getChild("error")!.getChild("text", NS_STANZAS)).toBeUndefined();
    expect(t.store.getGroup(g.groupIdHex).epoch).toBe(0n);
  });
});

describe("affiliations", () => {
  it("reports a present member losing membership and an absent one being banned", async () => {
    const events: (AffiliationRevoked & { group: GroupRecord })[] = [];
    const t = createTestGateway({ options: { hooks: { affiliationRevoked: (ev) => void events.push(ev) } } });
    const g = await registerGroup(t);
    const room = t.net.rooms.get(g.room)!;
    room.occupants.set("bob", BOB_PHONE);
    t.net.setAffiliation(g.room, CAROL, "member");
    await t.net.settle();
    expect(events).toEqual([]);

    t.net.setAffiliation(g.room, BOB, "none");
    t.net.setAffiliation(g.room, CAROL, "outcast");
    await t.net.settle(10);
    expect(events.map((e) => [e.room, e.jid, e.affiliation, e.group.groupId])).toEqual([
      [g.room, BOB, "none", g.groupIdHex],
      [g.room, CAROL, "outcast", g.groupIdHex],
    ]);
    // The view follows: bob is no longer a member.
    expect(await t.services.muc.affiliationOf(g.room, BOB_PHONE)).toBe("none");
    const e = errorOf(await t.net.iq(BOB_PHONE, "set", buildSubmit({ group: g.groupId, epoch: 0n, proposals: [], commit: syntheticCommit(g.groupId, 0n) })));
    expect(e.app).toEqual({ name: "policy-violation", reason: "not-member" });
  });
});

/** A FakeNetwork entity with the lifecycle methods startGateway drives. */
function lifecycleEntity(net: FakeNetwork): { stops: number } {
  const state = { stops: 0 };
  Object.assign(net.entity, {
    start: async () => {
      setImmediate(() => net.entity.emit("online"));
    },
    stop: async () => {
      state.stops++;
    },
    reconnect: Object.assign(new EventEmitter(), { stop: () => {} }),
  });
  return state;
}

describe("lifecycle", () => {
  it("re-joins bound rooms after a reconnect and leaves them on stop", async () => {
    const net = new FakeNetwork();
    const state = lifecycleEntity(net);
    const store = new MemoryStore();
    const identity = createDsIdentity({ jid: DOMAIN, provider: nativeProvider });
    const gw = await startGateway(testConfig(), { logger: silentLogger, store, identity, entity: net.entity as never });
    const g = await registerGroup({ net, services: gw.services, router: gw.router, store, identity, config: testConfig() });
    const room = net.rooms.get(g.room)!;
    expect(room.occupants.get("mls-ds")).toBe(DOMAIN);

    // The connection drops; the server forgets the occupant; the component comes back.
    net.entity.emit("disconnect");
    room.occupants.clear();
    expect(gw.services.muc.isJoined(g.room)).toBe(false);
    net.entity.emit("online");
    await net.settle(10);
    expect(room.occupants.get("mls-ds")).toBe(DOMAIN);
    expect(gw.services.muc.isJoined(g.room)).toBe(true);

    await gw.stop();
    await expect(gw.done).resolves.toBeUndefined();
    expect(room.occupants.size).toBe(0);
    expect(state.stops).toBe(1);
  });

  it("ends `done` with the error on a fatal stream error", async () => {
    const net = new FakeNetwork();
    lifecycleEntity(net);
    const gw = await startGateway(testConfig(), { logger: silentLogger, store: new MemoryStore(), entity: net.entity as never });
    net.entity.emit("error", Object.assign(new Error("not-authorized"), { condition: "not-authorized" }));
    await expect(gw.done).rejects.toThrow("not-authorized");
    // A transient error is only logged.
    net.entity.emit("error", new Error("ECONNRESET"));
    await gw.stop();
  });

  it("re-joins a room whose reflection bounced before the next reflection", async () => {
    const t = createTestGateway();
    const g = await registerGroup(t);
    const room = t.net.rooms.get(g.room)!;
    room.occupants.clear(); // the room lost us (e.g. a restart of the MUC service)
    t.net.deliver(xml("message", { from: g.room, to: DOMAIN, type: "error" }, xml("error", { type: "modify" }, xml("not-acceptable", { xmlns: NS_STANZAS }))));
    await t.net.settle();
    expect(t.services.muc.isJoined(g.room)).toBe(false);
    resultOf(await t.net.iq(ALICE_PHONE, "set", buildSubmit({ group: g.groupId, epoch: 0n, proposals: [], commit: syntheticCommit(g.groupId, 0n) })));
    expect(room.occupants.get("mls-ds")).toBe(DOMAIN);
    expect(room.messages).toHaveLength(1);
  });
});

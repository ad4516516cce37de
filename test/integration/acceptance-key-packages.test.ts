/**
 * Acceptance: KeyPackage exhaustion and replenishment.
 * - bob's device publishes its pool (3 ordinary + 1 last-resort) and goes offline;
 * - claims drain the ordinary ones; the next claims return the last-resort one, marked
 *   last-resort='true', and it stays;
 * - alice's invite (its claim also gets the last-resort KeyPackage) still works: bob joins from
 *   the offline Welcome when he comes back, and the used last-resort KeyPackage is rotated;
 * - with bob online, a claim that leaves him at the DS's low-water mark brings a
 *   <key-packages-low/> notice, bob publishes new ordinary KeyPackages, and the next claim
 *   returns an ordinary one.
 */
import { beforeAll, expect, it } from "vitest";
import type { KeyPackageRecord } from "../../src/component/store/types.js";
import { toHex } from "../../src/util/bytes.js";
import { buildClaim, parseKeyPackages, parseKeyPackagesLow, type KeyPackageElement } from "../../src/xmpp/key-package-stanzas.js";
import { NS_MLS } from "../../src/xmpp/ns.js";
import { xml } from "../../src/xmpp/xml.js";
import { describeEachServer } from "../servers/context.js";
import { uniqueId } from "../servers/stanzas.js";
import type { ServerInfo } from "../servers/types.js";
import { errorsOf, gatewayErrors, poll, scenario, waitEvent, type Dev } from "./helpers/acceptance.js";

describeEachServer("acceptance: KeyPackages", (server: ServerInfo) => {
  const h = scenario(server);
  const room = `${uniqueId("acc-kp")}@${server.mucDomain}`;
  const ds = server.componentDomain;
  const bobJid = `bob@${server.domain}`;
  let alice: Dev, bob: Dev;

  /** bob's device's KeyPackages at the DS. */
  const stored = (): { ordinary: KeyPackageRecord[]; lastResort: KeyPackageRecord[] } => {
    const all = h.gateway!.services.store.listKeyPackages(bobJid).filter((k) => k.deviceId === "phone");
    return { ordinary: all.filter((k) => !k.lastResort), lastResort: all.filter((k) => k.lastResort) };
  };

  /** A claim for bob by alice's connection (outside the plugin). */
  const claim = async (): Promise<(KeyPackageElement & { refHex: string })[]> => {
    const res = await alice.xmpp.iq(xml("iq", { type: "set", to: ds }, buildClaim({ jid: bobJid, cipherSuite: 1 })));
    const kps = parseKeyPackages(res.getChild("key-packages", NS_MLS)!).keyPackages;
    return kps.map((k) => ({ ...k, refHex: toHex(k.ref!) }));
  };

  beforeAll(async () => {
    await h.startGateway();
    [alice, bob] = await Promise.all([h.device("alice", "laptop"), h.device("bob", "phone")]);
  });

  let ordinary0: string[] = [];
  let lastResort0 = "";

  it("bob's device publishes 3 ordinary KeyPackages and 1 last-resort one", () => {
    const s = stored();
    expect(s.ordinary).toHaveLength(3);
    expect(s.lastResort).toHaveLength(1);
    ordinary0 = s.ordinary.map((k) => k.ref);
    lastResort0 = s.lastResort[0]!.ref;
  });

  it("with bob offline, claims drain the ordinary ones, then return the last-resort one (marked), which stays", async () => {
    await h.offline(bob);
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      const kps = await claim();
      expect(kps.map((k) => [k.device, k.lastResort])).toEqual([["phone", false]]);
      got.push(kps[0]!.refHex);
    }
    // Oldest first, each exactly once.
    expect(got).toEqual(ordinary0);
    expect(stored().ordinary).toEqual([]);
    for (let i = 0; i < 2; i++) {
      const kps = await claim();
      expect(kps.map((k) => [k.device, k.lastResort, k.refHex])).toEqual([["phone", true, lastResort0]]);
    }
    expect(stored().lastResort.map((k) => k.ref)).toEqual([lastResort0]);
  });

  it("alice's invite uses the last-resort KeyPackage and works: bob joins when he is back", async () => {
    await alice.mls.createRoom(room);
    const marks = alice.requests.length;
    const r = await alice.mls.invite(room, bobJid);
    expect(r.added.map((a) => a.identity)).toEqual([`${bobJid}/phone`]);
    const claims = alice.requests.slice(marks).filter((q) => q.name === "claim");
    expect(claims).toHaveLength(1);
    const result = parseKeyPackages(claims[0]!.result!.getChild("key-packages", NS_MLS)!).keyPackages;
    expect(result.map((k) => [k.device, k.lastResort, toHex(k.ref!)])).toEqual([["phone", true, lastResort0]]);

    await h.online(bob);
    const j = await waitEvent(bob, "joined", (x) => x.room === room, "bob joins from the offline Welcome");
    expect(j.epoch).toBe(1n);
    const text = `hello bob ${uniqueId("h")}`;
    await alice.mls.sendText(room, text);
    await waitEvent(bob, "message", (m) => m.text === text, "bob reads alice");
    const back = `hi alice ${uniqueId("b")}`;
    await bob.mls.sendText(room, back);
    await waitEvent(alice, "message", (m) => m.text === back, "alice reads bob");
    expect(bob.mls.verificationCode(room)).toBe(alice.mls.verificationCode(room));
    // The used last-resort KeyPackage was rotated (one per device), and the pool refilled on connect.
    await poll(() => {
      const s = stored();
      return s.lastResort.length === 1 && s.lastResort[0]!.ref !== lastResort0 && s.ordinary.length === 3;
    }, "bob's rotated last-resort KeyPackage and refilled pool");
  });

  it("a claim down to the low-water mark brings a notice; bob publishes new ordinary KeyPackages; the next claim is ordinary", async () => {
    const before = stored().ordinary.map((k) => k.ref);
    expect(before).toHaveLength(3);
    const t0 = Date.now();
    const publishesBefore = bob.requests.filter((q) => q.name === "pubsub").length;
    const first = await claim();
    expect(first.map((k) => [k.device, k.lastResort])).toEqual([["phone", false]]);
    expect(before).toContain(first[0]!.refHex);

    // 2 left = the DS's default low-water mark: the notice goes to the device's full JID.
    const notice = await bob.xmpp.waitFor((el) => el.is("message") && el.attrs.from === ds && el.getChild("key-packages-low", NS_MLS) !== undefined, "low-water notice");
    expect(notice.attrs.to).toBe(`${bobJid}/phone`);
    const low = parseKeyPackagesLow(notice.getChild("key-packages-low", NS_MLS)!);
    expect([low.device, low.remaining]).toEqual(["phone", 2]);

    const refilled = await poll(() => {
      const s = stored().ordinary;
      return s.length === 3 ? s : undefined;
    }, "bob's replenished KeyPackages");
    const fresh = refilled.filter((k) => !before.includes(k.ref));
    expect(fresh).toHaveLength(1);
    expect(fresh[0]!.createdAt).toBeGreaterThanOrEqual(t0);
    expect(bob.requests.filter((q) => q.name === "pubsub").length).toBe(publishesBefore + 1);

    const next = await claim();
    expect(next.map((k) => [k.device, k.lastResort])).toEqual([["phone", false]]);
    expect(refilled.map((k) => k.ref)).toContain(next[0]!.refHex);
  });

  it("no device reported an error and the gateway logged none", () => {
    for (const d of [alice, bob]) expect(errorsOf(d), d.name).toEqual([]);
    expect(gatewayErrors(h.gatewayLog)).toEqual([]);
  });
});

/**
 * The gateway's discovery and KeyPackage directory, driven through the real xmpp.js middleware
 * with a fake network: disco, publish / items / retract / create, atomic claims, last resort,
 * low-water notices, and the errors of each.
 */
import { describe, expect, it } from "vitest";
import { toBase64 } from "../../src/util/bytes.js";
import { parseDsInfoForm } from "../../src/xmpp/ds-info.js";
import { buildClaim, parseKeyPackages, parseKeyPackagesLow } from "../../src/xmpp/key-package-stanzas.js";
import { keyPackageNode, NS_DATA_FORMS, NS_DISCO_INFO, NS_DISCO_ITEMS, NS_MLS, NS_PUBSUB, NS_PUBSUB_OWNER } from "../../src/xmpp/ns.js";
import { xml, type Element } from "../../src/xmpp/xml.js";
import { createTestGateway, DOMAIN, testConfig } from "./gateway-helpers/fake-network.js";
import { makeKeyPackage } from "./gateway-helpers/mls-fixtures.js";
import { ALICE, ALICE_PHONE, BOB, BOB_DESKTOP, BOB_PHONE, CAROL_LAPTOP, errorOf, publish, publishElement, resultOf, snapshot } from "./gateway-helpers/setup.js";

const claim = (jid: string, suite = 1): Element => buildClaim({ jid, cipherSuite: suite });

describe("disco", () => {
  it("answers disco#info with identities, features and the ds-info form", async () => {
    const t = createTestGateway();
    const q = resultOf(await t.net.iq(ALICE_PHONE, "get", xml("query", { xmlns: NS_DISCO_INFO })))!;
    const identities = q.getChildren("identity").map((i) => `${i.attrs.category}/${i.attrs.type}`);
    expect(identities).toEqual(["component/generic", "pubsub/service"]);
    const features = q.getChildren("feature").map((f) => f.attrs.var);
    expect(features).toEqual(expect.arrayContaining([NS_MLS, NS_PUBSUB, "http://jabber.org/protocol/rsm", NS_DISCO_INFO]));
    const info = parseDsInfoForm(q.getChild("x", NS_DATA_FORMS)!);
    expect(info.cipherSuites).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(info.maxMessageSize).toBe(t.config.limits.maxPayloadBytes);
    expect(info.submitRateLimit).toBe(60);
    expect(info.externalSender).toEqual(t.identity.externalSenderBytes(1));
  });

  it("lists no items and has no browsable nodes", async () => {
    const t = createTestGateway();
    const items = resultOf(await t.net.iq(ALICE_PHONE, "get", xml("query", { xmlns: NS_DISCO_ITEMS })))!;
    expect(items.getChildElements()).toHaveLength(0);
    const e = errorOf(await t.net.iq(ALICE_PHONE, "get", xml("query", { xmlns: NS_DISCO_INFO, node: keyPackageNode(ALICE) })));
    expect(e.condition).toBe("item-not-found");
  });
});

describe("publish, list, retract", () => {
  it("stores a valid KeyPackage, lists it to its owner only, and retracts it", async () => {
    const t = createTestGateway();
    const kp = await makeKeyPackage(ALICE_PHONE);
    const res = resultOf(await t.net.iq(ALICE_PHONE, "set", publishElement(kp, ALICE, "phone")))!;
    expect(res.getChild("publish", NS_PUBSUB)?.getChild("item", NS_PUBSUB)?.attrs.id).toBe(kp.refHex);
    expect(t.store.listKeyPackages(ALICE).map((r) => r.ref)).toEqual([kp.refHex]);

    const list = resultOf(await t.net.iq(`${ALICE}/laptop`, "get", xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node: keyPackageNode(ALICE) }))))!;
    const items = list.getChild("items", NS_PUBSUB)!.getChildren("item", NS_PUBSUB);
    expect(items.map((i) => i.attrs.id)).toEqual([kp.refHex]);
    expect(items[0]!.getChild("key-package", NS_MLS)?.attrs.device).toBe("phone");

    const denied = errorOf(await t.net.iq(BOB_PHONE, "get", xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node: keyPackageNode(ALICE) }))));
    expect(denied.condition).toBe("forbidden");

    const otherRetract = xml("pubsub", { xmlns: NS_PUBSUB }, xml("retract", { node: keyPackageNode(ALICE) }, xml("item", { id: kp.refHex })));
    expect(errorOf(await t.net.iq(BOB_PHONE, "set", otherRetract)).condition).toBe("forbidden");
    resultOf(await t.net.iq(ALICE_PHONE, "set", otherRetract));
    expect(t.store.listKeyPackages(ALICE)).toHaveLength(0);
    expect(errorOf(await t.net.iq(ALICE_PHONE, "set", otherRetract)).condition).toBe("item-not-found");
  });

  it("refuses publishing to someone else's node, a wrong identity, a wrong ref, a missing binding capability", async () => {
    const t = createTestGateway();
    const before = snapshot(t);
    const kp = await makeKeyPackage(ALICE_PHONE);
    expect(errorOf(await t.net.iq(BOB_PHONE, "set", publishElement(kp, ALICE, "phone"))).condition).toBe("forbidden");

    const mismatch = errorOf(await t.net.iq(ALICE_PHONE, "set", publishElement(kp, ALICE, "tablet")));
    expect(mismatch.condition).toBe("bad-request");
    expect(mismatch.app).toEqual({ name: "invalid-message", reason: "identity-mismatch" });

    const other = await makeKeyPackage(ALICE_PHONE);
    const wrongRef = publishElement(kp, ALICE, "phone");
    wrongRef.getChild("publish", NS_PUBSUB)!.getChild("item", NS_PUBSUB)!.attrs.id = other.refHex;
    expect(errorOf(await t.net.iq(ALICE_PHONE, "set", wrongRef)).app).toEqual({ name: "invalid-message", reason: "ref-mismatch" });

    const noBinding = await makeKeyPackage(ALICE_PHONE, { binding: false });
    expect(errorOf(await t.net.iq(ALICE_PHONE, "set", publishElement(noBinding, ALICE, "phone"))).app).toEqual({ name: "invalid-message", reason: "invalid-key-package" });
    expect(snapshot(t)).toEqual(before);
  });

  it("refuses malformed payloads: bad base64, truncated and bit-flipped KeyPackages", async () => {
    const t = createTestGateway();
    const kp = await makeKeyPackage(ALICE_PHONE);
    const el = publishElement(kp, ALICE, "phone");
    const payload = el.getChild("publish", NS_PUBSUB)!.getChild("item", NS_PUBSUB)!.getChild("key-package", NS_MLS)!;

    payload.children = ["!!not base64!!"];
    expect(errorOf(await t.net.iq(ALICE_PHONE, "set", el)).condition).toBe("bad-request");

    payload.children = [toBase64(kp.message.subarray(0, kp.message.length - 5))];
    expect(errorOf(await t.net.iq(ALICE_PHONE, "set", el)).app).toEqual({ name: "invalid-message", reason: "invalid-key-package" });

    const flipped = kp.message.slice();
    flipped[flipped.length - 10]! ^= 0x40; // inside the signature
    payload.children = [toBase64(flipped)];
    expect(errorOf(await t.net.iq(ALICE_PHONE, "set", el)).app).toEqual({ name: "invalid-message", reason: "invalid-key-package" });
    expect(t.store.listKeyPackages(ALICE)).toHaveLength(0);
  });

  it("refuses a cipher suite outside the policy, and a cipher-suite attribute that lies", async () => {
    const t = createTestGateway({ config: testConfig({ cipherSuites: [3] }) });
    const kp = await makeKeyPackage(ALICE_PHONE);
    const e = errorOf(await t.net.iq(ALICE_PHONE, "set", publishElement(kp, ALICE, "phone")));
    expect(e.condition).toBe("not-acceptable");
    expect(e.app).toEqual({ name: "policy-violation", reason: "cipher-suite" });

    const t2 = createTestGateway();
    const lie = publishElement(kp, ALICE, "phone");
    lie.getChild("publish", NS_PUBSUB)!.getChild("item", NS_PUBSUB)!.getChild("key-package", NS_MLS)!.attrs["cipher-suite"] = "3";
    expect(errorOf(await t2.net.iq(ALICE_PHONE, "set", lie)).condition).toBe("not-acceptable");
  });

  it("accepts creating one's own node as a no-op and nothing else of XEP-0060", async () => {
    const t = createTestGateway();
    resultOf(await t.net.iq(ALICE_PHONE, "set", xml("pubsub", { xmlns: NS_PUBSUB }, xml("create", { node: keyPackageNode(ALICE) }))));
    expect(errorOf(await t.net.iq(BOB_PHONE, "set", xml("pubsub", { xmlns: NS_PUBSUB }, xml("create", { node: keyPackageNode(ALICE) })))).condition).toBe("forbidden");
    expect(errorOf(await t.net.iq(ALICE_PHONE, "set", xml("pubsub", { xmlns: NS_PUBSUB }, xml("subscribe", { node: keyPackageNode(ALICE), jid: ALICE })))).condition).toBe("feature-not-implemented");
    expect(errorOf(await t.net.iq(ALICE_PHONE, "get", xml("pubsub", { xmlns: NS_PUBSUB_OWNER }, xml("configure", { node: keyPackageNode(ALICE) })))).condition).toBe("feature-not-implemented");
  });
});

describe("claim", () => {
  it("hands out one KeyPackage per device atomically; the next claim gets the next one; last resort stays", async () => {
    const t = createTestGateway();
    const d1 = await publish(t, BOB, "desktop");
    const d2 = await publish(t, BOB, "desktop");
    const lr = await publish(t, BOB, "phone", { lastResort: true });

    const first = parseKeyPackages(resultOf(await t.net.iq(ALICE_PHONE, "set", claim(BOB)))!);
    expect(first.jid).toBe(BOB);
    expect(first.keyPackages.map((k) => [k.device, k.lastResort])).toEqual([["desktop", false], ["phone", true]]);
    expect(first.keyPackages[0]!.keyPackage).toEqual(d1.message);
    expect(first.keyPackages[1]!.keyPackage).toEqual(lr.message);

    const second = parseKeyPackages(resultOf(await t.net.iq(CAROL_LAPTOP, "set", claim(BOB)))!);
    expect(second.keyPackages[0]!.keyPackage).toEqual(d2.message);
    expect(second.keyPackages[1]!.keyPackage).toEqual(lr.message);

    const third = parseKeyPackages(resultOf(await t.net.iq(ALICE_PHONE, "set", claim(BOB)))!);
    expect(third.keyPackages.map((k) => k.device)).toEqual(["phone"]);
    expect(t.store.listKeyPackages(BOB).map((r) => r.ref)).toEqual([lr.refHex]);
    // Claimed refs are remembered for Welcome routing.
    expect(t.services.delivery.claims.lookup(d1.refHex)).toBe(BOB_DESKTOP);
  });

  it("answers no-key-packages for an unknown account or suite, without revealing which", async () => {
    const t = createTestGateway();
    await publish(t, BOB, "desktop");
    for (const el of [claim("nobody@example.org"), claim(BOB, 2)]) {
      const e = errorOf(await t.net.iq(ALICE_PHONE, "set", el));
      expect(e.condition).toBe("item-not-found");
      expect(e.app).toEqual({ name: "no-key-packages" });
    }
  });

  it("sends a low-water notice to each claimed device at or below the mark", async () => {
    const t = createTestGateway({ config: testConfig({ keyPackageLowWater: 1 }) });
    await publish(t, BOB, "desktop");
    await publish(t, BOB, "desktop");
    await publish(t, BOB, "phone", { lastResort: true });
    await t.net.iq(ALICE_PHONE, "set", claim(BOB));
    await t.net.settle();
    const notices = t.net.outbox.filter((m) => m.getName() === "message" && m.getChild("key-packages-low", NS_MLS));
    expect(notices.map((m) => m.attrs.to).sort()).toEqual([BOB_DESKTOP, BOB_PHONE]);
    const desktop = notices.find((m) => m.attrs.to === BOB_DESKTOP)!;
    expect(desktop.attrs.from).toBe(DOMAIN);
    expect(parseKeyPackagesLow(desktop.getChild("key-packages-low", NS_MLS)!)).toEqual({ device: "desktop", cipherSuite: 1, remaining: 1 });
  });

  it("rate-limits claims and publishes per account with resource-constraint", async () => {
    const t = createTestGateway({ config: testConfig({ rateLimits: { claimPerMinute: 2, publishPerMinute: 1 } }) });
    await publish(t, BOB, "desktop");
    const e0 = errorOf(await t.net.iq(`${BOB}/other`, "set", publishElement(await makeKeyPackage(`${BOB}/other`), BOB, "other")));
    expect(e0.condition).toBe("resource-constraint");
    for (let i = 0; i < 2; i++) await t.net.iq(ALICE_PHONE, "set", claim(BOB));
    const e = errorOf(await t.net.iq(`${ALICE}/laptop`, "set", claim(BOB)));
    expect(e.type).toBe("wait");
    expect(e.condition).toBe("resource-constraint");
    expect(e.app?.name).toBe("rate-limited");
  });

  it("rejects malformed claims with bad-request", async () => {
    const t = createTestGateway();
    for (const el of [
      xml("claim", { xmlns: NS_MLS, jid: BOB }),
      xml("claim", { xmlns: NS_MLS, jid: "not a jid", "cipher-suite": "1" }),
      xml("claim", { xmlns: NS_MLS, jid: BOB, "cipher-suite": "0" }),
      xml("claim", { xmlns: NS_MLS, jid: BOB_DESKTOP, "cipher-suite": "1" }),
    ]) {
      expect(errorOf(await t.net.iq(ALICE_PHONE, "set", el)).condition).toBe("bad-request");
    }
  });
});

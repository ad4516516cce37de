import { describe, expect, it } from "vitest";
import {
  buildApplicationMessage, buildDsDiscoInfo, buildDsInfoForm, buildHandshakeMessage, buildKeyPackagesLowMessage,
  buildWelcomeMessage, DS_FEATURES, FALLBACK_BODY, keyPackageNode, keyPackageNodeOwner, NS_DISCO_INFO, NS_EME,
  NS_HINTS, NS_MLS, NS_SID, parseDsInfoForm, parseKeyPackagesLow, parseMlsMessageStanza, parseStrictXml,
  parseWelcomeMessage, xml, type DsInfo, type Element,
} from "../../src/xmpp/index.js";
import { DS, GROUP, mlsBytes, ROOM, ROUND_TRIPS, values } from "./samples.js";

/** Serialise and re-read, so that the parsers see what a peer would receive. */
const reparse = (el: Element): Element => parseStrictXml(el.toString());

describe("build → parse round trips", () => {
  for (const c of ROUND_TRIPS) {
    it(c.name, () => {
      expect(c.parse(c.build())).toEqual(c.value);
      expect(c.parse(reparse(c.build()))).toEqual(c.value);
    });
  }
});

describe("stanza-level builders", () => {
  it("handshake message: mls + EME + store hint, no body", () => {
    const m = buildHandshakeMessage({ to: ROOM, id: "c1", mls: values.mlsCommit });
    expect(m.attrs).toMatchObject({ to: ROOM, type: "groupchat", id: "c1" });
    expect(m.getChild("encryption", NS_EME)?.attrs).toMatchObject({ namespace: NS_MLS, name: "MLS" });
    expect(m.getChild("store", NS_HINTS)).toBeDefined();
    expect(m.getChild("body")).toBeUndefined();
  });

  it("application message round-trips through parseMlsMessageStanza as the room reflects it", () => {
    const sent = buildApplicationMessage({ to: ROOM, id: "a1", originId: "o-1", group: GROUP, epoch: 6n, message: mlsBytes(2, 80) });
    expect(sent.getChildText("body")).toBe(FALLBACK_BODY);
    // The room rewrites from/to and stamps a stanza-id; a foreign stanza-id must be ignored.
    const reflected = reparse(sent);
    reflected.attrs.from = `${ROOM}/alice`;
    reflected.attrs.to = "bob@example.org/desktop-5d0a";
    reflected.append(xml("stanza-id", { xmlns: NS_SID, id: "forged", by: "evil.example" }));
    reflected.append(xml("stanza-id", { xmlns: NS_SID, id: "mam-42", by: ROOM }));
    const r = parseMlsMessageStanza(reflected);
    expect(r).toEqual({ from: `${ROOM}/alice`, mls: values.mlsApplication, stanzaId: "mam-42", originId: "o-1" });
  });

  it("welcome message carries the store hint and parses back", () => {
    const m = buildWelcomeMessage({ from: DS, to: "bob@example.org/desktop-5d0a", id: "w1", welcome: values.welcome });
    expect(m.attrs.type).toBe("normal");
    expect(m.getChild("store", NS_HINTS)).toBeDefined();
    expect(parseWelcomeMessage(reparse(m))).toEqual({ from: DS, welcome: values.welcome });
  });

  it("low-water notice is a headline to the device", () => {
    const m = buildKeyPackagesLowMessage({ from: DS, to: "bob@example.org/desktop-5d0a", ...values.low });
    expect(m.attrs.type).toBe("headline");
    expect(parseKeyPackagesLow(m.getChild("key-packages-low", NS_MLS)!)).toEqual(values.low);
  });

  it("KeyPackage node names round-trip and reject foreign nodes", () => {
    expect(keyPackageNode("alice@example.org")).toBe("urn:x-xmpp-mls:0:key-packages:alice@example.org");
    expect(keyPackageNodeOwner(keyPackageNode("alice@example.org"))).toBe("alice@example.org");
    expect(keyPackageNodeOwner("urn:xmpp:omemo:2:bundles")).toBeUndefined();
    expect(keyPackageNodeOwner("urn:x-xmpp-mls:0:key-packages:")).toBeUndefined();
  });
});

describe("ds-info form", () => {
  const info: DsInfo = {
    cipherSuites: [1, 3],
    maxMessageSize: 1048576,
    handshakeWireFormats: ["mls_public_message"],
    externalJoins: true,
    keyPackageLowWater: 2,
    submitRateLimit: 60,
    externalSender: mlsBytes(0, 51),
    logRetention: 2592000,
  };

  it("round-trips", () => {
    expect(parseDsInfoForm(reparse(buildDsInfoForm(info)))).toEqual(info);
  });

  it("disco#info lists both identities and the features", () => {
    const q = buildDsDiscoInfo(info);
    expect(q.getNS()).toBe(NS_DISCO_INFO);
    expect(q.getChildren("identity").map((i) => `${i.attrs.category}/${i.attrs.type}`)).toEqual(["component/generic", "pubsub/service"]);
    expect(q.getChildren("feature").map((f) => f.attrs.var)).toEqual([...DS_FEATURES]);
  });

  it("applies defaults for optional fields and ignores unknown ones", () => {
    const x = buildDsInfoForm(info);
    x.children = x.children.filter((c) => typeof c === "string" || !["key-package-low-water", "submit-rate-limit", "log-retention", "handshake-wire-formats", "external-joins"].includes(c.attrs.var ?? ""));
    x.append(xml("field", { var: "future-field" }, xml("value", {}, "x")));
    const parsed = parseDsInfoForm(reparse(x));
    expect(parsed).toMatchObject({ keyPackageLowWater: 2, submitRateLimit: 60, logRetention: 2592000, externalJoins: false, handshakeWireFormats: ["mls_public_message"] });
  });
});

/**
 * The gateway's small parts on their own: the xmpp_binding codec, the DS identity (persisted
 * keys), the per-group mutex, the claim ledger, the request limits, and the whole submit flow on
 * the SQLite store.
 */
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ClaimLedger } from "../../src/component/delivery.js";
import { createDsIdentity } from "../../src/component/ds-identity.js";
import { ConfigError, RateLimitedError } from "../../src/component/errors.js";
import { RequestLimits } from "../../src/component/limits.js";
import { KeyedMutex } from "../../src/component/sequencer.js";
import { openSqliteStore } from "../../src/component/store/sqlite-store.js";
import { bindingOf, decodeXmppBinding, encodeXmppBinding, xmppBindingExtension } from "../../src/xmpp/binding-extension.js";
import { nativeProvider } from "../../src/crypto/native/index.js";
import { decode } from "../../src/codec/reader.js";
import { readExternalSender } from "../../src/mls/core/external-senders.js";
import { fromUtf8, utf8 } from "../../src/util/bytes.js";
import { XmppProtocolError } from "../../src/xmpp/errors.js";
import { buildSubmit, parseAccepted } from "../../src/xmpp/submit-stanzas.js";
import { xml } from "../../src/xmpp/xml.js";
import { createTestGateway, DOMAIN, testConfig } from "./gateway-helpers/fake-network.js";
import { tempDir } from "./helpers/fixtures.js";
import { syntheticCommit } from "./gateway-helpers/mls-fixtures.js";
import { ALICE_PHONE, BOB_PHONE, errorOf, registerGroup, resultOf } from "./gateway-helpers/setup.js";

const dir = tempDir("xmpp-mls-gw-");
afterAll(() => dir.remove());

describe("xmpp_binding", () => {
  it("round-trips and is found among extensions", () => {
    const b = { roomJid: utf8("room@conference.example.org"), deliveryServiceJid: utf8(DOMAIN) };
    const bytes = encodeXmppBinding(b);
    expect(decodeXmppBinding(bytes)).toEqual(b);
    const ext = xmppBindingExtension("room@conference.example.org", DOMAIN);
    expect(ext.extensionType).toBe(0xf0a0);
    expect(bindingOf([{ extensionType: 5, extensionData: new Uint8Array(1) }, ext])).toEqual({ room: "room@conference.example.org", deliveryService: DOMAIN });
    expect(bindingOf([])).toBeNull();
    expect(() => decodeXmppBinding(new Uint8Array([...bytes, 0]))).toThrow(/trailing|codec/i);
    expect(() => bindingOf([{ extensionType: 0xf0a0, extensionData: bytes.subarray(0, 5) }])).toThrow();
  });
});

describe("DS identity", () => {
  it("keeps its keys in the key file (mode 0600) across restarts, one per signature scheme", () => {
    const keyFile = join(dir.path, "ds-keys.json");
    const a = createDsIdentity({ jid: DOMAIN, provider: nativeProvider, keyFile });
    const s1 = a.externalSenderBytes(1);
    expect(a.externalSenderBytes(3)).toEqual(s1); // suites 1 and 3 share Ed25519
    const p256 = a.externalSenderBytes(2);
    expect(p256).not.toEqual(s1);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const b = createDsIdentity({ jid: DOMAIN, provider: nativeProvider, keyFile });
    expect(b.externalSenderBytes(1)).toEqual(s1);
    expect(b.externalSenderBytes(2)).toEqual(p256);
    const es = decode(s1, readExternalSender, "ExternalSender");
    expect(es.credential.credentialType).toBe(1);
    expect(es.credential.credentialType === 1 && fromUtf8(es.credential.identity)).toBe(DOMAIN);
    expect(nativeProvider.suite(1).signaturePublicKey(b.signaturePrivateKey(1))).toEqual(es.signatureKey);
  });

  it("refuses a corrupt key file", () => {
    const keyFile = join(dir.path, "bad.json");
    writeFileSync(keyFile, '{"version":1,"keys":{"Ed25519":"zz"}}');
    expect(() => createDsIdentity({ jid: DOMAIN, provider: nativeProvider, keyFile })).toThrow(ConfigError);
  });
});

describe("KeyedMutex", () => {
  it("runs one task at a time per key, keys independently, and survives failures", async () => {
    const m = new KeyedMutex();
    const order: string[] = [];
    const task = (name: string, ms: number, fail = false) => async () => {
      order.push(`${name}+`);
      await new Promise((r) => setTimeout(r, ms));
      order.push(`${name}-`);
      if (fail) throw new Error(name);
      return name;
    };
    const results = await Promise.allSettled([m.run("g", task("a", 20, true)), m.run("g", task("b", 1)), m.run("h", task("c", 5))]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled", "fulfilled"]);
    expect(order.indexOf("b+")).toBeGreaterThan(order.indexOf("a-"));
    expect(order.indexOf("c+")).toBeLessThan(order.indexOf("a-"));
    expect(m.size).toBe(0);
  });
});

describe("ClaimLedger", () => {
  it("remembers refs, ages them out and stays bounded", () => {
    let now = 0;
    const l = new ClaimLedger({ max: 2, ttlMs: 100, now: () => now });
    l.remember("aa", "bob@example.org/desktop");
    l.remember("bb", "bob@example.org/phone");
    l.remember("cc", "carol@example.org/laptop");
    expect(l.size).toBe(2);
    expect(l.lookup("aa")).toBeUndefined();
    expect(l.lookup("bb")).toBe("bob@example.org/phone");
    now = 101;
    expect(l.lookup("cc")).toBeUndefined();
  });
});

describe("RequestLimits", () => {
  it("caps stanza size and rates per bare JID", () => {
    let now = 0;
    const limits = new RequestLimits(testConfig({ maxStanzaBytes: 1024, maxPayloadBytes: 512, rateLimits: { submitPerMinute: 1 } }).limits, { now: () => now });
    expect(() => limits.checkStanzaSize(xml("iq", {}, "x".repeat(1100)))).toThrow(XmppProtocolError);
    limits.checkStanzaSize(xml("iq", {}, "x".repeat(100)));
    limits.take("a@example.org/1", "submit");
    expect(() => limits.take("A@example.org/2", "submit")).toThrow(RateLimitedError);
    limits.take("b@example.org/1", "submit");
    now = 60_000;
    limits.take("a@example.org/1", "submit");
  });
});

describe("on the SQLite store", () => {
  it("sequences, refuses the loser, and keeps the state across a reopen", async () => {
    const path = join(dir.path, "gw.sqlite");
    const store = openSqliteStore(path);
    const t = createTestGateway({ store });
    const g = await registerGroup(t);
    const v = parseAccepted(resultOf(await t.net.iq(ALICE_PHONE, "set", buildSubmit({ group: g.groupId, epoch: 0n, proposals: [], commit: syntheticCommit(g.groupId, 0n) })))!);
    expect(v).toEqual({ seq: 1, epoch: 1n });
    const e = errorOf(await t.net.iq(BOB_PHONE, "set", buildSubmit({ group: g.groupId, epoch: 0n, proposals: [], commit: syntheticCommit(g.groupId, 0n) })));
    expect(e.app).toEqual({ name: "wrong-epoch", current: 1n });
    store.close();
    const again = openSqliteStore(path);
    expect(again.getGroup(g.groupIdHex).epoch).toBe(1n);
    expect(again.readLog(g.groupIdHex, { max: 5 }).count).toBe(1);
    again.close();
  });
});

/**
 * What the client puts on the wire besides MLS: verification codes, the SCE envelope it encrypts,
 * the groupchat stanza around it, and the xmpp_binding extension.
 */
import { describe, expect, it } from "vitest";
import { verificationCode } from "../../src/client/verification-code.js";
import { bindingOf, checkBinding, decodeXmppBinding, encodeXmppBinding, xmppBindingExtension } from "../../src/client/xmpp-binding.js";
import { MlsClientError } from "../../src/client/errors.js";
import { extensionTypes } from "../../src/mls/core/extension.js";
import { fromHex, utf8 } from "../../src/util/bytes.js";
import { buildApplicationMessage, FALLBACK_BODY, parseMlsMessageStanza } from "../../src/xmpp/delivery-stanzas.js";
import { NS_EME, NS_HINTS, NS_MLS, NS_SID, XMPP_BINDING_EXTENSION_TYPE } from "../../src/xmpp/ns.js";
import { buildEnvelope, envelopeBody, parseEnvelope, textContent } from "../../src/xmpp/sce.js";
import { xml } from "../../src/xmpp/xml.js";

describe("verification code", () => {
  it("is 6 groups of 5 digits from the first 30 octets", () => {
    const auth = new Uint8Array(32);
    expect(verificationCode(auth)).toBe("00000 00000 00000 00000 00000 00000");
    // 0x00000186a0 = 100000 → 00000; 0x00000186a1 → 00001; 0xffffffffff = 1099511627775 → 27775
    auth.set([0x00, 0x00, 0x01, 0x86, 0xa1], 0);
    auth.set([0xff, 0xff, 0xff, 0xff, 0xff], 5);
    auth.set([0x00, 0x00, 0x00, 0x30, 0x39], 25); // 12345
    expect(verificationCode(auth)).toBe("00001 27775 00000 00000 00000 12345");
    auth[31] = 7; // octets beyond the 30th do not matter
    expect(verificationCode(auth)).toBe("00001 27775 00000 00000 00000 12345");
  });

  it("changes with any of the octets it uses and is deterministic", () => {
    const a = fromHex("8f3c2a7be41d08c56a7f1e0b3d92c4a19f3c2a7be41d08c56a7f1e0b3d92c4a1");
    const code = verificationCode(a);
    expect(code).toMatch(/^\d{5}( \d{5}){5}$/);
    expect(verificationCode(a.slice())).toBe(code);
    for (let i = 0; i < 30; i++) {
      const b = a.slice();
      b[i] = b[i]! ^ 0x01;
      expect(verificationCode(b)).not.toBe(code);
    }
  });

  it("refuses authenticators that are too short", () => {
    expect(() => verificationCode(new Uint8Array(29))).toThrow(/too short/);
    expect(verificationCode(new Uint8Array(10), 2)).toBe("00000 00000");
  });
});

describe("SCE envelope of an application message", () => {
  it("carries body, rpad, time and the sender's full JID, and parses back", () => {
    const bytes = buildEnvelope({ content: textContent("The draft is in <the> shared folder & more"), from: "alice@example.org/phone-8b1f", time: "2026-11-28T09:41:07Z" });
    const text = new TextDecoder().decode(bytes);
    expect(text.startsWith("<envelope xmlns=\"urn:xmpp:sce:1\">")).toBe(true);
    expect(text).toContain("<rpad>");
    expect(text).toContain("<time stamp=\"2026-11-28T09:41:07Z\"/>");
    expect(text).toContain("<from jid=\"alice@example.org/phone-8b1f\"/>");
    const env = parseEnvelope(bytes);
    expect(envelopeBody(env)).toBe("The draft is in <the> shared folder & more");
    expect(env.from).toBe("alice@example.org/phone-8b1f");
    expect(env.rpad).toMatch(/^[A-Za-z0-9_-]{0,200}$/);
  });

  it("pads randomly: two envelopes of the same text differ in length most of the time", () => {
    const lengths = new Set(Array.from({ length: 20 }, () => buildEnvelope({ content: textContent("hi"), from: "a@b.c/d" }).length));
    expect(lengths.size).toBeGreaterThan(5);
  });

  it("the groupchat stanza has <mls kind=application>, EME marker, fallback body, store hint and origin-id", () => {
    const el = buildApplicationMessage({ to: "room@conference.example.org", id: "x1", originId: "x1", group: fromHex("9f3c"), epoch: 6n, message: utf8("ciphertext") });
    expect(el.attrs.type).toBe("groupchat");
    expect(el.getChild("mls", NS_MLS)?.attrs).toMatchObject({ kind: "application", group: "9f3c", epoch: "6" });
    expect(el.getChild("mls", NS_MLS)?.attrs.seq).toBeUndefined();
    expect(el.getChild("encryption", NS_EME)?.attrs).toMatchObject({ namespace: NS_MLS, name: "MLS" });
    expect(el.getChildText("body")).toBe(FALLBACK_BODY);
    expect(el.getChild("store", NS_HINTS)).toBeDefined();
    expect(el.getChild("origin-id", NS_SID)?.attrs.id).toBe("x1");
    // As the room reflects it: from the occupant, with the room's stanza-id.
    el.attrs.from = "room@conference.example.org/alice.phone";
    el.append(xml("stanza-id", { xmlns: NS_SID, id: "spoof", by: "evil@example.org" }));
    el.append(xml("stanza-id", { xmlns: NS_SID, id: "arch-1", by: "room@conference.example.org" }));
    const parsed = parseMlsMessageStanza(el);
    expect(parsed.stanzaId).toBe("arch-1");
    expect(parsed.originId).toBe("x1");
  });
});

describe("xmpp_binding extension", () => {
  it("encodes struct { opaque room_jid<V>; opaque delivery_service_jid<V>; }", () => {
    const ext = xmppBindingExtension("room@conference.example.org", "mls.example.org");
    expect(ext.extensionType).toBe(0xf0a0);
    expect(ext.extensionType).toBe(XMPP_BINDING_EXTENSION_TYPE);
    // varint length 27, room, varint length 15, ds
    expect(ext.extensionData[0]).toBe(27);
    expect(ext.extensionData[28]).toBe(15);
    expect(ext.extensionData.length).toBe(1 + 27 + 1 + 15);
    const b = decodeXmppBinding(ext.extensionData);
    expect(new TextDecoder().decode(b.roomJid)).toBe("room@conference.example.org");
    expect(encodeXmppBinding(b)).toEqual(ext.extensionData);
    expect(() => decodeXmppBinding(new Uint8Array([...ext.extensionData, 0]))).toThrow();
  });

  it("checkBinding accepts the named room and hub (case-insensitively) and rejects others", () => {
    const exts = [{ extensionType: extensionTypes.external_senders, extensionData: new Uint8Array(0) }, xmppBindingExtension("room@conference.example.org", "mls.example.org")];
    expect(bindingOf(exts)).toEqual({ room: "room@conference.example.org", ds: "mls.example.org" });
    expect(() => checkBinding(exts, "Room@Conference.example.org", "MLS.example.org")).not.toThrow();
    expect(() => checkBinding(exts, "other@conference.example.org", "mls.example.org")).toThrow(MlsClientError);
    expect(() => checkBinding(exts, "room@conference.example.org", "mls.evil.org")).toThrow(/bound to/);
    expect(() => checkBinding([], "room@conference.example.org", "mls.example.org")).toThrow(/no xmpp_binding/);
    const broken = [{ extensionType: XMPP_BINDING_EXTENSION_TYPE, extensionData: new Uint8Array([5, 1]) }];
    expect(() => bindingOf(broken)).toThrow(/malformed/);
  });
});

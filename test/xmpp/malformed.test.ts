import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import {
  buildClaim, buildKeyPackage, buildMls, buildRelay, buildSubmit, parseAccepted, parseClaim, parseCreate, parseEntry,
  parseGroupInfoRequest, parseKeyPackage, parseKeyPackagePublish, parseKeyPackages, parseKeyPackagesLow,
  parseLogRequest, parseLogResult, parseMls, parseMlsMessageStanza, parseRelay, parseStrictXml, parseSubmit,
  parseWelcome, XmppProtocolError, xml, type Element, type Limits, type ProtocolErrorCode, type StanzaErrorCondition,
} from "../../src/xmpp/index.js";
import { GROUP, mlsBytes, values } from "./samples.js";

const NS = "xmlns='urn:x-xmpp-mls:0'";
const G = "9f3c2a7be41d08c56a7f1e0b3d92c4a1";
const P = "AAEAAQ=="; // a valid payload
const KP = `device='phone-8b1f' cipher-suite='1'`;

interface Row {
  readonly name: string;
  readonly xml: string;
  readonly parse: (el: Element) => unknown;
  readonly code: ProtocolErrorCode;
  readonly condition: StanzaErrorCondition;
}

const row = (name: string, text: string, parse: (el: Element) => unknown, code: ProtocolErrorCode, condition: StanzaErrorCondition = "bad-request"): Row =>
  ({ name, xml: text, parse, code, condition });

const small: Partial<Limits> = { maxPayloadBytes: 8, maxGroupIdBytes: 4, maxItems: 2 };

const ROWS: readonly Row[] = [
  // base64
  row("bad base64 alphabet", `<key-package ${NS} ${KP}>AAEA*Q==</key-package>`, parseKeyPackage, "xmpp.bad_base64"),
  row("bad base64 padding", `<key-package ${NS} ${KP}>AAEAAQ=</key-package>`, parseKeyPackage, "xmpp.bad_base64"),
  row("base64url alphabet", `<mls ${NS} kind='application' group='${G}' epoch='1'>AAEA_-8=</mls>`, parseMls, "xmpp.bad_base64"),
  row("padding in the middle", `<welcome ${NS} group='${G}' room='r@c.example' epoch='1' seq='1'>AA==AAEA</welcome>`, parseWelcome, "xmpp.bad_base64"),
  row("empty payload", `<key-package ${NS} ${KP}></key-package>`, parseKeyPackage, "xmpp.malformed"),
  row("child element in payload", `<key-package ${NS} ${KP}>${P}<x/></key-package>`, parseKeyPackage, "xmpp.malformed"),
  // sizes
  row("oversized payload", `<key-package ${NS} ${KP}>AAECAwQFBgcICQ==</key-package>`, (el) => parseKeyPackage(el, small), "xmpp.too_large", "policy-violation"),
  row("too many key-packages", `<key-packages ${NS} jid='b@example.org'>${[1, 2, 3].map((i) => `<key-package device='d${i}' cipher-suite='1' ref='${"ab".repeat(32)}'>${P}</key-package>`).join("")}</key-packages>`, (el) => parseKeyPackages(el, small), "xmpp.too_large", "policy-violation"),
  row("group id over the cap", `<claim ${NS} jid='b@example.org' cipher-suite='1' group='0102030405'/>`, (el) => parseClaim(el, small), "xmpp.bad_hex"),
  // missing attributes
  row("key-package without device", `<key-package ${NS} cipher-suite='1'>${P}</key-package>`, parseKeyPackage, "xmpp.missing_attribute"),
  row("claim without jid", `<claim ${NS} cipher-suite='1'/>`, parseClaim, "xmpp.missing_attribute"),
  row("submit without epoch", `<submit ${NS} group='${G}'><commit>${P}</commit></submit>`, parseSubmit, "xmpp.missing_attribute"),
  row("accepted without seq", `<accepted ${NS} epoch='2'/>`, parseAccepted, "xmpp.missing_attribute"),
  row("commit mls without seq", `<mls ${NS} kind='commit' group='${G}' epoch='1'>${P}</mls>`, parseMls, "xmpp.missing_attribute"),
  row("entry without stamp", `<entry ${NS} seq='1' epoch='1' kind='commit' sender='a@example.org/x'>${P}</entry>`, parseEntry, "xmpp.missing_attribute"),
  row("claim result without ref", `<key-packages ${NS} jid='b@example.org'><key-package ${KP}>${P}</key-package></key-packages>`, parseKeyPackages, "xmpp.missing_attribute"),
  // wrong namespace / element
  row("no namespace", `<claim jid='b@example.org' cipher-suite='1'/>`, parseClaim, "xmpp.wrong_namespace"),
  row("OMEMO namespace", `<claim xmlns='urn:xmpp:omemo:2' jid='b@example.org' cipher-suite='1'/>`, parseClaim, "xmpp.wrong_namespace"),
  row("wrong element", `<submit ${NS} group='${G}' epoch='1'><commit>${P}</commit></submit>`, parseClaim, "xmpp.unexpected_element"),
  row("foreign child in submit", `<submit ${NS} group='${G}' epoch='1'><commit xmlns='urn:other'>${P}</commit></submit>`, parseSubmit, "xmpp.wrong_namespace"),
  row("unknown child in create", `<create ${NS} group='${G}' room='r@c.example'><group-info>${P}</group-info><extra/></create>`, parseCreate, "xmpp.unexpected_element"),
  row("text inside empty claim", `<claim ${NS} jid='b@example.org' cipher-suite='1'>hello</claim>`, parseClaim, "xmpp.malformed"),
  // hex group ids
  row("uppercase hex group", `<mls ${NS} kind='application' group='9F3C' epoch='1'>${P}</mls>`, parseMls, "xmpp.bad_hex"),
  row("odd-length hex group", `<mls ${NS} kind='application' group='9f3' epoch='1'>${P}</mls>`, parseMls, "xmpp.bad_hex"),
  row("empty group", `<mls ${NS} kind='application' group='' epoch='1'>${P}</mls>`, parseMls, "xmpp.bad_hex"),
  row("non-hex group", `<log ${NS} group='zz'/>`, parseLogRequest, "xmpp.bad_hex"),
  row("short ref", `<key-package ${KP} ref='abcd' ${NS}>${P}</key-package>`, parseKeyPackage, "xmpp.bad_hex"),
  // kinds and enumerations
  row("unknown mls kind", `<mls ${NS} kind='welcome' group='${G}' epoch='1' seq='1'>${P}</mls>`, parseMls, "xmpp.unknown_kind"),
  row("unknown entry kind", `<entry ${NS} seq='1' epoch='1' kind='application' sender='a@example.org/x' stamp='2026-11-28T10:00:00Z'>${P}</entry>`, parseEntry, "xmpp.unknown_kind"),
  // numbers, booleans, jids, dates
  row("epoch with leading zero", `<accepted ${NS} seq='1' epoch='05'/>`, parseAccepted, "xmpp.bad_attribute"),
  row("negative epoch", `<accepted ${NS} seq='1' epoch='-1'/>`, parseAccepted, "xmpp.bad_attribute"),
  row("epoch beyond uint64", `<accepted ${NS} seq='1' epoch='18446744073709551616'/>`, parseAccepted, "xmpp.bad_attribute"),
  row("cipher suite 0", `<claim ${NS} jid='b@example.org' cipher-suite='0'/>`, parseClaim, "xmpp.bad_attribute"),
  row("cipher suite too big", `<claim ${NS} jid='b@example.org' cipher-suite='65536'/>`, parseClaim, "xmpp.bad_attribute"),
  row("bad boolean", `<key-package ${KP} last-resort='yes' ${NS}>${P}</key-package>`, parseKeyPackage, "xmpp.bad_attribute"),
  row("bad device id", `<key-packages-low ${NS} device='my phone' cipher-suite='1' remaining='1'/>`, parseKeyPackagesLow, "xmpp.bad_attribute"),
  row("claim of a full JID", `<claim ${NS} jid='b@example.org/desk' cipher-suite='1'/>`, parseClaim, "xmpp.bad_attribute"),
  row("bad stamp", `<entry ${NS} seq='1' epoch='1' kind='commit' sender='a@example.org/x' stamp='yesterday'>${P}</entry>`, parseEntry, "xmpp.bad_attribute"),
  row("application mls with seq", `<mls ${NS} kind='application' group='${G}' epoch='1' seq='3'>${P}</mls>`, parseMls, "xmpp.bad_attribute"),
  // structure
  row("empty submit", `<submit ${NS} group='${G}' epoch='1'/>`, parseSubmit, "xmpp.malformed"),
  row("welcome without commit", `<submit ${NS} group='${G}' epoch='1'><proposal>${P}</proposal><welcome>${P}</welcome></submit>`, parseSubmit, "xmpp.malformed"),
  row("submit out of order", `<submit ${NS} group='${G}' epoch='1'><commit>${P}</commit><proposal>${P}</proposal></submit>`, parseSubmit, "xmpp.malformed"),
  row("two commits", `<submit ${NS} group='${G}' epoch='1'><commit>${P}</commit><commit>${P}</commit></submit>`, parseSubmit, "xmpp.malformed"),
  row("attribute on submit child", `<submit ${NS} group='${G}' epoch='1'><commit epoch='1'>${P}</commit></submit>`, parseSubmit, "xmpp.bad_attribute"),
  row("group-info request with both", `<group-info ${NS} group='${G}' room='r@c.example'/>`, parseGroupInfoRequest, "xmpp.malformed"),
  row("log entries out of order", `<log ${NS} group='${G}'><entry seq='2' epoch='1' kind='commit' sender='a@example.org/x' stamp='2026-11-28T10:00:00Z'>${P}</entry><entry seq='1' epoch='1' kind='commit' sender='a@example.org/x' stamp='2026-11-28T10:00:00Z'>${P}</entry></log>`, parseLogResult, "xmpp.malformed"),
  row("rsm set not last", `<log ${NS} group='${G}'><set xmlns='http://jabber.org/protocol/rsm'/><entry seq='1' epoch='1' kind='commit' sender='a@example.org/x' stamp='2026-11-28T10:00:00Z'>${P}</entry></log>`, parseLogResult, "xmpp.malformed"),
  row("bad rsm max", `<log ${NS} group='${G}'><set xmlns='http://jabber.org/protocol/rsm'><max>ten</max></set></log>`, parseLogRequest, "xmpp.bad_attribute"),
  row("relay with both hops", `<relay ${NS} target='mls.example.org' origin='a@example.org/x'><claim jid='b@example.org' cipher-suite='1'/></relay>`, parseRelay, "xmpp.malformed"),
  row("relay of a non-request", `<relay ${NS} target='mls.example.org'><accepted seq='1' epoch='1'/></relay>`, parseRelay, "xmpp.unexpected_element"),
  row("duplicate device in claim result", `<key-packages ${NS} jid='b@example.org'>${[1, 2].map(() => `<key-package ${KP} ref='${"ab".repeat(32)}'>${P}</key-package>`).join("")}</key-packages>`, parseKeyPackages, "xmpp.malformed"),
  row("publish with ref on payload", `<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:x-xmpp-mls:0:key-packages:a@example.org'><item id='${"ab".repeat(32)}'><key-package ${NS} ${KP} ref='${"ab".repeat(32)}'>${P}</key-package></item></publish></pubsub>`, parseKeyPackagePublish, "xmpp.bad_attribute"),
  row("publish to a foreign node", `<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:omemo:2:bundles'><item id='${"ab".repeat(32)}'><key-package ${NS} ${KP}>${P}</key-package></item></publish></pubsub>`, parseKeyPackagePublish, "xmpp.bad_attribute"),
  row("two mls in one message", `<message type='groupchat' from='r@c.example/a'><mls ${NS} kind='application' group='${G}' epoch='1'>${P}</mls><mls ${NS} kind='application' group='${G}' epoch='1'>${P}</mls></message>`, parseMlsMessageStanza, "xmpp.malformed"),
  row("mls message of type chat", `<message type='chat' from='r@c.example/a'><mls ${NS} kind='application' group='${G}' epoch='1'>${P}</mls></message>`, parseMlsMessageStanza, "xmpp.bad_attribute"),
];

describe("malformed input is rejected with the right stanza error", () => {
  for (const r of ROWS) {
    it(r.name, () => {
      const el = parseStrictXml(r.xml);
      let caught: unknown;
      try {
        r.parse(el);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(XmppProtocolError);
      const e = caught as XmppProtocolError;
      expect(e.code).toBe(r.code);
      expect(e.condition).toBe(r.condition);
    });
  }

  it("oversized payloads carry too-large with the limit", () => {
    const el = parseStrictXml(`<key-package ${NS} ${KP}>AAECAwQFBgcICQ==</key-package>`);
    expect(() => parseKeyPackage(el, small)).toThrow(expect.objectContaining({ app: { name: "too-large", max: 8 }, type: "modify" }));
  });

  it("whitespace inside base64 is ignored (xs:base64Binary)", () => {
    const el = parseStrictXml(`<key-package ${NS} ${KP}>AAEA\n  AQ==</key-package>`);
    expect(parseKeyPackage(el).keyPackage).toEqual(new Uint8Array([0, 1, 0, 1]));
  });
});

describe("builders refuse what parsers would reject", () => {
  const cases: [string, () => unknown][] = [
    ["empty payload", () => buildMls({ ...values.mlsApplication, message: new Uint8Array(0) })],
    ["empty group id", () => buildMls({ ...values.mlsApplication, group: new Uint8Array(0) })],
    ["bad device id", () => buildKeyPackage({ ...values.keyPackage, device: "my phone" })],
    ["claim of a full JID", () => buildClaim({ jid: "bob@example.org/desk", cipherSuite: 1 })],
    ["application with seq", () => buildMls({ ...values.mlsApplication, seq: 3 })],
    ["commit without seq", () => buildMls({ kind: "commit", group: GROUP, epoch: 1n, message: mlsBytes(1) })],
    ["negative epoch", () => buildSubmit({ ...values.submitCommit, epoch: -1n })],
    ["welcome without commit", () => buildSubmit({ group: GROUP, epoch: 1n, proposals: [mlsBytes(1)], welcome: mlsBytes(3) })],
    ["relay of a result", () => buildRelay({ target: "mls.example.org", payload: xml("accepted", { xmlns: "urn:x-xmpp-mls:0" }) })],
  ];
  for (const [name, f] of cases) {
    it(name, () => {
      let caught: unknown;
      try {
        f();
      } catch (e) {
        caught = e;
      }
      expect(caught instanceof UsageError || caught instanceof XmppProtocolError).toBe(true);
    });
  }

  it("oversized outgoing payload is xmpp.too_large", () => {
    expect(() => buildMls(values.mlsApplication, { maxPayloadBytes: 10 })).toThrow(expect.objectContaining({ code: "xmpp.too_large" }));
  });
});

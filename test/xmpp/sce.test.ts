import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { fromUtf8, utf8 } from "../../src/util/bytes.js";
import {
  buildEnvelope, envelopeBody, NS_CLIENT, NS_HINTS, parseEnvelope, parseStrictXml, randomPadding, textContent, xml,
  XmppProtocolError,
} from "../../src/xmpp/index.js";

const FROM = "alice@example.org/phone-8b1f";
const TIME = "2026-11-28T09:41:07.000Z";
const ENV = (inner: string): string => `<envelope xmlns='urn:xmpp:sce:1'>${inner}</envelope>`;
const AFFIXES = `<rpad>abc</rpad><time stamp='${TIME}'/><from jid='${FROM}'/>`;
const BODY = `<content><body xmlns='jabber:client'>Hi</body></content>`;

describe("SCE envelope", () => {
  it("round-trips text, unicode and markup-like characters", () => {
    const text = "5 < 6 & \"quotes\" 'apos' — ünïcödé 😀 ]]> <body/>";
    const bytes = buildEnvelope({ content: textContent(text), from: FROM, time: new Date(TIME), rpad: "xQfD-_" });
    const env = parseEnvelope(bytes);
    expect(envelopeBody(env)).toBe(text);
    expect(env).toMatchObject({ from: FROM, time: TIME, rpad: "xQfD-_" });
    expect(env.content).toHaveLength(1);
  });

  it("serialises as one envelope element in urn:xmpp:sce:1 with content, rpad, time and from", () => {
    const s = fromUtf8(buildEnvelope({ content: textContent("Hi"), from: FROM, time: TIME, rpad: "" }));
    const root = parseStrictXml(s);
    expect(root.getName()).toBe("envelope");
    expect(root.getNS()).toBe("urn:xmpp:sce:1");
    expect(root.getChildElements().map((c) => c.getName())).toEqual(["content", "rpad", "time", "from"]);
  });

  it("keeps several content elements and drops server-processed ones", () => {
    const env = parseEnvelope(utf8(ENV(`<content><body xmlns='jabber:client'>Hi</body><store xmlns='${NS_HINTS}'/><reply xmlns='urn:xmpp:reply:0' id='x'/></content>${AFFIXES}`)));
    expect(env.content.map((c) => c.getName())).toEqual(["body", "reply"]);
  });

  it("random padding: 0..200 characters of the base64url alphabet, varying length", () => {
    const lengths = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const p = randomPadding();
      expect(p).toMatch(/^[A-Za-z0-9_-]{0,200}$/);
      lengths.add(p.length);
    }
    expect(lengths.size).toBeGreaterThan(50);
  });

  it("builder rejects content without explicit namespace and server-processed elements", () => {
    expect(() => buildEnvelope({ content: [xml("body", {}, "x")], from: FROM })).toThrow(UsageError);
    expect(() => buildEnvelope({ content: [xml("store", { xmlns: NS_HINTS })], from: FROM })).toThrow(UsageError);
    expect(() => buildEnvelope({ content: textContent("x"), from: "alice@example.org" })).toThrow(UsageError);
  });

  const bad: [string, string | Uint8Array][] = [
    ["invalid UTF-8", new Uint8Array([0x3c, 0xff, 0xfe])],
    ["not XML", "hello"],
    ["two roots", ENV(BODY + AFFIXES) + "<envelope xmlns='urn:xmpp:sce:1'/>"],
    ["trailing text", ENV(BODY + AFFIXES) + "tail"],
    ["leading text", "x" + ENV(BODY + AFFIXES)],
    ["truncated", ENV(BODY + AFFIXES).slice(0, -3)],
    ["mismatched end tag", `<envelope xmlns='urn:xmpp:sce:1'>${BODY}${AFFIXES}</envelop>`],
    ["XML declaration", "<?xml version='1.0'?>" + ENV(BODY + AFFIXES)],
    ["DOCTYPE with entity", `<!DOCTYPE e [<!ENTITY x "y">]>` + ENV(BODY + AFFIXES)],
    ["comment", "<!-- c -->" + ENV(BODY + AFFIXES)],
    ["unknown entity", ENV(`<content><body xmlns='jabber:client'>&bogus;</body></content>${AFFIXES}`)],
    ["bare ampersand", ENV(`<content><body xmlns='jabber:client'>a & b</body></content>${AFFIXES}`)],
    ["wrong namespace", `<envelope xmlns='urn:xmpp:sce:0'>${BODY}${AFFIXES}</envelope>`],
    ["wrong root", `<content xmlns='urn:xmpp:sce:1'/>`],
    ["no content", ENV(AFFIXES)],
    ["no from", ENV(`${BODY}<time stamp='${TIME}'/>`)],
    ["no time", ENV(`${BODY}<from jid='${FROM}'/>`)],
    ["bare from", ENV(`${BODY}<time stamp='${TIME}'/><from jid='alice@example.org'/>`)],
    ["bad stamp", ENV(`${BODY}<time stamp='now'/><from jid='${FROM}'/>`)],
    ["duplicate from", ENV(`${BODY}${AFFIXES}<from jid='${FROM}'/>`)],
    ["unknown affix", ENV(`${BODY}${AFFIXES}<extra/>`)],
    ["text in envelope", ENV(`${BODY}hello${AFFIXES}`)],
    ["too deep", ENV(`<content>${"<a xmlns='u:x'>".repeat(40)}${"</a>".repeat(40)}</content>${AFFIXES}`)],
  ];
  for (const [name, input] of bad) {
    it(`rejects ${name}`, () => {
      const bytes = typeof input === "string" ? utf8(input) : input;
      expect(() => parseEnvelope(bytes)).toThrow(expect.objectContaining({ code: "xmpp.bad_envelope" }));
      try {
        parseEnvelope(bytes);
      } catch (e) {
        expect(e).toBeInstanceOf(XmppProtocolError);
      }
    });
  }

  it("accepts insignificant whitespace and CDATA content", () => {
    const env = parseEnvelope(utf8(`\n ${ENV(`\n  <content><body xmlns='${NS_CLIENT}'><![CDATA[a & <b>]]></body></content>\n  ${AFFIXES}\n`)}\n`));
    expect(envelopeBody(env)).toBe("a & <b>");
  });
});

describe("strict XML reader", () => {
  it("resolves prefixed namespaces like the stream parser", () => {
    const el = parseStrictXml(`<p:a xmlns:p='urn:x'><p:b/></p:a>`);
    expect(el.getNS()).toBe("urn:x");
    expect(el.getChildElements()[0]!.getNS()).toBe("urn:x");
  });

  it("enforces the size cap", () => {
    expect(() => parseStrictXml(`<a>${"x".repeat(100)}</a>`, { maxLength: 50 })).toThrow(expect.objectContaining({ code: "xmpp.malformed" }));
  });
});

/**
 * XEP-0420 Stanza Content Encryption envelope, as profiled by xmpp-mls (XEP "Application
 * Messages"): the UTF-8 bytes that are the MLS application_data of a PrivateMessage.
 *
 *   <envelope xmlns='urn:xmpp:sce:1'>
 *     <content><body xmlns='jabber:client'>Hi</body></content>   sensitive extension elements
 *     <rpad>random</rpad>                                          REQUIRED here (may be empty)
 *     <time stamp='2026-11-28T10:00:00Z'/>                         REQUIRED
 *     <from jid='alice@example.org/phone-8b1f'/>                   REQUIRED: sender's full JID
 *   </envelope>
 *
 * Parsing accepts exactly one envelope element (see strict-xml.ts). Server-processed elements
 * found inside `<content/>` (hints, stanza/origin ids, EME) are dropped, as XEP-0420 §7 requires.
 * @module
 */
import { UsageError } from "../errors.js";
import { fromUtf8, utf8 } from "../util/bytes.js";
import { XmppProtocolError } from "./errors.js";
import { assertJid, jidAttr } from "./jid.js";
import { NS_CLIENT, NS_EME, NS_HINTS, NS_SCE, NS_SID } from "./ns.js";
import { parseStrictXml } from "./strict-xml.js";
import { attr, dateTimeValue, expectElement, isDateTime } from "./values.js";
import { Element, isElement, qname, xml } from "./xml.js";

export interface SceEnvelope {
  /** The children of `<content/>`: the stanza's sensitive extension elements. */
  readonly content: readonly Element[];
  /** Full JID of the sending device; MUST equal the MLS sender's credential identity. */
  readonly from: string;
  /** XEP-0082 DateTime the sender put in `<time/>`. */
  readonly time: string;
  readonly rpad: string;
  /** `<to/>` if present (this profile does not use it; kept for diagnostics). */
  readonly to?: string;
}

/** Namespaces of elements that belong on the stanza, never inside the envelope. */
const SERVER_PROCESSED = new Set([NS_HINTS, NS_SID, NS_EME]);
const RPAD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const MAX_RPAD = 200;

/** Random padding: 0..200 characters, uniformly random length, base64url alphabet. */
export function randomPadding(): string {
  const bytes = new Uint8Array(MAX_RPAD + 2);
  globalThis.crypto.getRandomValues(bytes);
  const len = ((bytes[0]! << 8) | bytes[1]!) % (MAX_RPAD + 1);
  let s = "";
  for (let i = 0; i < len; i++) s += RPAD_ALPHABET[bytes[i + 2]! & 63];
  return s;
}

/** The usual content: one `<body xmlns='jabber:client'>`. */
export function textContent(body: string): Element[] {
  return [xml("body", { xmlns: NS_CLIENT }, body)];
}

/** XEP example "Plaintext SCE envelope of Alice's message", serialised to UTF-8. */
export function buildEnvelope(v: { content: readonly Element[]; from: string; time?: Date | string; rpad?: string }): Uint8Array {
  assertJid(v.from, "full", "from");
  const time = v.time === undefined ? new Date().toISOString() : typeof v.time === "string" ? v.time : v.time.toISOString();
  if (!isDateTime(time)) throw new UsageError("usage.bad_time", `"time" must be an XEP-0082 DateTime`);
  for (const c of v.content) {
    if (c.attrs.xmlns === undefined) throw new UsageError("usage.bad_content", `content element <${c.name}/> needs an explicit xmlns`);
    if (SERVER_PROCESSED.has(c.attrs.xmlns)) throw new UsageError("usage.bad_content", `<${c.name}/> in ${c.attrs.xmlns} is server-processed; put it on the stanza`);
  }
  const env = xml(
    "envelope",
    { xmlns: NS_SCE },
    xml("content", {}, ...v.content),
    xml("rpad", {}, v.rpad ?? randomPadding()),
    xml("time", { stamp: time }),
    xml("from", { jid: v.from }),
  );
  return utf8(env.toString());
}

const badEnvelope = (msg: string, cause?: unknown): never => {
  throw new XmppProtocolError("xmpp.bad_envelope", msg, cause === undefined ? {} : { cause });
};

/** Parses the decrypted application_data. Anything but a single conforming envelope throws. */
export function parseEnvelope(bytes: Uint8Array, opts: { maxLength?: number } = {}): SceEnvelope {
  let text = "";
  try {
    text = fromUtf8(bytes);
  } catch (e) {
    badEnvelope("application data is not UTF-8", e);
  }
  let root: Element;
  try {
    root = parseStrictXml(text, { maxLength: opts.maxLength ?? 1 << 20 });
  } catch (e) {
    return badEnvelope(e instanceof Error ? e.message : "not XML", e);
  }
  try {
    expectElement(root, "envelope", NS_SCE);
  } catch (e) {
    return badEnvelope(e instanceof Error ? e.message : "not an envelope", e);
  }
  const seen = new Map<string, Element>();
  for (const c of root.children) {
    if (!isElement(c)) {
      if (c.trim() !== "") badEnvelope("text directly inside <envelope/>");
      continue;
    }
    if (c.getNS() !== NS_SCE || !["content", "rpad", "time", "from", "to"].includes(c.getName())) badEnvelope(`unexpected ${qname(c)} in <envelope/>`);
    if (seen.has(c.getName())) badEnvelope(`<${c.getName()}/> appears twice`);
    seen.set(c.getName(), c);
  }
  const content = seen.get("content") ?? badEnvelope("<content/> is required");
  const timeEl = seen.get("time") ?? badEnvelope("<time/> is required by this profile");
  const fromEl = seen.get("from") ?? badEnvelope("<from/> is required by this profile");
  const rpadEl = seen.get("rpad");
  const toEl = seen.get("to");
  const kids: Element[] = [];
  for (const c of content.children) {
    if (!isElement(c)) {
      if (c.trim() !== "") badEnvelope("text directly inside <content/>");
      continue;
    }
    if (!SERVER_PROCESSED.has(c.getNS() ?? "")) kids.push(c);
  }
  let from: string, time: string, to: string | undefined;
  try {
    from = jidAttr(fromEl, "jid", "full");
    time = dateTimeValue(timeEl, "stamp", attr(timeEl, "stamp"));
    to = toEl && jidAttr(toEl, "jid", "any");
  } catch (e) {
    return badEnvelope(e instanceof Error ? e.message : "bad affix", e);
  }
  if (rpadEl?.children.some(isElement)) badEnvelope("<rpad/> holds text only");
  const env = { content: kids, from, time, rpad: rpadEl?.getText() ?? "" };
  return to === undefined ? env : { ...env, to };
}

/** Text of the `<body xmlns='jabber:client'/>` in the content, if any. */
export function envelopeBody(env: SceEnvelope): string | undefined {
  return env.content.find((c) => c.getName() === "body" && c.getNS() === NS_CLIENT)?.getText();
}

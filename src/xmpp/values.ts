/**
 * Strict readers for the attribute and text value formats of xmpp-mls (XEP "Value Formats").
 * Every reader throws {@link XmppProtocolError} with a `xmpp.*` code naming the element and
 * attribute; none returns `undefined` to mean "invalid".
 *
 * | format        | lexical form                                   | TS type    |
 * |---------------|------------------------------------------------|------------|
 * | group id      | lowercase hex, 1..maxGroupIdBytes octets       | Uint8Array |
 * | ref           | lowercase hex, 16..64 octets                   | Uint8Array |
 * | epoch         | canonical decimal 0..2^64-1                    | bigint     |
 * | seq, counts   | canonical decimal 0..2^53-1                    | number     |
 * | cipher-suite  | canonical decimal 1..65535                     | number     |
 * | payload       | RFC 4648 §4 base64, padded, whitespace ignored | Uint8Array |
 * @module
 */
import { fromBase64, toBase64, toHex } from "../util/bytes.js";
import { XmppProtocolError } from "./errors.js";
import { NS_MLS, STANZA_NAMESPACES } from "./ns.js";
import { Element, isElement, qname } from "./xml.js";

/** Size caps applied while parsing; pass a partial object to override the defaults. */
export interface Limits {
  /** Largest decoded payload (octets) accepted in any element. */
  readonly maxPayloadBytes: number;
  /** Largest group id (octets). */
  readonly maxGroupIdBytes: number;
  /** Most `<entry/>`/`<key-package/>`/`<proposal/>` children accepted in one element. */
  readonly maxItems: number;
}

export const DEFAULT_LIMITS: Limits = Object.freeze({ maxPayloadBytes: 1 << 20, maxGroupIdBytes: 255, maxItems: 1000 });

export function limitsOf(l?: Partial<Limits>): Limits {
  return l === undefined ? DEFAULT_LIMITS : { ...DEFAULT_LIMITS, ...l };
}

const where = (el: Element, attr?: string): string => (attr === undefined ? qname(el) : `${qname(el)}@${attr}`);

/** Checks name and namespace of `el`. */
export function expectElement(el: Element, name: string, ns: string = NS_MLS): void {
  if (el.getName() !== name) throw new XmppProtocolError("xmpp.unexpected_element", `expected <${name}/>, got ${qname(el)}`);
  if (el.getNS() !== ns) throw new XmppProtocolError("xmpp.wrong_namespace", `<${name}/> must be in ${ns}, got ${el.getNS() ?? "no namespace"}`);
}

/** Checks a top-level stanza: its name, and a stanza namespace (client, server, component or none). */
export function expectStanza(el: Element, name: "message" | "iq" | "presence"): void {
  if (el.getName() !== name) throw new XmppProtocolError("xmpp.unexpected_element", `expected <${name}/>, got ${qname(el)}`);
  if (!STANZA_NAMESPACES.includes(el.getNS())) throw new XmppProtocolError("xmpp.wrong_namespace", `<${name}/> in ${el.getNS() ?? "?"} is not a stanza`);
}

/** Child elements of `el`, each of which must be in `ns` and named in `allowed`. No stray text. */
export function childElements(el: Element, allowed: readonly string[], ns: string = NS_MLS): Element[] {
  const out: Element[] = [];
  for (const c of el.children) {
    if (!isElement(c)) {
      if (String(c).trim() !== "") throw new XmppProtocolError("xmpp.malformed", `${where(el)} must not contain text`);
      continue;
    }
    if (c.getNS() !== ns) throw new XmppProtocolError("xmpp.wrong_namespace", `unexpected ${qname(c)} in ${where(el)}`);
    if (!allowed.includes(c.getName())) throw new XmppProtocolError("xmpp.unexpected_element", `unexpected ${qname(c)} in ${where(el)}`);
    out.push(c);
  }
  return out;
}

/** Rejects any child element or non-whitespace text: for elements the XEP defines as empty. */
export function expectEmpty(el: Element): void {
  childElements(el, []);
}

export function attr(el: Element, name: string): string {
  const v = el.attrs[name];
  if (v === undefined) throw new XmppProtocolError("xmpp.missing_attribute", `${where(el, name)} is required`);
  return v;
}

export function optionalAttr(el: Element, name: string): string | undefined {
  return el.attrs[name];
}

function bad(el: Element, name: string, what: string, v: string): never {
  throw new XmppProtocolError("xmpp.bad_attribute", `${where(el, name)} must be ${what}, got ${JSON.stringify(v.slice(0, 80))}`);
}

const HEX = /^(?:[0-9a-f]{2})+$/;

/** Lowercase hex of `minBytes..maxBytes` octets. */
export function hexValue(el: Element, name: string, v: string, minBytes: number, maxBytes: number): Uint8Array {
  if (!HEX.test(v)) throw new XmppProtocolError("xmpp.bad_hex", `${where(el, name)} must be lowercase hex with an even number of digits`);
  const n = v.length / 2;
  if (n < minBytes || n > maxBytes) throw new XmppProtocolError("xmpp.bad_hex", `${where(el, name)} must be ${minBytes}..${maxBytes} octets, got ${n}`);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Number.parseInt(v.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function groupIdAttr(el: Element, limits: Limits, name = "group"): Uint8Array {
  return hexValue(el, name, attr(el, name), 1, limits.maxGroupIdBytes);
}

/** KeyPackageRef: a hash output (RFC 9420 §5.2), 16..64 octets. */
export function refValue(el: Element, name: string, v: string): Uint8Array {
  return hexValue(el, name, v, 16, 64);
}

const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
const U64_MAX = (1n << 64n) - 1n;

/** Canonical decimal u64 (epochs; RFC 9420 `uint64 epoch`). */
export function epochValue(el: Element, name: string, v: string): bigint {
  if (!DECIMAL.test(v) || v.length > 20) bad(el, name, "a canonical decimal 0..2^64-1", v);
  const n = BigInt(v);
  if (n > U64_MAX) bad(el, name, "a canonical decimal 0..2^64-1", v);
  return n;
}

export function epochAttr(el: Element, name = "epoch"): bigint {
  return epochValue(el, name, attr(el, name));
}

/** Canonical decimal in `0..max` (max at most 2^53-1). */
export function uintValue(el: Element, name: string, v: string, max: number = Number.MAX_SAFE_INTEGER): number {
  if (!DECIMAL.test(v) || v.length > 16) bad(el, name, `a canonical decimal 0..${max}`, v);
  const n = Number(v);
  if (n > max) bad(el, name, `a canonical decimal 0..${max}`, v);
  return n;
}

export function uintAttr(el: Element, name: string, max?: number): number {
  return uintValue(el, name, attr(el, name), max);
}

export function cipherSuiteAttr(el: Element, name = "cipher-suite"): number {
  const n = uintAttr(el, name, 0xffff);
  if (n === 0) bad(el, name, "1..65535 (0 is reserved, RFC 9420 §17.1)", "0");
  return n;
}

/** xs:boolean: "true"/"1" and "false"/"0" (XEP BOOLEANNOTE). */
export function boolAttr(el: Element, name: string, dflt: boolean): boolean {
  const v = el.attrs[name];
  if (v === undefined) return dflt;
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  return bad(el, name, "a boolean", v);
}

/** `kind`-style enumerations; an unknown value is `xmpp.unknown_kind`. */
export function enumAttr<T extends string>(el: Element, name: string, allowed: readonly T[]): T {
  const v = attr(el, name);
  const hit = allowed.find((a) => a === v);
  if (hit === undefined) throw new XmppProtocolError("xmpp.unknown_kind", `${where(el, name)} must be one of ${allowed.join("|")}, got ${JSON.stringify(v.slice(0, 40))}`);
  return hit;
}

const DEVICE = /^[A-Za-z0-9_-]{1,64}$/;

/** Device id: 1..64 characters of the base64url alphabet; it is the resource of the device's JID. */
export function deviceAttr(el: Element, name = "device"): string {
  const v = attr(el, name);
  if (!DEVICE.test(v)) bad(el, name, "a device id ([A-Za-z0-9_-]{1,64})", v);
  return v;
}

export function isDeviceId(s: string): boolean {
  return DEVICE.test(s);
}

const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

export function isDateTime(v: string): boolean {
  return DATETIME.test(v) && !Number.isNaN(Date.parse(v));
}

/** XEP-0082 DateTime; returned unchanged after checking it parses. */
export function dateTimeValue(el: Element, name: string, v: string): string {
  if (!isDateTime(v)) bad(el, name, "an XEP-0082 DateTime", v);
  return v;
}

const REASON = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

export function reasonValue(el: Element, name: string, v: string): string {
  if (!REASON.test(v) || v.length > 64) bad(el, name, "a lowercase token (a-z, 0-9, '-')", v);
  return v;
}

/**
 * Base64 element text → bytes. RFC 4648 §4 alphabet with padding; whitespace is ignored (as for
 * xs:base64Binary). The decoded size is checked against `maxPayloadBytes` before decoding.
 */
export function payloadText(el: Element, limits: Limits, opts: { allowEmpty?: boolean } = {}): Uint8Array {
  const raw = el.children.map((c) => (isElement(c) ? "" : String(c))).join("");
  if (el.children.some(isElement)) throw new XmppProtocolError("xmpp.malformed", `${where(el)} must contain only base64 text`);
  const t = raw.replace(/[ \t\r\n]+/g, "");
  if (t.length === 0) {
    if (opts.allowEmpty) return new Uint8Array(0);
    throw new XmppProtocolError("xmpp.malformed", `${where(el)} must not be empty`);
  }
  const pad = t.endsWith("==") ? 2 : t.endsWith("=") ? 1 : 0;
  const size = Math.floor(t.length / 4) * 3 - pad;
  if (size > limits.maxPayloadBytes) {
    throw new XmppProtocolError("xmpp.too_large", `${where(el)} carries ${size} octets, limit ${limits.maxPayloadBytes}`, { max: limits.maxPayloadBytes });
  }
  try {
    return fromBase64(t);
  } catch (e) {
    throw new XmppProtocolError("xmpp.bad_base64", `${where(el)} is not valid base64 (RFC 4648 §4, padded)`, { cause: e });
  }
}

/** Checks a payload about to be emitted against the same cap (builders refuse what parsers reject). */
export function checkOutgoing(bytes: Uint8Array, what: string, limits: Limits): void {
  if (bytes.length === 0) throw new XmppProtocolError("xmpp.malformed", `${what}: empty payload`);
  if (bytes.length > limits.maxPayloadBytes) {
    throw new XmppProtocolError("xmpp.too_large", `${what}: ${bytes.length} octets, limit ${limits.maxPayloadBytes}`, { max: limits.maxPayloadBytes });
  }
}

/** Lowercase hex for attributes (group ids, refs). */
export const hex = toHex;

/** Standard padded base64 for element text (RFC 4648 §4). */
export const b64 = toBase64;

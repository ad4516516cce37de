/**
 * Delivery Service discovery (XEP "Discovery"): the disco#info result of a DS and its XEP-0128
 * extended form `urn:x-xmpp-mls:0#ds-info` (XEP-0004 result form).
 * @module
 */
import { UsageError } from "../errors.js";
import { XmppProtocolError } from "./errors.js";
import { DS_FEATURES, DS_IDENTITIES, NS_DATA_FORMS, NS_DISCO_INFO, NS_MLS_DS_INFO } from "./ns.js";
import { b64, DEFAULT_LIMITS, expectElement, payloadText, uintValue } from "./values.js";
import { Element, xml } from "./xml.js";

export const WIRE_FORMATS = ["mls_public_message", "mls_private_message"] as const;
export type HandshakeWireFormat = (typeof WIRE_FORMATS)[number];

export interface DsInfo {
  /** Cipher suites the DS accepts for KeyPackages and groups. */
  readonly cipherSuites: readonly number[];
  /** Largest decoded MLS payload (octets) the DS accepts in one element. */
  readonly maxMessageSize: number;
  /** Wire formats accepted for handshake messages; mls_public_message lets the DS validate. */
  readonly handshakeWireFormats: readonly HandshakeWireFormat[];
  /** Whether external commits (RFC 9420 §12.4.3.2) are accepted by default. */
  readonly externalJoins: boolean;
  /** Ordinary KeyPackages per device at or below which the DS sends `<key-packages-low/>`. */
  readonly keyPackageLowWater: number;
  /** Submissions per minute one device may make. */
  readonly submitRateLimit: number;
  /** TLS-serialised ExternalSender (RFC 9420 §12.1.8.1) the DS signs its proposals with. */
  readonly externalSender: Uint8Array;
  /** Seconds the DS keeps log entries. */
  readonly logRetention: number;
}

const field = (v: string, type: string, values: readonly string[]): Element =>
  xml("field", { var: v, type }, values.map((x) => xml("value", {}, x)));

/** XEP example "Delivery Service disco#info result" (the `<x/>` part). */
export function buildDsInfoForm(v: DsInfo): Element {
  for (const s of v.cipherSuites) {
    if (!Number.isInteger(s) || s < 1 || s > 0xffff) throw new UsageError("usage.bad_cipher_suite", `cipher suite ${s} out of range`);
  }
  if (v.handshakeWireFormats.length === 0) throw new UsageError("usage.bad_ds_info", "at least one handshake wire format");
  return xml(
    "x",
    { xmlns: NS_DATA_FORMS, type: "result" },
    field("FORM_TYPE", "hidden", [NS_MLS_DS_INFO]),
    field("cipher-suites", "list-multi", v.cipherSuites.map(String)),
    field("max-message-size", "text-single", [String(v.maxMessageSize)]),
    field("handshake-wire-formats", "list-multi", v.handshakeWireFormats),
    field("external-joins", "boolean", [v.externalJoins ? "true" : "false"]),
    field("key-package-low-water", "text-single", [String(v.keyPackageLowWater)]),
    field("submit-rate-limit", "text-single", [String(v.submitRateLimit)]),
    field("external-sender", "text-single", [b64(v.externalSender)]),
    field("log-retention", "text-single", [String(v.logRetention)]),
  );
}

/** The whole disco#info `<query/>` of a DS: identities, features and the form. */
export function buildDsDiscoInfo(v: DsInfo): Element {
  return xml(
    "query",
    { xmlns: NS_DISCO_INFO },
    DS_IDENTITIES.map((i) => xml("identity", { ...i })),
    DS_FEATURES.map((f) => xml("feature", { var: f })),
    buildDsInfoForm(v),
  );
}

function values(x: Element): Map<string, { el: Element; values: string[] }> {
  const out = new Map<string, { el: Element; values: string[] }>();
  for (const f of x.getChildren("field", NS_DATA_FORMS)) {
    const name = f.attrs.var;
    if (name === undefined) continue;
    if (out.has(name)) throw new XmppProtocolError("xmpp.malformed", `form field ${name} appears twice`);
    out.set(name, { el: f, values: f.getChildren("value", NS_DATA_FORMS).map((v) => v.getText()) });
  }
  return out;
}

function one(m: ReturnType<typeof values>, name: string, dflt?: string): { el: Element | undefined; v: string } {
  const f = m.get(name);
  if (f === undefined) {
    if (dflt === undefined) throw new XmppProtocolError("xmpp.malformed", `ds-info form lacks field ${name}`);
    return { el: undefined, v: dflt };
  }
  if (f.values.length !== 1) throw new XmppProtocolError("xmpp.malformed", `ds-info field ${name} must have one value`);
  return { el: f.el, v: f.values[0]! };
}

function count(m: ReturnType<typeof values>, name: string, dflt?: number): number {
  const { el, v } = one(m, name, dflt === undefined ? undefined : String(dflt));
  return el === undefined ? Number(v) : uintValue(el, "value", v.trim());
}

/**
 * Reads the ds-info form from an `<x/>`. Unknown fields are ignored (XEP-0128 lets services add
 * fields); known ones are checked strictly.
 */
export function parseDsInfoForm(x: Element): DsInfo {
  expectElement(x, "x", NS_DATA_FORMS);
  const m = values(x);
  if (one(m, "FORM_TYPE").v !== NS_MLS_DS_INFO) throw new XmppProtocolError("xmpp.bad_attribute", `FORM_TYPE is not ${NS_MLS_DS_INFO}`);
  const suites = m.get("cipher-suites");
  if (suites === undefined || suites.values.length === 0) throw new XmppProtocolError("xmpp.malformed", "ds-info lists no cipher-suites");
  const cipherSuites = suites.values.map((s) => {
    const n = uintValue(suites.el, "value", s.trim(), 0xffff);
    if (n === 0) throw new XmppProtocolError("xmpp.bad_attribute", "cipher suite 0 is reserved");
    return n;
  });
  const wf = m.get("handshake-wire-formats")?.values ?? ["mls_public_message"];
  const handshakeWireFormats = wf.map((w) => {
    const hit = WIRE_FORMATS.find((k) => k === w.trim());
    if (hit === undefined) throw new XmppProtocolError("xmpp.unknown_kind", `unknown handshake wire format ${JSON.stringify(w)}`);
    return hit;
  });
  const ej = one(m, "external-joins", "false").v.trim();
  if (!["true", "false", "1", "0"].includes(ej)) throw new XmppProtocolError("xmpp.bad_attribute", "external-joins must be a boolean");
  const es = m.get("external-sender");
  if (es === undefined || es.values.length !== 1) throw new XmppProtocolError("xmpp.malformed", "ds-info must carry one external-sender value");
  const valueEl = es.el.getChildren("value", NS_DATA_FORMS)[0]!;
  return {
    cipherSuites,
    maxMessageSize: count(m, "max-message-size"),
    handshakeWireFormats,
    externalJoins: ej === "true" || ej === "1",
    keyPackageLowWater: count(m, "key-package-low-water", 2),
    submitRateLimit: count(m, "submit-rate-limit", 60),
    externalSender: payloadText(valueEl, DEFAULT_LIMITS),
    logRetention: count(m, "log-retention", 30 * 24 * 3600),
  };
}

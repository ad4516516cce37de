/**
 * Catch-up by epoch (XEP "Catch-up"): the DS's handshake log, paged with XEP-0059.
 *
 *   get     <log group after-epoch?><set xmlns=rsm><max>50</max><after>17</after>?</set>?</log>
 *   result  <log group><entry seq epoch kind sender stamp>b64</entry>*
 *             <set xmlns=rsm><first index>18</first><last>42</last><count>120</count></set></log>
 *
 * RSM item ids are the decimal `seq` of the entries.
 * @module
 */
import { UsageError } from "../errors.js";
import { XmppProtocolError } from "./errors.js";
import { assertEpoch, assertGroupId } from "./group-stanzas.js";
import { assertJid, jidAttr } from "./jid.js";
import { NS_MLS, NS_RSM } from "./ns.js";
import {
  attr, b64, checkOutgoing, dateTimeValue, isDateTime, enumAttr, epochAttr, epochValue, expectElement, groupIdAttr, hex, limitsOf,
  optionalAttr, payloadText, uintAttr, uintValue, type Limits,
} from "./values.js";
import { Element, isElement, qname, xml } from "./xml.js";

export const ENTRY_KINDS = ["commit", "proposal", "welcome-record"] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

/** `<entry seq epoch kind sender stamp>b64 MLSMessage</entry>` */
export interface LogEntry {
  readonly seq: number;
  /** FramedContent.epoch of the message (for welcome-record: the epoch the Welcome enters). */
  readonly epoch: bigint;
  readonly kind: EntryKind;
  /** Full JID of the submitting device, or the DS JID for its own proposals. */
  readonly sender: string;
  /** XEP-0082 DateTime at which the DS accepted the entry. */
  readonly stamp: string;
  readonly message: Uint8Array;
}

export interface RsmRequest {
  readonly max?: number;
  /** Return entries with seq greater than this. */
  readonly after?: number;
}

export interface RsmPage {
  readonly first?: number;
  /** Position of `first` in the full result set (XEP-0059 §2.6). */
  readonly firstIndex?: number;
  readonly last?: number;
  readonly count?: number;
}

export interface LogRequest {
  readonly group: Uint8Array;
  /** Return entries whose epoch is >= this: everything since the requester entered that epoch. */
  readonly afterEpoch?: bigint;
  readonly rsm?: RsmRequest;
}

export interface LogResult {
  readonly group: Uint8Array;
  readonly entries: readonly LogEntry[];
  readonly rsm: RsmPage;
}

const num = (n: number | undefined): string | undefined => (n === undefined ? undefined : String(n));

function checkCount(n: number | undefined, what: string): void {
  if (n !== undefined && (!Number.isSafeInteger(n) || n < 0)) throw new UsageError("usage.bad_count", `"${what}" must be a non-negative safe integer`);
}

function rsmText(parent: Element, name: string, value: number | undefined, attrs: Record<string, string | undefined> = {}): void {
  if (value !== undefined) parent.append(xml(name, attrs, String(value)));
}

/** XEP example "Alice's laptop catches up from epoch 3". */
export function buildLogRequest(v: LogRequest): Element {
  assertGroupId(v.group);
  if (v.afterEpoch !== undefined) assertEpoch(v.afterEpoch, "afterEpoch");
  const log = xml("log", { xmlns: NS_MLS, group: hex(v.group), "after-epoch": v.afterEpoch?.toString() });
  if (v.rsm) {
    checkCount(v.rsm.max, "max");
    checkCount(v.rsm.after, "after");
    const set = xml("set", { xmlns: NS_RSM });
    rsmText(set, "max", v.rsm.max);
    rsmText(set, "after", v.rsm.after);
    log.append(set);
  }
  return log;
}

function rsmChildren(el: Element, allowed: readonly string[]): Map<string, Element> {
  const out = new Map<string, Element>();
  for (const c of el.children) {
    if (!isElement(c)) {
      if (String(c).trim() !== "") throw new XmppProtocolError("xmpp.malformed", "<set/> must not contain text");
      continue;
    }
    if (c.getNS() !== NS_RSM) throw new XmppProtocolError("xmpp.wrong_namespace", `unexpected ${qname(c)} in <set/>`);
    if (!allowed.includes(c.getName()) || out.has(c.getName())) throw new XmppProtocolError("xmpp.unexpected_element", `unexpected or repeated <${c.getName()}/> in <set/>`);
    out.set(c.getName(), c);
  }
  return out;
}

const rsmNum = (m: Map<string, Element>, name: string): number | undefined => {
  const el = m.get(name);
  return el === undefined ? undefined : uintValue(el, "#text", el.getText().trim());
};

/** Splits `<log/>` children into entries and the optional RSM `<set/>` (which must come last). */
function logChildren(el: Element): { entries: Element[]; set: Element | undefined } {
  const entries: Element[] = [];
  let set: Element | undefined;
  for (const c of el.children) {
    if (!isElement(c)) {
      if (String(c).trim() !== "") throw new XmppProtocolError("xmpp.malformed", "<log/> must not contain text");
      continue;
    }
    if (set !== undefined) throw new XmppProtocolError("xmpp.malformed", "<set/> must be the last child of <log/>");
    if (c.getName() === "set" && c.getNS() === NS_RSM) set = c;
    else {
      expectElement(c, "entry");
      entries.push(c);
    }
  }
  return { entries, set };
}

export function parseLogRequest(el: Element, limits?: Partial<Limits>): LogRequest {
  expectElement(el, "log");
  const group = groupIdAttr(el, limitsOf(limits));
  const ae = optionalAttr(el, "after-epoch");
  const { entries, set } = logChildren(el);
  if (entries.length > 0) throw new XmppProtocolError("xmpp.unexpected_element", "a log request carries no <entry/>");
  const base: LogRequest = ae === undefined ? { group } : { group, afterEpoch: epochValue(el, "after-epoch", ae) };
  if (set === undefined) return base;
  const m = rsmChildren(set, ["max", "after"]);
  const max = rsmNum(m, "max");
  const after = rsmNum(m, "after");
  return { ...base, rsm: { ...(max !== undefined && { max }), ...(after !== undefined && { after }) } };
}

export function buildEntry(v: LogEntry, limits?: Partial<Limits>): Element {
  checkCount(v.seq, "seq");
  assertEpoch(v.epoch);
  assertJid(v.sender, "any", "sender");
  if (!isDateTime(v.stamp)) throw new UsageError("usage.bad_stamp", `"stamp" must be an XEP-0082 DateTime, got ${JSON.stringify(v.stamp)}`);
  checkOutgoing(v.message, "entry", limitsOf(limits));
  return xml("entry", { xmlns: NS_MLS, seq: v.seq, epoch: v.epoch.toString(), kind: v.kind, sender: v.sender, stamp: v.stamp }, b64(v.message));
}

export function parseEntry(el: Element, limits?: Partial<Limits>): LogEntry {
  expectElement(el, "entry");
  return {
    seq: uintAttr(el, "seq"),
    epoch: epochAttr(el),
    kind: enumAttr(el, "kind", ENTRY_KINDS),
    sender: jidAttr(el, "sender", "any"),
    stamp: dateTimeValue(el, "stamp", attr(el, "stamp")),
    message: payloadText(el, limitsOf(limits)),
  };
}

/** XEP example "The DS returns a page of the log". */
export function buildLogResult(v: LogResult, limits?: Partial<Limits>): Element {
  assertGroupId(v.group, limits);
  const log = xml("log", { xmlns: NS_MLS, group: hex(v.group) }, v.entries.map((e) => buildEntry(e, limits)));
  const set = xml("set", { xmlns: NS_RSM });
  for (const k of ["first", "firstIndex", "last", "count"] as const) checkCount(v.rsm[k], k);
  rsmText(set, "first", v.rsm.first, { index: num(v.rsm.firstIndex) });
  rsmText(set, "last", v.rsm.last);
  rsmText(set, "count", v.rsm.count);
  log.append(set);
  return log;
}

export function parseLogResult(el: Element, limits?: Partial<Limits>): LogResult {
  expectElement(el, "log");
  const lim = limitsOf(limits);
  const group = groupIdAttr(el, lim);
  if (optionalAttr(el, "after-epoch") !== undefined) throw new XmppProtocolError("xmpp.bad_attribute", "a log result has no 'after-epoch'");
  const { entries: kids, set } = logChildren(el);
  if (kids.length > lim.maxItems) throw new XmppProtocolError("xmpp.too_large", `<log/> has ${kids.length} entries, limit ${lim.maxItems}`, { max: lim.maxItems });
  const entries = kids.map((k) => parseEntry(k, lim));
  for (let i = 1; i < entries.length; i++) {
    if (entries[i]!.seq <= entries[i - 1]!.seq) throw new XmppProtocolError("xmpp.malformed", "log entries must be in increasing seq order");
  }
  if (set === undefined) return { group, entries, rsm: {} };
  const m = rsmChildren(set, ["first", "last", "count"]);
  const first = rsmNum(m, "first");
  const idx = m.get("first")?.attrs.index;
  const firstIndex = idx === undefined ? undefined : uintValue(m.get("first")!, "index", idx);
  const last = rsmNum(m, "last");
  const count = rsmNum(m, "count");
  const rsm: RsmPage = {
    ...(first !== undefined && { first }), ...(firstIndex !== undefined && { firstIndex }),
    ...(last !== undefined && { last }), ...(count !== undefined && { count }),
  };
  return { group, entries, rsm };
}

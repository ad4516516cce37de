/**
 * What travels through the room and to joiners (XEP "Delivery of Handshake Messages",
 * "Delivery of Welcome", "Application Messages"):
 *
 *   groupchat  <mls kind='commit|proposal' group epoch seq>b64</mls> + <encryption/> + <store/>   (DS → room)
 *   groupchat  <mls kind='application' group epoch>b64</mls> + <encryption/> + <body/> + <store/> + <origin-id/>
 *   normal     <welcome group room epoch seq>b64 MLSMessage(Welcome)</welcome> + <store/>         (DS → device)
 * @module
 */
import { UsageError } from "../errors.js";
import { XmppProtocolError } from "./errors.js";
import { assertEpoch, assertGroupId } from "./group-stanzas.js";
import { assertJid, bareJid, jidAttr } from "./jid.js";
import { EME_NAME, NS_EME, NS_HINTS, NS_MLS, NS_SID } from "./ns.js";
import {
  b64, checkOutgoing, enumAttr, epochAttr, expectElement, expectStanza, groupIdAttr, hex, limitsOf, optionalAttr, payloadText,
  uintAttr, type Limits,
} from "./values.js";
import { Element, xml } from "./xml.js";

export const MLS_KINDS = ["commit", "proposal", "application"] as const;
export type MlsKind = (typeof MLS_KINDS)[number];

/** Fallback `<body/>` for clients without MLS support (XEP-0380 §4 recommends one). */
export const FALLBACK_BODY =
  "This message is encrypted with MLS (urn:x-xmpp-mls:0) and cannot be displayed by this client.";

/** `<mls kind group epoch seq?>b64 MLSMessage</mls>` */
export interface MlsElement {
  readonly kind: MlsKind;
  readonly group: Uint8Array;
  /** FramedContent.epoch of the enclosed message. */
  readonly epoch: bigint;
  /** DS sequence number; present exactly for commit and proposal. */
  readonly seq?: number;
  readonly message: Uint8Array;
}

function checkSeq(kind: MlsKind, seq: number | undefined, fail: (m: string) => never): void {
  if (kind === "application" && seq !== undefined) fail("application messages carry no 'seq'");
  if (kind !== "application" && seq === undefined) fail(`${kind} messages reflected by the DS carry 'seq'`);
}

export function buildMls(v: MlsElement, limits?: Partial<Limits>): Element {
  assertGroupId(v.group, limits);
  assertEpoch(v.epoch);
  checkSeq(v.kind, v.seq, (m) => { throw new UsageError("usage.bad_mls", m); });
  if (v.seq !== undefined && (!Number.isSafeInteger(v.seq) || v.seq < 0)) throw new UsageError("usage.bad_seq", `"seq" must be a non-negative safe integer`);
  checkOutgoing(v.message, "mls", limitsOf(limits));
  return xml("mls", { xmlns: NS_MLS, kind: v.kind, group: hex(v.group), epoch: v.epoch.toString(), seq: v.seq }, b64(v.message));
}

export function parseMls(el: Element, limits?: Partial<Limits>): MlsElement {
  expectElement(el, "mls");
  const lim = limitsOf(limits);
  const kind = enumAttr(el, "kind", MLS_KINDS);
  const group = groupIdAttr(el, lim);
  const epoch = epochAttr(el);
  const seq = optionalAttr(el, "seq") === undefined ? undefined : uintAttr(el, "seq");
  checkSeq(kind, seq, (m) => { throw new XmppProtocolError(seq === undefined ? "xmpp.missing_attribute" : "xmpp.bad_attribute", m); });
  const message = payloadText(el, lim);
  return seq === undefined ? { kind, group, epoch, message } : { kind, group, epoch, seq, message };
}

function eme(): Element {
  return xml("encryption", { xmlns: NS_EME, namespace: NS_MLS, name: EME_NAME });
}

/** XEP example "The DS reflects the accepted commit into the room". */
export function buildHandshakeMessage(p: { to: string; id: string; mls: MlsElement }, limits?: Partial<Limits>): Element {
  assertJid(p.to, "user", "to");
  if (p.mls.kind === "application") throw new UsageError("usage.bad_mls", "handshake messages are commits or proposals");
  return xml("message", { to: p.to, type: "groupchat", id: p.id }, buildMls(p.mls, limits), eme(), xml("store", { xmlns: NS_HINTS }));
}

/** XEP example "Alice sends an application message to the room". */
export function buildApplicationMessage(
  p: { to: string; id: string; originId: string; group: Uint8Array; epoch: bigint; message: Uint8Array; body?: string },
  limits?: Partial<Limits>,
): Element {
  assertJid(p.to, "user", "to");
  return xml(
    "message",
    { to: p.to, type: "groupchat", id: p.id },
    buildMls({ kind: "application", group: p.group, epoch: p.epoch, message: p.message }, limits),
    eme(),
    xml("body", {}, p.body ?? FALLBACK_BODY),
    xml("store", { xmlns: NS_HINTS }),
    xml("origin-id", { xmlns: NS_SID, id: p.originId }),
  );
}

/** A groupchat message carrying `<mls/>`, as a receiving client sees it. */
export interface ReceivedMlsMessage {
  /** Occupant JID (room@service/nick). */
  readonly from: string;
  readonly mls: MlsElement;
  /** XEP-0359 stanza-id assigned by the room (`by` = room bare JID); the MAM id. */
  readonly stanzaId?: string;
  readonly originId?: string;
}

/**
 * Extracts `<mls/>` from a room message. Exactly one `<mls/>` is allowed; a stanza-id counts only
 * if the room stamped it (`by` equals the room's bare JID), per XEP-0359 §6.
 */
export function parseMlsMessageStanza(stanza: Element, limits?: Partial<Limits>): ReceivedMlsMessage {
  expectStanza(stanza, "message");
  if (stanza.attrs.type !== "groupchat") throw new XmppProtocolError("xmpp.bad_attribute", "MLS room traffic is type='groupchat'");
  const from = jidAttr(stanza, "from", "full");
  const mlsEls = stanza.getChildren("mls", NS_MLS);
  if (mlsEls.length !== 1) throw new XmppProtocolError("xmpp.malformed", `expected one <mls/>, got ${mlsEls.length}`);
  const mls = parseMls(mlsEls[0]!, limits);
  const room = bareJid(from);
  const sid = stanza.getChildren("stanza-id", NS_SID).find((s) => s.attrs.by === room)?.attrs.id;
  const originId = stanza.getChild("origin-id", NS_SID)?.attrs.id;
  return { from, mls, ...(sid !== undefined && { stanzaId: sid }), ...(originId !== undefined && { originId }) };
}

/** `<welcome group room epoch seq>b64 MLSMessage(Welcome)</welcome>` */
export interface WelcomeElement {
  readonly group: Uint8Array;
  readonly room: string;
  /** The epoch the Welcome lets the joiner enter (the epoch after the commit). */
  readonly epoch: bigint;
  /** Sequence number of the commit this Welcome belongs to. */
  readonly seq: number;
  readonly welcome: Uint8Array;
}

export function buildWelcome(v: WelcomeElement, limits?: Partial<Limits>): Element {
  assertGroupId(v.group, limits);
  assertJid(v.room, "user", "room");
  assertEpoch(v.epoch);
  if (!Number.isSafeInteger(v.seq) || v.seq < 0) throw new UsageError("usage.bad_seq", `"seq" must be a non-negative safe integer`);
  checkOutgoing(v.welcome, "welcome", limitsOf(limits));
  return xml("welcome", { xmlns: NS_MLS, group: hex(v.group), room: v.room, epoch: v.epoch.toString(), seq: v.seq }, b64(v.welcome));
}

export function parseWelcome(el: Element, limits?: Partial<Limits>): WelcomeElement {
  expectElement(el, "welcome");
  const lim = limitsOf(limits);
  return {
    group: groupIdAttr(el, lim),
    room: jidAttr(el, "room", "user"),
    epoch: epochAttr(el),
    seq: uintAttr(el, "seq"),
    welcome: payloadText(el, lim),
  };
}

/** XEP example "The DS delivers the Welcome to Bob's device". */
export function buildWelcomeMessage(p: { from: string; to: string; id: string; welcome: WelcomeElement }, limits?: Partial<Limits>): Element {
  assertJid(p.to, "full", "to");
  return xml("message", { from: p.from, to: p.to, type: "normal", id: p.id }, buildWelcome(p.welcome, limits), xml("store", { xmlns: NS_HINTS }));
}

/** The Welcome of a `<message/>` from the DS; the caller checks `from` is the bound DS. */
export function parseWelcomeMessage(stanza: Element, limits?: Partial<Limits>): { from: string; welcome: WelcomeElement } {
  expectStanza(stanza, "message");
  const from = jidAttr(stanza, "from", "any");
  const els = stanza.getChildren("welcome", NS_MLS);
  if (els.length !== 1) throw new XmppProtocolError("xmpp.malformed", `expected one <welcome/>, got ${els.length}`);
  return { from, welcome: parseWelcome(els[0]!, limits) };
}

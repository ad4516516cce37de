/**
 * Small stanza helpers shared by integration tests: MUC (XEP-0045), MAM (XEP-0313), PEP (XEP-0163),
 * data forms (XEP-0004). Each helper sends, waits for the server's answer, and returns it; failures throw.
 */
import { randomBytes } from "node:crypto";
import { xml, type Element } from "@xmpp/xml";
import type { TestClient } from "./client.js";

export const NS = {
  muc: "http://jabber.org/protocol/muc",
  mucUser: "http://jabber.org/protocol/muc#user",
  mucOwner: "http://jabber.org/protocol/muc#owner",
  mucAdmin: "http://jabber.org/protocol/muc#admin",
  dataForms: "jabber:x:data",
  mam: "urn:xmpp:mam:2",
  forward: "urn:xmpp:forward:0",
  delay: "urn:xmpp:delay",
  stanzas: "urn:ietf:params:xml:ns:xmpp-stanzas",
  pubsub: "http://jabber.org/protocol/pubsub",
} as const;

/** A short unique token for room names, query ids and message bodies. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
}

export function bareOf(jid: string | undefined): string {
  return (jid ?? "").split("/")[0] ?? "";
}

/** `<message type=chat>` from `from` (bare or full) whose body is exactly `body`. */
export function isChatFrom(from: string, body: string): (el: Element) => boolean {
  return (el) =>
    el.is("message") &&
    (el.attrs.from === from || bareOf(el.attrs.from) === from) &&
    el.getChildText("body") === body;
}

/** The first child of `<error>` in the stanzas namespace, e.g. "registration-required". */
export function errorCondition(el: Element): string | undefined {
  const error = el.getChild("error");
  return error?.getChildElements().find((c) => c.getNS() === NS.stanzas)?.name;
}

export function mucStatusCodes(presence: Element): string[] {
  const x = presence.getChild("x", NS.mucUser);
  return (x?.getChildren("status") ?? []).flatMap((s) => (s.attrs.code === undefined ? [] : [s.attrs.code]));
}

/**
 * Join `room` as `nick`. Resolves with the self-presence (status 110; 201 too when the room was just
 * created) or with the error presence (type=error) if the server refused.
 */
export async function joinRoom(c: TestClient, room: string, nick: string): Promise<Element> {
  const occupant = `${room}/${nick}`;
  await c.send(xml("presence", { to: occupant }, xml("x", { xmlns: NS.muc })));
  return c.waitFor(
    (el) => el.is("presence") && el.attrs.from === occupant && (el.attrs.type === "error" || mucStatusCodes(el).includes("110")),
    `self-presence from ${occupant}`,
  );
}

function formField(name: string, value: string): Element {
  return xml("field", { var: name }, xml("value", {}, value));
}

function submitForm(formType: string, fields: Readonly<Record<string, string>>): Element {
  return xml(
    "x",
    { xmlns: NS.dataForms, type: "submit" },
    xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, formType)),
    ...Object.entries(fields).map(([k, v]) => formField(k, v)),
  );
}

/** Submit the room configuration form (only the given fields; FORM_TYPE is added). */
export async function configureRoom(c: TestClient, room: string, fields: Readonly<Record<string, string>>): Promise<void> {
  const form = submitForm("http://jabber.org/protocol/muc#roomconfig", fields);
  await c.iq(xml("iq", { type: "set", to: room }, xml("query", { xmlns: NS.mucOwner }, form)));
}

/** The current room configuration as field → first value. */
export async function roomConfig(c: TestClient, room: string): Promise<Map<string, string>> {
  const res = await c.iq(xml("iq", { type: "get", to: room }, xml("query", { xmlns: NS.mucOwner })));
  const form = res.getChild("query", NS.mucOwner)?.getChild("x", NS.dataForms);
  const out = new Map<string, string>();
  for (const f of form?.getChildren("field") ?? []) {
    const name = f.attrs.var;
    const value = f.getChildText("value");
    if (name !== undefined && value !== null) out.set(name, value);
  }
  return out;
}

/** XEP-0004 booleans: "1" or "true". */
export const formTrue = (v: string | undefined): boolean => v === "1" || v === "true";

export async function setAffiliation(c: TestClient, room: string, jid: string, affiliation: "member" | "admin" | "owner" | "none" | "outcast"): Promise<void> {
  await c.iq(xml("iq", { type: "set", to: room }, xml("query", { xmlns: NS.mucAdmin }, xml("item", { jid, affiliation }))));
}

export interface MamResult {
  /** The archived stanzas (the `<message>` inside each `<forwarded>`), oldest first. */
  readonly messages: readonly Element[];
  /** The `<fin>` element of the iq result. */
  readonly fin: Element;
}

/** Query the MAM archive at `archive` (a room JID, or undefined for the user's own archive). */
export async function mamQuery(c: TestClient, archive: string | undefined): Promise<MamResult> {
  const queryid = uniqueId("q");
  const res = await c.iq(xml("iq", { type: "set", ...(archive === undefined ? {} : { to: archive }) }, xml("query", { xmlns: NS.mam, queryid })));
  const fin = res.getChild("fin", NS.mam);
  if (fin === undefined) throw new Error(`MAM result without <fin/>: ${res.toString()}`);
  // The result messages precede the iq result on the stream, so they are already recorded.
  const messages = c.received.flatMap((el) => {
    const result = el.is("message") ? el.getChild("result", NS.mam) : undefined;
    if (result?.attrs.queryid !== queryid) return [];
    const inner = result.getChild("forwarded", NS.forward)?.getChild("message");
    return inner === undefined ? [] : [inner];
  });
  return { messages, fin };
}

/**
 * Publish `payload` as item `itemId` to the PEP node `node` of the client's own account, with
 * access_model=open so any user may fetch it. Only publish-options both servers accept are used
 * (ejabberd 23.01 rejects pubsub#max_items there; notes §5).
 */
export async function pepPublish(c: TestClient, node: string, itemId: string, payload: Element): Promise<void> {
  const options = submitForm("http://jabber.org/protocol/pubsub#publish-options", {
    "pubsub#access_model": "open",
    "pubsub#persist_items": "true",
  });
  await c.iq(
    xml(
      "iq",
      { type: "set" },
      xml("pubsub", { xmlns: NS.pubsub }, xml("publish", { node }, xml("item", { id: itemId }, payload)), xml("publish-options", {}, options)),
    ),
  );
}

/** The items of `owner`'s PEP node `node` (newest `maxItems`). */
export async function pepItems(c: TestClient, owner: string, node: string, maxItems = 1): Promise<Element[]> {
  const res = await c.iq(xml("iq", { type: "get", to: owner }, xml("pubsub", { xmlns: NS.pubsub }, xml("items", { node, max_items: maxItems }))));
  return res.getChild("pubsub", NS.pubsub)?.getChild("items")?.getChildren("item") ?? [];
}

/**
 * The MUC (XEP-0045) and MAM (XEP-0313) operations the plugin needs: joining a room, the owner
 * configuration a bound room requires (XEP "Room Requirements"), affiliations, occupant
 * presence, and paging through the room's archive.
 * @module
 */
import { bareJid } from "../xmpp/jid.js";
import { NS_DATA_FORMS, NS_MAM, NS_MUC, NS_MUC_ADMIN, NS_MUC_OWNER, NS_MUC_USER, NS_RSM } from "../xmpp/ns.js";
import { xml, type Element } from "../xmpp/xml.js";
import { MlsClientError } from "./errors.js";
import type { Io } from "./io.js";
import type { Logger } from "./options.js";

const NS_FORWARD = "urn:xmpp:forward:0";
const NS_DELAY = "urn:xmpp:delay";

export type Affiliation = "owner" | "admin" | "member" | "none" | "outcast";

/** What a room presence says about one occupant. */
export interface OccupantPresence {
  readonly room: string;
  readonly nick: string;
  /** The occupant's real JID (non-anonymous rooms show it to everyone). */
  readonly realJid: string | undefined;
  readonly affiliation: string | undefined;
  readonly unavailable: boolean;
  /** Status 110: this presence is about us. */
  readonly self: boolean;
}

/** A presence from a room occupant (`room@service/nick` with a muc#user `<x/>`), or null. */
export function parseOccupantPresence(el: Element): OccupantPresence | null {
  if (!el.is("presence")) return null;
  const from = el.attrs.from;
  const x = el.getChild("x", NS_MUC_USER);
  if (from === undefined || x === undefined) return null;
  const slash = from.indexOf("/");
  if (slash < 0) return null;
  const item = x.getChild("item");
  const codes = x.getChildren("status").map((s) => s.attrs.code);
  return {
    room: from.slice(0, slash),
    nick: from.slice(slash + 1),
    realJid: item?.attrs.jid,
    affiliation: item?.attrs.affiliation,
    unavailable: el.attrs.type === "unavailable",
    self: codes.includes("110"),
  };
}

function mucError(what: string, e: unknown): MlsClientError {
  return new MlsClientError("client.muc", `${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

/**
 * Join `room` as `nick` without MUC history (MAM is used instead). Resolves with the
 * self-presence; `created` is true when the join created the room (status 201).
 */
export async function joinRoom(io: Io, room: string, nick: string, timeoutMs?: number): Promise<{ created: boolean; presence: Element }> {
  const occupant = `${room}/${nick}`;
  const wait = io.waitFor(
    (el) => el.is("presence") && el.attrs.from === occupant && (el.attrs.type === "error" || (parseOccupantPresence(el)?.self ?? false)),
    `self-presence from ${occupant}`,
    timeoutMs,
  );
  try {
    await io.send(xml("presence", { to: occupant }, xml("x", { xmlns: NS_MUC }, xml("history", { maxstanzas: "0" }))));
  } catch (e) {
    wait.cancel();
    throw mucError(`joining ${room}`, e);
  }
  const p = await wait.promise.catch((e: unknown) => {
    throw mucError(`joining ${room}`, e);
  });
  if (p.attrs.type === "error") {
    const cond = p.getChild("error")?.getChildElements()[0]?.getName() ?? "unknown";
    throw new MlsClientError("client.muc", `the room ${room} refused the join: ${cond}`);
  }
  const codes = p.getChild("x", NS_MUC_USER)?.getChildren("status").map((s) => s.attrs.code) ?? [];
  return { created: codes.includes("201"), presence: p };
}

export async function leaveRoom(io: Io, room: string, nick: string): Promise<void> {
  await io.send(xml("presence", { to: `${room}/${nick}`, type: "unavailable" }));
}

/** Fields of the owner form a bound room needs, by the names Prosody and ejabberd use. */
const ARCHIVE_FIELDS = ["muc#roomconfig_enablearchiving", "mam", "muc#roomconfig_mam"];

/**
 * XEP "Room Requirements": members-only, persistent, non-anonymous, archived. Reads the owner
 * form first and submits only fields the service offers (ejabberd and Prosody name the archiving
 * switch differently).
 */
export async function configureRoom(io: Io, room: string, opts: { name?: string }, logger: Logger): Promise<void> {
  let form: Element | undefined;
  try {
    const res = await io.iq("get", room, xml("query", { xmlns: NS_MUC_OWNER }));
    form = res.getChild("query", NS_MUC_OWNER)?.getChild("x", NS_DATA_FORMS);
  } catch (e) {
    throw mucError(`reading the configuration of ${room}`, e);
  }
  const offered = new Set((form?.getChildren("field") ?? []).map((f) => f.attrs.var).filter((v): v is string => v !== undefined));
  const wanted: [string, string][] = [
    ["muc#roomconfig_membersonly", "1"],
    ["muc#roomconfig_persistentroom", "1"],
    ["muc#roomconfig_whois", "anyone"],
  ];
  const archive = ARCHIVE_FIELDS.find((f) => offered.has(f));
  if (archive !== undefined) wanted.push([archive, "1"]);
  else logger.warn("the MUC service offers no archiving switch; assuming rooms are archived", { room });
  if (opts.name !== undefined && offered.has("muc#roomconfig_roomname")) wanted.push(["muc#roomconfig_roomname", opts.name]);
  const fields = wanted.filter(([v]) => form === undefined || offered.has(v) || v.startsWith("muc#roomconfig_"));
  const submit = xml(
    "x",
    { xmlns: NS_DATA_FORMS, type: "submit" },
    xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, "http://jabber.org/protocol/muc#roomconfig")),
    fields.map(([v, val]) => xml("field", { var: v }, xml("value", {}, val))),
  );
  try {
    await io.iq("set", room, xml("query", { xmlns: NS_MUC_OWNER }, submit));
  } catch (e) {
    throw mucError(`configuring ${room}`, e);
  }
}

/** XEP-0045 §9.3, §9.7, §10.6: set the affiliation of a bare JID (or a domain, for the DS). */
export async function setAffiliation(io: Io, room: string, jid: string, affiliation: Affiliation): Promise<void> {
  try {
    await io.iq("set", room, xml("query", { xmlns: NS_MUC_ADMIN }, xml("item", { jid: bareJid(jid), affiliation })));
  } catch (e) {
    throw mucError(`setting ${jid} to ${affiliation} in ${room}`, e);
  }
}

/**
 * Whether `jid` (bare) holds one of `affiliations` in `room` (XEP-0045 §9.5, §9.8, §10.5: the
 * lists). A list we may not read counts as not containing it.
 */
export async function hasAffiliation(io: Io, room: string, jid: string, affiliations: readonly Affiliation[], logger: Logger): Promise<boolean> {
  const want = bareJid(jid).toLowerCase();
  for (const affiliation of affiliations) {
    try {
      const res = await io.iq("get", room, xml("query", { xmlns: NS_MUC_ADMIN }, xml("item", { affiliation })));
      const items = res.getChild("query", NS_MUC_ADMIN)?.getChildren("item") ?? [];
      if (items.some((i) => bareJid(i.attrs.jid ?? "").toLowerCase() === want)) return true;
    } catch (e) {
      logger.debug("could not read an affiliation list", { room, affiliation, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return false;
}

/** One archived stanza of a room. */
export interface ArchivedMessage {
  /** The archive id (= the room's stanza-id). */
  readonly id: string;
  /** XEP-0203 stamp of the forwarded message, if any. */
  readonly stamp: string | undefined;
  readonly message: Element;
}

export interface MamPage {
  readonly messages: readonly ArchivedMessage[];
  readonly complete: boolean;
  readonly last: string | undefined;
}

let queryCounter = 0;

/** One XEP-0313 query of the room archive: messages after `after` (an archive id) or since `start`. */
export async function mamPage(io: Io, room: string, q: { after?: string; start?: string; max: number }): Promise<MamPage> {
  const queryid = `mls-${Date.now().toString(36)}-${++queryCounter}`;
  const fields = [xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, NS_MAM))];
  if (q.start !== undefined) fields.push(xml("field", { var: "start" }, xml("value", {}, q.start)));
  const set = xml("set", { xmlns: NS_RSM }, xml("max", {}, String(q.max)), q.after === undefined ? null : xml("after", {}, q.after));
  const query = xml("query", { xmlns: NS_MAM, queryid }, xml("x", { xmlns: NS_DATA_FORMS, type: "submit" }, fields), set);
  const roomBare = room.toLowerCase();
  const results = io.collect((el) => {
    const r = el.is("message") ? el.getChild("result", NS_MAM) : undefined;
    return r !== undefined && r.attrs.queryid === queryid && bareJid(el.attrs.from ?? "").toLowerCase() === roomBare;
  });
  let res: Element;
  try {
    res = await io.iq("set", room, query);
  } finally {
    results.stop();
  }
  const messages: ArchivedMessage[] = [];
  for (const el of results.items) {
    const r = el.getChild("result", NS_MAM)!;
    const fwd = r.getChild("forwarded", NS_FORWARD);
    const inner = fwd?.getChild("message");
    if (r.attrs.id === undefined || inner === undefined) continue;
    messages.push({ id: r.attrs.id, stamp: fwd?.getChild("delay", NS_DELAY)?.attrs.stamp, message: inner });
  }
  const fin = res.getChild("fin", NS_MAM);
  const last = fin?.getChild("set", NS_RSM)?.getChildText("last") ?? messages[messages.length - 1]?.id;
  return { messages, complete: fin?.attrs.complete === "true" || messages.length < q.max, last: last ?? undefined };
}

/** Every archived message after `after` / since `start`, following the pages. */
export async function mamAll(io: Io, room: string, q: { after?: string; start?: string; pageSize: number }): Promise<ArchivedMessage[]> {
  const out: ArchivedMessage[] = [];
  let after = q.after;
  for (;;) {
    const page = await mamPage(io, room, { ...(after !== undefined && { after }), ...(q.start !== undefined && { start: q.start }), max: q.pageSize });
    out.push(...page.messages);
    if (page.complete || page.last === undefined || page.messages.length === 0) return out;
    after = page.last;
  }
}

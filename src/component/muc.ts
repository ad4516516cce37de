/**
 * The DS as an occupant of its bound rooms (XEP-0045; XEP "Room Requirements", "Membership
 * Synchronisation"):
 *
 * - joins each bound room under one nick (default `mls-ds`) from its bare domain, with no
 *   history, and re-joins every room after a reconnect ({@link MucRooms.rejoinAll});
 * - answers the questions the handlers ask about a room: its disco#info features, its affiliation
 *   lists (XEP-0045 §9.5, §9.8: the DS has the `admin` affiliation), and an affiliation view kept
 *   fresh by the changes the room broadcasts;
 * - watches those changes: when an account's affiliation becomes `none` or `outcast` it emits
 *   {@link AffiliationRevoked}. Proposing the removal of that account's leaves (as the group's
 *   external sender) is done by whoever subscribes with {@link MucRooms.onAffiliationRevoked}.
 *
 * What the servers send (checked against Prosody 0.12 and ejabberd 23.01): a present occupant who
 * loses membership leaves with `<presence type='unavailable'>` carrying status 321 and
 * `<item affiliation='none' jid=…/>`; for an absent account the room sends the occupants a
 * `<message>` (no type) with `<x xmlns=muc#user><item affiliation=… jid=…/></x>`.
 * @module
 */
import { NS_DISCO_INFO, NS_MUC, NS_MUC_ADMIN, NS_MUC_USER } from "../xmpp/ns.js";
import { xml, type Element } from "../xmpp/xml.js";
import { RemoteError, REQUEST_TIMEOUT_MS, type XmppPort } from "./entity.js";
import type { Logger } from "./log.js";
import { bareOf } from "./store/validate.js";

export type Affiliation = "owner" | "admin" | "member" | "none" | "outcast";

const RANK: Readonly<Record<Affiliation, number>> = { outcast: -1, none: 0, member: 1, admin: 2, owner: 3 };

/** `a` is at least `min` (owner > admin > member > none > outcast). */
export function affiliationAtLeast(a: Affiliation, min: Affiliation): boolean {
  return RANK[a] >= RANK[min];
}

function asAffiliation(v: string | undefined): Affiliation | undefined {
  return v === "owner" || v === "admin" || v === "member" || v === "none" || v === "outcast" ? v : undefined;
}

/**
 * An account lost its membership of a bound room. The same loss may be reported more than once
 * (e.g. `outcast` then `none`, or before the affiliation view was loaded): consumers act
 * idempotently (propose removal only of leaves still in the group).
 */
export interface AffiliationRevoked {
  /** The room's bare JID (lowercase). */
  readonly room: string;
  /** The account's bare JID (lowercase). */
  readonly jid: string;
  readonly affiliation: "none" | "outcast";
}

export type AffiliationRevokedListener = (event: AffiliationRevoked) => void | Promise<void>;

export interface MucRoomsOptions {
  readonly xmpp: XmppPort;
  /** The component's domain: the DS's real JID in rooms. */
  readonly domain: string;
  readonly logger: Logger;
  /** Default `mls-ds`. */
  readonly nick?: string;
  /** How long to wait for the self-presence. Default 10 s. */
  readonly joinTimeoutMs?: number;
}

interface PendingJoin {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
  nick: string;
  retried: boolean;
}

const STATUS_SELF = "110";
const STATUS_REMOVED = ["301", "321"];

function statusCodes(x: Element | undefined): string[] {
  return (x?.getChildren("status", NS_MUC_USER) ?? []).flatMap((s) => (s.attrs.code === undefined ? [] : [s.attrs.code]));
}

export class MucRooms {
  readonly #o: MucRoomsOptions;
  readonly #log: Logger;
  readonly #nick: string;
  /** Room → our nick there, for rooms we are in. */
  readonly #joined = new Map<string, string>();
  /** Rooms we should be in (joined once in this process, or bound). */
  readonly #wanted = new Set<string>();
  readonly #pending = new Map<string, PendingJoin>();
  /** Room → (bare JID → affiliation), once loaded from the lists. */
  readonly #affiliations = new Map<string, Map<string, Affiliation>>();
  readonly #loading = new Map<string, Promise<Map<string, Affiliation>>>();
  readonly #listeners = new Set<AffiliationRevokedListener>();

  constructor(options: MucRoomsOptions) {
    this.#o = options;
    this.#log = options.logger.child({ module: "muc" });
    this.#nick = options.nick ?? "mls-ds";
  }

  isJoined(room: string): boolean {
    return this.#joined.has(room.toLowerCase());
  }

  /** Rooms the DS is in now. */
  joinedRooms(): string[] {
    return [...this.#joined.keys()];
  }

  /** Subscribe to revocations; returns the unsubscribe function. */
  onAffiliationRevoked(listener: AffiliationRevokedListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Join `room` unless already in it; resolves on the self-presence (status 110). A nick conflict
   * is retried once with a suffix. @throws RemoteError with the room's error condition.
   */
  ensureJoined(room: string): Promise<void> {
    const r = room.toLowerCase();
    this.#wanted.add(r);
    if (this.#joined.has(r)) return Promise.resolve();
    const pending = this.#pending.get(r);
    if (pending !== undefined) return pending.promise;
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const p: PendingJoin = { promise, resolve, reject, nick: this.#nick, retried: false };
    this.#pending.set(r, p);
    const timer = setTimeout(() => this.#failJoin(r, new RemoteError("remote-server-timeout", `no self-presence from ${r}`)), this.#o.joinTimeoutMs ?? REQUEST_TIMEOUT_MS);
    promise.then(() => clearTimeout(timer), () => clearTimeout(timer));
    void this.#sendJoin(r, p.nick);
    return promise;
  }

  /** Leave `room` and forget it. */
  async leave(room: string): Promise<void> {
    const r = room.toLowerCase();
    this.#wanted.delete(r);
    this.#affiliations.delete(r);
    const nick = this.#joined.get(r);
    this.#joined.delete(r);
    if (nick !== undefined) await this.#o.xmpp.send(xml("presence", { from: this.#o.domain, to: `${r}/${nick}`, type: "unavailable" }));
  }

  /** After a reconnect: forget occupancy and cached affiliations, then join every wanted room (and `extra`). */
  async rejoinAll(extra: Iterable<string> = []): Promise<void> {
    for (const r of extra) this.#wanted.add(r.toLowerCase());
    this.#joined.clear();
    this.#affiliations.clear();
    const rooms = [...this.#wanted];
    const results = await Promise.allSettled(rooms.map((r) => this.ensureJoined(r)));
    results.forEach((res, i) => {
      if (res.status === "rejected") this.#log.warn("could not re-join room", { room: rooms[i], error: res.reason });
    });
  }

  /** Forget occupancy (the stream is gone); rooms stay wanted. */
  markDisconnected(): void {
    this.#joined.clear();
    this.#affiliations.clear();
    for (const [r, p] of this.#pending) {
      this.#pending.delete(r);
      p.reject(new RemoteError("remote-server-timeout", "disconnected while joining"));
    }
  }

  /** The room's disco#info features (`muc_membersonly`, `muc_persistent`, ...). */
  async roomFeatures(room: string): Promise<ReadonlySet<string>> {
    const res = await this.#o.xmpp.request(xml("iq", { type: "get", from: this.#o.domain, to: room }, xml("query", { xmlns: NS_DISCO_INFO })));
    const q = res.getChild("query", NS_DISCO_INFO);
    return new Set((q?.getChildren("feature", NS_DISCO_INFO) ?? []).flatMap((f) => (f.attrs.var === undefined ? [] : [f.attrs.var])));
  }

  /** The bare JIDs (lowercase) with `affiliation` in `room`, read fresh (XEP-0045 §9.5, §9.8, §10.5). */
  async affiliationList(room: string, affiliation: Exclude<Affiliation, "none">): Promise<string[]> {
    const res = await this.#o.xmpp.request(
      xml("iq", { type: "get", from: this.#o.domain, to: room }, xml("query", { xmlns: NS_MUC_ADMIN }, xml("item", { affiliation }))),
    );
    const items = res.getChild("query", NS_MUC_ADMIN)?.getChildren("item", NS_MUC_ADMIN) ?? [];
    return items.flatMap((i) => (i.attrs.jid === undefined ? [] : [bareOf(i.attrs.jid).toLowerCase()]));
  }

  /** The affiliation of the account `jid` (bare or full) in `room`, from the maintained view. */
  async affiliationOf(room: string, jid: string): Promise<Affiliation> {
    const view = await this.#view(room.toLowerCase());
    return view.get(bareOf(jid).toLowerCase()) ?? "none";
  }

  /** Forget the cached affiliations of `room` (the next question re-reads the lists). */
  invalidate(room: string): void {
    this.#affiliations.delete(room.toLowerCase());
  }

  /** Presence from a room: occupancy of the DS, joins in flight, affiliation changes. */
  handlePresence(stanza: Element): void {
    const from = stanza.attrs.from;
    if (from === undefined) return;
    const slash = from.indexOf("/");
    if (slash < 0) return;
    const room = from.slice(0, slash).toLowerCase();
    const nick = from.slice(slash + 1);
    const pending = this.#pending.get(room);
    const ourNick = this.#joined.get(room) ?? pending?.nick;
    const x = stanza.getChild("x", NS_MUC_USER);
    const codes = statusCodes(x);
    const items = x?.getChildren("item", NS_MUC_USER) ?? [];
    const self = nick === ourNick && (codes.includes(STATUS_SELF) || items.some((i) => i.attrs.jid !== undefined && bareOf(i.attrs.jid).toLowerCase() === this.#o.domain));

    if (stanza.attrs.type === "error") {
      if (pending !== undefined && nick === pending.nick) this.#joinRefused(room, pending, stanza);
      return;
    }
    if (self) {
      if (stanza.attrs.type === "unavailable") {
        this.#joined.delete(room);
        this.#affiliations.delete(room);
        this.#log.warn("removed from room", { room, status: codes });
        return;
      }
      this.#joined.set(room, nick);
      if (pending !== undefined) {
        this.#pending.delete(room);
        pending.resolve();
        this.#log.info("joined room", { room, nick });
      }
      return;
    }
    if (!this.#wanted.has(room)) return;
    for (const item of items) {
      const aff = asAffiliation(item.attrs.affiliation);
      if (item.attrs.jid === undefined || aff === undefined) continue;
      // A present occupant that merely leaves keeps its affiliation; a revocation carries 301/321.
      const revoked = codes.some((c) => STATUS_REMOVED.includes(c));
      this.#update(room, bareOf(item.attrs.jid).toLowerCase(), aff, revoked);
    }
  }

  /** A message from a room: affiliation changes of absent accounts (no type, muc#user items). */
  handleMessage(stanza: Element): void {
    const from = stanza.attrs.from;
    const type = stanza.attrs.type ?? "normal";
    if (from === undefined || from.includes("/") || type === "groupchat" || type === "error") return;
    const room = from.toLowerCase();
    if (!this.#wanted.has(room)) return;
    for (const item of stanza.getChild("x", NS_MUC_USER)?.getChildren("item", NS_MUC_USER) ?? []) {
      const aff = asAffiliation(item.attrs.affiliation);
      if (item.attrs.jid === undefined || aff === undefined) continue;
      this.#update(room, bareOf(item.attrs.jid).toLowerCase(), aff, true);
    }
  }

  /** An error message bounced by a room (e.g. a reflection while not an occupant). */
  handleRoomError(room: string): void {
    const r = room.toLowerCase();
    if (this.#joined.delete(r)) this.#log.warn("room refused a message; will re-join", { room: r });
  }

  #update(room: string, jid: string, aff: Affiliation, isChange: boolean): void {
    const view = this.#affiliations.get(room);
    const prev = view?.get(jid);
    if (view !== undefined) {
      if (aff === "none") view.delete(jid);
      else view.set(jid, aff);
    }
    if (aff !== "none" && aff !== "outcast") return;
    // Known previous affiliation decides; unknown counts as a loss only for an explicit change.
    const wasMember = prev === undefined ? isChange : affiliationAtLeast(prev, "member");
    if (!wasMember) return;
    if (jid === this.#o.domain) {
      this.#log.warn("the DS lost its affiliation in a room", { room, affiliation: aff });
      return;
    }
    const event: AffiliationRevoked = { room, jid, affiliation: aff };
    this.#log.info("affiliation revoked", { room, jid, affiliation: aff });
    for (const l of this.#listeners) {
      Promise.resolve()
        .then(() => l(event))
        .catch((e: unknown) => this.#log.error("affiliationRevoked listener failed", { room, error: e }));
    }
  }

  async #view(room: string): Promise<Map<string, Affiliation>> {
    const cached = this.#affiliations.get(room);
    if (cached !== undefined) return cached;
    let loading = this.#loading.get(room);
    if (loading === undefined) {
      loading = (async () => {
        const [owners, admins, members] = await Promise.all([
          this.affiliationList(room, "owner"),
          this.affiliationList(room, "admin"),
          this.affiliationList(room, "member"),
        ]);
        const view = new Map<string, Affiliation>();
        for (const j of members) view.set(j, "member");
        for (const j of admins) view.set(j, "admin");
        for (const j of owners) view.set(j, "owner");
        if (this.#wanted.has(room)) this.#affiliations.set(room, view);
        return view;
      })().finally(() => this.#loading.delete(room));
      this.#loading.set(room, loading);
    }
    return loading;
  }

  async #sendJoin(room: string, nick: string): Promise<void> {
    try {
      await this.#o.xmpp.send(
        xml("presence", { from: this.#o.domain, to: `${room}/${nick}` }, xml("x", { xmlns: NS_MUC }, xml("history", { maxstanzas: "0" }))),
      );
    } catch (e) {
      this.#failJoin(room, e);
    }
  }

  #joinRefused(room: string, p: PendingJoin, stanza: Element): void {
    const condition = stanza.getChild("error")?.getChildElements().find((c) => c.getName() !== "text")?.getName() ?? "undefined-condition";
    if (condition === "conflict" && !p.retried) {
      // Someone holds our nick: try once more with a distinct one.
      p.retried = true;
      p.nick = `${this.#nick}-${Math.random().toString(36).slice(2, 8)}`;
      void this.#sendJoin(room, p.nick);
      return;
    }
    this.#failJoin(room, new RemoteError(condition, `joining ${room} was refused: ${condition}`));
  }

  #failJoin(room: string, e: unknown): void {
    const p = this.#pending.get(room);
    if (p === undefined) return;
    this.#pending.delete(room);
    p.reject(e);
  }
}

/**
 * A socket-free XMPP world for gateway unit tests (the idea of @xmpp/test's mockClient):
 *
 * - a fake entity built from the very `@xmpp/middleware` and `@xmpp/iq` callee that
 *   `@xmpp/component` 0.13 uses, so routing, empty results and `<error/>` replies behave as in
 *   production; incoming stanzas are `emit("element")`ed, outgoing ones land in `send`;
 * - a fake MUC service (rooms with features, affiliations, occupants, groupchat log) answering
 *   the DS's presence, disco#info and muc#admin requests like Prosody/ejabberd do;
 * - clients: `net.iq(from, type, child)` sends a request and resolves with the DS's reply iq.
 */
import { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { framingCommitValidator } from "../../../src/component/commit-validator.js";
import { parseConfig, type GatewayConfig } from "../../../src/component/config.js";
import { createDsIdentity, type DsIdentity } from "../../../src/component/ds-identity.js";
import type { GatewayEntity, Middleware } from "../../../src/component/entity.js";
import { portOf } from "../../../src/component/entity.js";
import { buildGateway, type GatewayOptions } from "../../../src/component/gateway.js";
import { silentLogger } from "../../../src/component/log.js";
import type { Affiliation } from "../../../src/component/muc.js";
import type { Router } from "../../../src/component/router.js";
import type { DsServices } from "../../../src/component/services.js";
import { MemoryStore } from "../../../src/component/store/memory-store.js";
import type { DsStore } from "../../../src/component/store/types.js";
import { nativeProvider } from "../../../src/crypto/native/index.js";
import { NS_DISCO_INFO, NS_MAM, NS_MUC_ADMIN, NS_MUC_USER, NS_STANZAS } from "../../../src/xmpp/ns.js";
import { xml, type Element } from "../../../src/xmpp/xml.js";

const require = createRequire(import.meta.url);
const componentDir = dirname(require.resolve("@xmpp/component"));
type Factory<T> = (deps: { entity: unknown; middleware?: unknown }) => T;
const middlewareOf = require(require.resolve("@xmpp/middleware", { paths: [componentDir] })) as Factory<{ use(fn: Middleware): unknown }>;
const iqCalleeOf = require(require.resolve("@xmpp/iq/callee", { paths: [componentDir] })) as Factory<GatewayEntity["iqCallee"]>;

export const DOMAIN = "mls.example.org";
export const MUC = "conference.example.org";

export interface FakeRoom {
  readonly jid: string;
  readonly features: Set<string>;
  readonly affiliations: Map<string, Affiliation>;
  /** nick → real JID */
  readonly occupants: Map<string, string>;
  /** Groupchat messages the room received, in order. */
  readonly messages: Element[];
}

const ROOM_FEATURES = ["http://jabber.org/protocol/muc", "muc_membersonly", "muc_persistent", "muc_nonanonymous", NS_MAM];

function stanzaError(condition: string): Error & { condition: string } {
  return Object.assign(new Error(condition), { condition });
}

export class FakeNetwork {
  readonly rooms = new Map<string, FakeRoom>();
  /** Stanzas the DS sent that are neither iq replies to clients nor room traffic. */
  readonly outbox: Element[] = [];
  readonly entity: GatewayEntity & EventEmitter;
  /** Count of iq requests the DS made to rooms. */
  roomQueries = 0;
  readonly #replies = new Map<string, (el: Element) => void>();
  #ids = 0;

  constructor() {
    const emitter = new EventEmitter();
    const entity = Object.assign(emitter, {
      jid: null,
      domain: DOMAIN,
      send: async (el: Element) => this.#fromDs(el),
      iqCaller: { request: async (el: Element) => this.#roomRequest(el) },
    }) as unknown as GatewayEntity & EventEmitter & { middleware: unknown; iqCallee: unknown };
    const middleware = middlewareOf({ entity });
    const iqCallee = iqCalleeOf({ middleware, entity });
    Object.assign(entity, { middleware, iqCallee });
    entity.on("error", () => {});
    this.entity = entity;
  }

  /** A room owned by `owner`, configured as the XEP requires, with the DS as admin. */
  addRoom(local: string, owner: string, o: { features?: readonly string[]; dsAffiliation?: Affiliation } = {}): FakeRoom {
    const jid = `${local}@${MUC}`;
    const room: FakeRoom = { jid, features: new Set(o.features ?? ROOM_FEATURES), affiliations: new Map(), occupants: new Map(), messages: [] };
    room.affiliations.set(owner, "owner");
    const ds = o.dsAffiliation ?? "admin";
    if (ds !== "none") room.affiliations.set(DOMAIN, ds);
    this.rooms.set(jid, room);
    return room;
  }

  /** Change an affiliation; the room tells its occupants like Prosody does. */
  setAffiliation(roomJid: string, jid: string, affiliation: Affiliation): void {
    const room = this.#room(roomJid);
    if (affiliation === "none") room.affiliations.delete(jid);
    else room.affiliations.set(jid, affiliation);
    const present = [...room.occupants].find(([, real]) => real.split("/")[0] === jid);
    if ([...room.occupants.values()].includes(DOMAIN)) {
      if (present !== undefined && (affiliation === "none" || affiliation === "outcast")) {
        room.occupants.delete(present[0]);
        this.deliver(xml("presence", { from: `${roomJid}/${present[0]}`, to: DOMAIN, type: "unavailable" },
          xml("x", { xmlns: NS_MUC_USER }, xml("item", { affiliation, role: "none", jid: present[1] }), xml("status", { code: "321" }))));
      } else {
        this.deliver(xml("message", { from: roomJid, to: DOMAIN }, xml("x", { xmlns: NS_MUC_USER }, xml("item", { affiliation, jid }))));
      }
    }
  }

  /** Hand a stanza to the DS as if it came from the server. */
  deliver(el: Element): void {
    setImmediate(() => this.entity.emit("element", el));
  }

  /** Send an iq from a client to the DS; resolves with the DS's reply. */
  iq(from: string, type: "get" | "set", child: Element, o: { to?: string; id?: string } = {}): Promise<Element> {
    const id = o.id ?? `c${++this.#ids}`;
    const p = new Promise<Element>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no reply to ${id}`)), 5000);
      this.#replies.set(id, (el) => {
        clearTimeout(t);
        resolve(el);
      });
    });
    this.deliver(xml("iq", { type, from, to: o.to ?? DOMAIN, id }, child));
    return p;
  }

  /** Send a raw stanza (e.g. a malformed iq) and resolve with the reply carrying `id`. */
  raw(el: Element): Promise<Element> {
    const id = el.attrs.id ?? `r${++this.#ids}`;
    el.attrs.id = id;
    const p = new Promise<Element>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no reply to ${id}`)), 5000);
      this.#replies.set(id, (r) => {
        clearTimeout(t);
        resolve(r);
      });
    });
    this.deliver(el);
    return p;
  }

  /** Wait until the event loop has run the DS's pending work. */
  async settle(rounds = 5): Promise<void> {
    for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
  }

  #room(jid: string): FakeRoom {
    const r = this.rooms.get(jid.toLowerCase());
    if (r === undefined) throw stanzaError("item-not-found");
    return r;
  }

  async #fromDs(el: Element): Promise<void> {
    const to = el.attrs.to ?? "";
    const id = el.attrs.id;
    if (el.getName() === "iq" && id !== undefined && this.#replies.has(id)) {
      const r = this.#replies.get(id)!;
      this.#replies.delete(id);
      r(el);
      return;
    }
    const bare = to.split("/")[0] ?? "";
    if (bare.endsWith(`@${MUC}`)) return this.#toRoom(el, bare, to.includes("/") ? to.slice(to.indexOf("/") + 1) : undefined);
    this.outbox.push(el);
  }

  #toRoom(el: Element, roomJid: string, nick: string | undefined): void {
    const room = this.rooms.get(roomJid);
    if (el.getName() === "presence" && nick !== undefined) {
      const from = el.attrs.from ?? "";
      if (el.attrs.type === "unavailable") {
        room?.occupants.delete(nick);
        return;
      }
      const aff = room?.affiliations.get(from) ?? "none";
      if (room === undefined || aff === "none" || aff === "outcast") {
        const condition = room === undefined ? "item-not-found" : "registration-required";
        this.deliver(xml("presence", { from: `${roomJid}/${nick}`, to: from, type: "error" }, xml("error", { type: "auth" }, xml(condition, { xmlns: NS_STANZAS }))));
        return;
      }
      room.occupants.set(nick, from);
      this.deliver(xml("presence", { from: `${roomJid}/${nick}`, to: from },
        xml("x", { xmlns: NS_MUC_USER }, xml("item", { affiliation: aff, role: "moderator", jid: from }), xml("status", { code: "110" }))));
      return;
    }
    if (el.getName() === "message" && el.attrs.type === "groupchat") {
      if (room === undefined || ![...room.occupants.values()].includes(el.attrs.from ?? "")) {
        this.deliver(xml("message", { from: roomJid, to: el.attrs.from, type: "error" }, xml("error", { type: "modify" }, xml("not-acceptable", { xmlns: NS_STANZAS }))));
        return;
      }
      room.messages.push(el);
      return;
    }
    this.outbox.push(el);
  }

  async #roomRequest(el: Element): Promise<Element> {
    this.roomQueries++;
    const to = el.attrs.to ?? "";
    const room = this.#room(to);
    const reply = (child: Element): Element => xml("iq", { type: "result", from: to, to: el.attrs.from, id: el.attrs.id }, child);
    const disco = el.getChild("query", NS_DISCO_INFO);
    if (disco !== undefined) {
      return reply(xml("query", { xmlns: NS_DISCO_INFO }, xml("identity", { category: "conference", type: "text" }), [...room.features].map((f) => xml("feature", { var: f }))));
    }
    const admin = el.getChild("query", NS_MUC_ADMIN);
    if (admin !== undefined) {
      const asker = room.affiliations.get(el.attrs.from ?? "") ?? "none";
      if (asker !== "admin" && asker !== "owner") throw stanzaError("forbidden");
      const want = admin.getChild("item", NS_MUC_ADMIN)?.attrs.affiliation;
      const items = [...room.affiliations].filter(([, a]) => a === want).map(([jid, a]) => xml("item", { affiliation: a, jid }));
      return reply(xml("query", { xmlns: NS_MUC_ADMIN }, items));
    }
    throw stanzaError("service-unavailable");
  }
}

export interface TestGateway {
  readonly net: FakeNetwork;
  readonly services: DsServices;
  readonly router: Router;
  readonly store: DsStore;
  readonly identity: DsIdentity;
  readonly config: GatewayConfig;
}

/** The gateway config of the tests, with `limits` overrides. */
export function testConfig(limits: Record<string, unknown> = {}, policy: Record<string, unknown> = {}): GatewayConfig {
  return parseConfig({
    service: "xmpp://127.0.0.1:5347",
    domain: DOMAIN,
    secret: "s3cret",
    database: ":memory:",
    mucServices: [MUC],
    limits,
    policy,
  });
}

/**
 * A gateway over a {@link FakeNetwork}, with an in-memory store. Its commit validator checks the
 * framing only (these tests use synthetic handshakes), unless `observer` asks for the gateway's
 * default (the PublicGroup observer) or `options.validator` names another.
 */
export function createTestGateway(o: { config?: GatewayConfig; store?: DsStore; options?: Partial<GatewayOptions>; observer?: boolean; identity?: DsIdentity } = {}): TestGateway {
  const net = new FakeNetwork();
  const config = o.config ?? testConfig();
  const store = o.store ?? new MemoryStore();
  const identity = o.identity ?? createDsIdentity({ jid: DOMAIN, provider: nativeProvider });
  const { services, router } = buildGateway(config, portOf(net.entity), {
    logger: silentLogger,
    ...(o.observer !== true && { validator: framingCommitValidator({ provider: nativeProvider }) }),
    ...o.options,
    store,
    provider: nativeProvider,
    identity,
  });
  router.attach(net.entity);
  return { net, services, router, store, identity, config };
}

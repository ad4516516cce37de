/**
 * Request routing of the Delivery Service, on top of xmpp.js:
 *
 *   iq get/set ──@xmpp/iq callee (by type, namespace, element)──▶ Router.answer ──▶ handler
 *                                       ◀── result child | <error/> (one adapter: toErrorElement)
 *   message / presence ──middleware──▶ Router.dispatch ──▶ listeners (MUC tracking)
 *
 * Handlers receive a parsed {@link IqRequest} and return the result child (or nothing, for an
 * empty result); they throw typed errors (XmppProtocolError, DsError, CodecError, ...), which
 * {@link toErrorElement} turns into RFC 6120 stanza errors. Nothing a peer sends can crash the
 * process: every handler runs inside a catch-all that logs and answers, and anything that is not
 * one of our typed errors becomes `internal-server-error` without details.
 *
 * Addressing: the DS answers requests addressed to its bare domain only. An iq to any other
 * address under the component's domain (`x@mls.example.org`, `mls.example.org/r`) gets
 * `service-unavailable`, as does an iq whose payload no route knows.
 * @module
 */
import type { EventEmitter } from "node:events";
import { UsageError, XmppMlsError } from "../errors.js";
import { toErrorElement, XmppProtocolError } from "../xmpp/errors.js";
import { splitJid } from "../xmpp/jid.js";
import { qname, type Element } from "../xmpp/xml.js";
import type { GatewayEntity, MiddlewareContext } from "./entity.js";
import type { RequestLimits } from "./limits.js";
import type { Logger } from "./log.js";

export type IqType = "get" | "set";

/** One incoming iq request, after the generic checks. */
export interface IqRequest {
  readonly type: IqType;
  readonly stanza: Element;
  /** The iq's single child (the payload the route matched). */
  readonly element: Element;
  /** The sender as stamped by the server (a full JID for clients). */
  readonly from: string;
  readonly id: string;
}

/** Returns the result child, or nothing for an empty result; throws for an error. */
export type IqHandler = (req: IqRequest) => Promise<Element | void> | Element | void;

/** Receives messages or presences; must not throw (the router logs it if it does). */
export type StanzaListener = (stanza: Element) => Promise<void> | void;

export interface RouterOptions {
  /** The component's domain, the only address requests are answered on. */
  readonly domain: string;
  readonly logger: Logger;
  readonly limits: RequestLimits;
}

interface Route {
  readonly type: IqType;
  readonly ns: string;
  readonly name: string;
  readonly handler: IqHandler;
}

export class Router {
  readonly #o: RouterOptions;
  readonly #routes = new Map<string, Route>();
  readonly #messageListeners: StanzaListener[] = [];
  readonly #presenceListeners: StanzaListener[] = [];
  readonly #log: Logger;

  constructor(options: RouterOptions) {
    this.#o = options;
    this.#log = options.logger.child({ module: "router" });
  }

  get(ns: string, name: string, handler: IqHandler): void {
    this.#add({ type: "get", ns, name, handler });
  }

  set(ns: string, name: string, handler: IqHandler): void {
    this.#add({ type: "set", ns, name, handler });
  }

  onMessage(listener: StanzaListener): void {
    this.#messageListeners.push(listener);
  }

  onPresence(listener: StanzaListener): void {
    this.#presenceListeners.push(listener);
  }

  /** `type {ns}name` of every route (for tests and the startup log). */
  routes(): string[] {
    return [...this.#routes.keys()];
  }

  /** Register every route with the entity's iq callee and the stanza listeners as middleware. */
  attach(entity: GatewayEntity): void {
    for (const r of this.#routes.values()) {
      const handler = (ctx: MiddlewareContext): Promise<Element | true | undefined> => this.answer(r, ctx.stanza, ctx.element);
      if (r.type === "get") entity.iqCallee.get(r.ns, r.name, handler);
      else entity.iqCallee.set(r.ns, r.name, handler);
    }
    entity.middleware.use(async (ctx, next) => {
      if (ctx.name !== "message" && ctx.name !== "presence") return next();
      await this.dispatch(ctx.stanza);
      return undefined;
    });
    this.#guardElementListeners(entity);
  }

  /**
   * xmpp.js builds its middleware context synchronously inside the "element" listener and
   * throws there on an unparsable address (`from='@'`), which would escape the socket handler
   * and end the process. Wrap every "element" listener so such a stanza is logged and dropped.
   */
  #guardElementListeners(entity: GatewayEntity): void {
    const e = entity as unknown as Partial<Pick<EventEmitter, "listeners" | "removeListener" | "on">>;
    if (typeof e.listeners !== "function" || typeof e.removeListener !== "function" || typeof e.on !== "function") return;
    for (const l of e.listeners("element") as ((el: Element) => unknown)[]) {
      e.removeListener("element", l);
      e.on("element", (el: Element) => {
        try {
          const r = l(el);
          if (r instanceof Promise) r.catch((err: unknown) => this.#log.error("stanza processing failed", { from: el.attrs?.from, error: err }));
        } catch (err) {
          this.#log.warn("unprocessable stanza dropped", { stanza: el.getName?.(), error: err });
        }
      });
    }
  }

  /**
   * Run one route for an iq (what the iq callee calls). Resolves with the result child, `true`
   * for an empty result, an `<error/>` element, or `undefined` (→ `service-unavailable`).
   * Never rejects.
   */
  async answer(route: Pick<Route, "type" | "ns" | "name">, stanza: Element, element: Element | undefined): Promise<Element | true | undefined> {
    const r = this.#routes.get(key(route.type, route.ns, route.name));
    const started = performance.now();
    const from = stanza.attrs.from;
    const fields = { iq: `${route.type} ${route.name}`, from };
    try {
      if (r === undefined || element === undefined) return undefined;
      const to = stanza.attrs.to;
      if (to !== undefined && to.toLowerCase() !== this.#o.domain) return undefined;
      if (from === undefined || splitJid(from) === undefined) throw new XmppProtocolError("xmpp.bad_attribute", "the request has no valid 'from'");
      this.#o.limits.checkStanzaSize(stanza);
      const out = await r.handler({ type: r.type, stanza, element, from, id: stanza.attrs.id ?? "" });
      this.#log.debug("iq answered", { ...fields, ms: Math.round(performance.now() - started) });
      return out ?? true;
    } catch (e) {
      const expected = e instanceof XmppMlsError && !e.code.startsWith("internal") && !e.code.startsWith("usage.") && !e.code.startsWith("store.");
      if (expected) this.#log.debug("iq refused", { ...fields, code: e.code, reason: e.message });
      else this.#log.error("iq handler failed", { ...fields, error: e });
      return toErrorElement(e);
    }
  }

  /** Hand a message or presence to the listeners. Never rejects. */
  async dispatch(stanza: Element): Promise<void> {
    const listeners = stanza.getName() === "presence" ? this.#presenceListeners : stanza.getName() === "message" ? this.#messageListeners : [];
    for (const l of listeners) {
      try {
        await l(stanza);
      } catch (e) {
        this.#log.error("stanza listener failed", { stanza: qname(stanza), from: stanza.attrs.from, error: e });
      }
    }
  }

  #add(r: Route): void {
    const k = key(r.type, r.ns, r.name);
    if (this.#routes.has(k)) throw new UsageError("usage.duplicate_route", `route ${k} is registered twice`);
    this.#routes.set(k, r);
  }
}

function key(type: IqType, ns: string, name: string): string {
  return `${type} {${ns}}${name}`;
}

/**
 * The seams between the gateway and xmpp.js:
 *
 * - {@link GatewayEntity}: the part of an `@xmpp/component` 0.13 entity the gateway wires into
 *   (middleware, iq callee and caller, `send`, events). Tests pass a fake with the same shape.
 * - {@link XmppPort}: what handlers use to talk to the network: `send` and `request`.
 *
 * Every outgoing stanza carries an explicit `from` (XEP-0114 §3: a component stamps its own
 * addresses); the DS sends from its bare domain.
 * @module
 */
import { XmppMlsError } from "../errors.js";
import type { Element } from "../xmpp/xml.js";

/** `@xmpp/middleware` incoming context (only what the gateway reads). */
export interface MiddlewareContext {
  readonly stanza: Element;
  /** The iq's single child, set by the iq callee. */
  element?: Element;
  readonly name: string;
  readonly type: string;
}

export type Middleware = (ctx: MiddlewareContext, next: () => Promise<unknown>) => unknown;

/**
 * An iq callee handler: an Element becomes the result child (or, if named `error`, the error),
 * any other truthy value an empty result, a falsy value `service-unavailable`.
 */
export type IqCalleeHandler = (ctx: MiddlewareContext) => unknown;

/** The shape of an `@xmpp/component` entity used by the gateway. */
export interface GatewayEntity {
  readonly middleware: { use(fn: Middleware): unknown };
  readonly iqCallee: {
    get(ns: string, name: string, handler: IqCalleeHandler): void;
    set(ns: string, name: string, handler: IqCalleeHandler): void;
  };
  readonly iqCaller: { request(stanza: Element, timeoutMs?: number): Promise<Element> };
  send(stanza: Element): Promise<void>;
  on(event: string, listener: (...args: never[]) => void): unknown;
}

/** Network access for handlers. */
export interface XmppPort {
  /** Send a stanza as is (the caller sets `from`). */
  send(stanza: Element): Promise<void>;
  /**
   * Send an iq get/set and resolve with the result iq. Rejects with {@link RemoteError} when the
   * peer answers with an error (or the answer does not come from the addressee), or on timeout.
   */
  request(iq: Element, timeoutMs?: number): Promise<Element>;
}

/** A peer answered an iq with an error (`condition` is the RFC 6120 defined condition). */
export class RemoteError extends XmppMlsError {
  readonly condition: string;
  constructor(condition: string, message: string, options?: { cause?: unknown }) {
    super("xmpp.remote_error", message, options);
    this.condition = condition;
  }
}

/** Default timeout of requests the DS makes (room queries), ms. */
export const REQUEST_TIMEOUT_MS = 10_000;

/** The {@link XmppPort} of an entity: results are checked to come from the addressee. */
export function portOf(entity: Pick<GatewayEntity, "send" | "iqCaller">): XmppPort {
  return {
    send: (stanza) => entity.send(stanza),
    async request(iq, timeoutMs = REQUEST_TIMEOUT_MS) {
      let res: Element;
      try {
        res = await entity.iqCaller.request(iq, timeoutMs);
      } catch (e) {
        const condition = typeof (e as { condition?: unknown }).condition === "string" ? (e as { condition: string }).condition : "remote-server-timeout";
        throw new RemoteError(condition, `request to ${iq.attrs.to ?? "?"} failed: ${condition}`, { cause: e });
      }
      if (iq.attrs.to !== undefined && res.attrs.from !== iq.attrs.to) {
        throw new RemoteError("undefined-condition", `answer to a request to ${iq.attrs.to} came from ${res.attrs.from ?? "nobody"}`);
      }
      return res;
    },
  };
}

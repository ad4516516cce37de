/**
 * The plugin's view of the xmpp.js entity: the parts it is built from (xmpp.js plugin style:
 * `{ entity, middleware, iqCaller, iqCallee }`), request/response with typed errors, and
 * one-shot waits on incoming stanzas (MUC self-presence, MAM results).
 *
 *   iq(type, to, child) ──iqCaller──► result iq │ XmppProtocolError (fromErrorElement of the <error/>)
 *   incoming stanza ──middleware──► Io.dispatch ──► waiters / collectors, then the plugin's handler
 * @module
 */
import type { EventEmitter } from "node:events";
import type { IqCallee, IqCaller, JID, Middleware } from "@xmpp/client";
import { fromErrorElement } from "../xmpp/errors.js";
import { isElement, xml, type Element } from "../xmpp/xml.js";

/** The entity events and methods the plugin uses (an @xmpp/client Client has them all). */
export interface MlsEntity extends Pick<EventEmitter, "on" | "off"> {
  jid: JID | null;
  status?: string;
  send(el: Element): Promise<void>;
}

/** What `mls()` is built from: the parts of an xmpp.js client. */
export interface MlsEntityParts {
  readonly entity: MlsEntity;
  readonly middleware: Middleware;
  readonly iqCaller: IqCaller;
  readonly iqCallee?: IqCallee;
}

interface Waiter {
  readonly match: (el: Element) => boolean;
  readonly resolve: (el: Element) => void;
}

export class Io {
  readonly #parts: MlsEntityParts;
  readonly #timeoutMs: number;
  readonly #waiters = new Set<Waiter>();
  readonly #collectors = new Set<{ match: (el: Element) => boolean; items: Element[] }>();

  constructor(parts: MlsEntityParts, timeoutMs: number) {
    this.#parts = parts;
    this.#timeoutMs = timeoutMs;
  }

  get entity(): MlsEntity {
    return this.#parts.entity;
  }

  /** The bound full JID, or null while offline. */
  get jid(): JID | null {
    return this.#parts.entity.jid;
  }

  send(el: Element): Promise<void> {
    return this.#parts.entity.send(el);
  }

  /**
   * Send an iq and resolve with the result iq. An error reply rejects with the
   * {@link XmppProtocolError} read from its `<error/>` (registry code, condition, app element).
   */
  async iq(type: "get" | "set", to: string | undefined, child: Element, timeoutMs?: number): Promise<Element> {
    const stanza = xml("iq", { type, to }, child);
    try {
      return await this.#parts.iqCaller.request(stanza, timeoutMs ?? this.#timeoutMs);
    } catch (e) {
      const errorEl = (e as { element?: unknown }).element;
      if (isElement(errorEl)) throw fromErrorElement(errorEl);
      throw e;
    }
  }

  /** Called for every incoming stanza (before the plugin's own handling). */
  dispatch(el: Element): void {
    for (const c of this.#collectors) if (c.match(el)) c.items.push(el);
    for (const w of this.#waiters) {
      if (w.match(el)) {
        this.#waiters.delete(w);
        w.resolve(el);
      }
    }
  }

  /**
   * Wait for the first incoming stanza matching `match` from now on. Register before sending the
   * request it answers. Rejects after `timeoutMs` with an Error naming `what`.
   */
  waitFor(match: (el: Element) => boolean, what: string, timeoutMs?: number): { promise: Promise<Element>; cancel(): void } {
    let waiter: Waiter | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const promise = new Promise<Element>((resolve, reject) => {
      waiter = {
        match,
        resolve: (el) => {
          clearTimeout(timer);
          resolve(el);
        },
      };
      timer = setTimeout(() => {
        if (waiter !== undefined) this.#waiters.delete(waiter);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs ?? this.#timeoutMs);
      this.#waiters.add(waiter);
    });
    return {
      promise,
      cancel: () => {
        clearTimeout(timer);
        if (waiter !== undefined) this.#waiters.delete(waiter);
      },
    };
  }

  /** Collect matching incoming stanzas until `stop()` (MAM results precede the iq result). */
  collect(match: (el: Element) => boolean): { readonly items: readonly Element[]; stop(): Element[] } {
    const c = { match, items: [] as Element[] };
    this.#collectors.add(c);
    return {
      items: c.items,
      stop: () => {
        this.#collectors.delete(c);
        return c.items;
      },
    };
  }
}

/**
 * Minimal type declarations for the parts of xmpp.js that src/ and the tests use:
 * @xmpp/client 0.14 (ESM), @xmpp/component 0.13.1 (CommonJS) and @xmpp/debug ship no types.
 * `@xmpp/xml` is declared once, in src/xmpp/xmpp-xml.d.ts; both @xmpp/xml copies in node_modules
 * build on the same ltx 3.1.2 Element, so that one type serves the component too.
 *
 * Keep one declaration per module here
 * (one declaration per module: duplicates are not reported under skipLibCheck, they silently merge).
 */

declare module "@xmpp/client" {
  import type { EventEmitter } from "node:events";
  import type { Element } from "@xmpp/xml";

  export { xml } from "@xmpp/xml";

  export interface JID {
    local: string;
    domain: string;
    resource: string;
    bare(): JID;
    toString(): string;
  }

  export interface IqContext {
    stanza: Element;
    element: Element;
    from: JID | null;
    to: JID | null;
  }
  export type IqHandler = (ctx: IqContext) => Element | boolean | undefined | Promise<Element | boolean | undefined>;

  export interface IqCaller {
    request(stanza: Element, timeoutMs?: number): Promise<Element>;
    get(child: Element, to?: string, timeoutMs?: number): Promise<Element>;
    set(child: Element, to?: string, timeoutMs?: number): Promise<Element>;
  }
  export interface IqCallee {
    get(ns: string, name: string, handler: IqHandler): void;
    set(ns: string, name: string, handler: IqHandler): void;
  }
  /** @xmpp/middleware: the context of an incoming stanza (lib/IncomingContext.js). */
  export interface IncomingContext {
    stanza: Element;
    entity: unknown;
    name: string;
    id: string;
    /** The stanza type, defaulted ("normal" for messages, "available" for presence). */
    type: string;
    from: JID | null;
    to: JID | null;
    local: string;
    domain: string;
    resource: string;
  }
  /** A middleware; returning an Element (or a promise of one) from `next`'s chain sends it as the reply. */
  export type MiddlewareFn = (ctx: IncomingContext, next: () => Promise<unknown>) => unknown;
  export interface Middleware {
    use(fn: MiddlewareFn): MiddlewareFn;
    filter(fn: MiddlewareFn): MiddlewareFn;
  }

  export interface Reconnect extends EventEmitter {
    delay: number;
    start(): void;
    stop(): void;
  }

  /** `authenticate(credentials, mechanism)` as passed to the `credentials` option by @xmpp/sasl. */
  export type Authenticate = (
    credentials: { username: string; password: string },
    mechanism: string,
  ) => Promise<void>;

  export interface ClientOptions {
    service: string;
    domain?: string;
    resource?: string;
    username?: string;
    password?: string;
    credentials?: (authenticate: Authenticate, mechanisms: string[]) => Promise<void>;
  }

  export interface Client extends EventEmitter {
    jid: JID | null;
    status: string;
    options: { service: string; domain: string };
    reconnect: Reconnect;
    middleware: Middleware;
    iqCaller: IqCaller;
    iqCallee: IqCallee;
    start(): Promise<JID>;
    stop(): Promise<void>;
    send(...elements: Element[]): Promise<void>;
  }

  export function client(options: ClientOptions): Client;
  export function jid(address: string): JID;
}

declare module "@xmpp/component" {
  import type { EventEmitter } from "node:events";
  import type { Element } from "@xmpp/xml";
  import type { IqCaller, IqCallee, JID, Reconnect } from "@xmpp/client";

  export { xml } from "@xmpp/xml";

  export interface ComponentOptions {
    service: string;
    domain: string;
    password: string | ((authenticate: (password: string) => Promise<void>) => Promise<void>);
  }

  export interface Component extends EventEmitter {
    jid: JID | null;
    status: string;
    reconnect: Reconnect;
    iqCaller: IqCaller;
    iqCallee: IqCallee;
    start(): Promise<JID>;
    stop(): Promise<void>;
    send(...elements: Element[]): Promise<void>;
  }

  export function component(options: ComponentOptions): Component;
}

declare module "@xmpp/debug" {
  export default function debug(entity: unknown, force?: boolean): void;
}

/**
 * xmpp.js connections for integration tests, with the workarounds from the notes (§4):
 * - PLAIN SASL is forced (xmpp.js would pick SCRAM-SHA-1 on plaintext: 0.8–2.5 s per login);
 * - `<sm/>` is removed from the stream features (xmpp.js 0.14 stream management miscounts);
 * - initial presence is sent on every `online` (xmpp.js does not), followed by a ping round trip so
 *   the server has processed it before `connectClient` returns;
 * - automatic reconnection is stopped when the first connection fails (it would retry every second
 *   forever).
 *
 * Every incoming stanza is recorded from the moment the connection is created, so `waitFor` also
 * finds stanzas that arrived before it was called (offline messages, MAM results).
 */
import { client, type Client, type JID } from "@xmpp/client";
import { component, type Component } from "@xmpp/component";
import { xml, type Element } from "@xmpp/xml";
import type { ServerInfo } from "./types.js";

const NS_STREAM = "http://etherx.jabber.org/streams";
const NS_SM = "urn:xmpp:sm:3";
const NS_PING = "urn:xmpp:ping";

export interface StanzaLog {
  /** Errors xmpp.js emitted (stream errors, failed sends); kept so they never go unhandled. */
  readonly errors: readonly unknown[];
  /** Every stanza (message, presence, iq) received so far, oldest first. */
  readonly received: readonly Element[];
  /**
   * The first received stanza matching `match` that no earlier `waitFor` returned; waits for it if
   * needed. Rejects after `timeoutMs` naming `what`.
   */
  waitFor(match: (el: Element) => boolean, what: string, timeoutMs?: number): Promise<Element>;
}

export interface TestClient extends StanzaLog {
  readonly xmpp: Client;
  readonly user: string;
  /** Full JID after binding, e.g. "alice@a.localhost/test". */
  readonly jid: string;
  readonly bareJid: string;
  send(el: Element): Promise<void>;
  /** Send an iq and resolve with the whole result iq (rejects with StanzaError on type=error). */
  iq(el: Element, timeoutMs?: number): Promise<Element>;
  /** Close the stream; no reconnection afterwards. */
  stop(): Promise<void>;
}

export interface TestComponent extends StanzaLog {
  readonly xmpp: Component;
  readonly jid: string;
  send(el: Element): Promise<void>;
  iq(el: Element, timeoutMs?: number): Promise<Element>;
  stop(): Promise<void>;
}

export interface ConnectOptions {
  /** Default: the server's shared test password. */
  readonly password?: string;
  /** Default 10 s. */
  readonly timeoutMs?: number;
  /**
   * Keep xmpp.js's automatic reconnection (every 1 s) after a lost connection. Default true, as in
   * xmpp.js; it is always stopped when the first connection fails and by `stop()`.
   */
  readonly reconnect?: boolean;
}

function stanzaLog(entity: Client | Component, errors: unknown[]): StanzaLog {
  const received: Element[] = [];
  const taken = new Set<Element>();
  const waiters = new Set<{ match: (el: Element) => boolean; resolve: (el: Element) => void }>();
  entity.on("stanza", (el: Element) => {
    received.push(el);
    for (const w of waiters) {
      if (!taken.has(el) && w.match(el)) {
        taken.add(el);
        waiters.delete(w);
        w.resolve(el);
      }
    }
  });
  return {
    errors,
    received,
    waitFor(match, what, timeoutMs = 5000) {
      const found = received.find((el) => !taken.has(el) && match(el));
      if (found !== undefined) {
        taken.add(found);
        return Promise.resolve(found);
      }
      return new Promise((resolve, reject) => {
        const w = {
          match,
          resolve: (el: Element) => {
            clearTimeout(timer);
            resolve(el);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Stop the stream without throwing (used on failure paths and in `stop()`). */
async function shutdown(entity: Client | Component): Promise<void> {
  entity.reconnect.stop();
  try {
    await withTimeout(entity.stop(), 3000, "closing the stream");
  } catch {
    // The socket is gone either way.
  }
}

/**
 * Start `entity` and run `then` (once online) within `timeoutMs`. On failure the stream is shut down
 * before rethrowing: a wrong password or secret rejects with StreamError not-authorized, and
 * without this the reconnect module would retry every second forever. `reconnect: false` stops
 * automatic reconnection after a successful start.
 */
async function startOrShutdown(entity: Client | Component, timeoutMs: number, what: string, reconnect: boolean | undefined, then?: () => Promise<unknown>): Promise<JID> {
  let jid: JID;
  try {
    jid = await withTimeout(entity.start(), timeoutMs, what);
    await then?.();
  } catch (err) {
    await shutdown(entity);
    throw err;
  }
  if (reconnect === false) entity.reconnect.stop();
  return jid;
}

/** The send/iq/stop part of a TestClient or TestComponent, over `xmpp` and its stanza log. */
function handle<E extends Client | Component>(xmpp: E, log: StanzaLog, timeoutMs: number): StanzaLog & Pick<TestComponent, "send" | "iq" | "stop"> & { readonly xmpp: E } {
  return {
    ...log,
    xmpp,
    send: (el) => xmpp.send(el),
    iq: (el, ms) => xmpp.iqCaller.request(el, ms ?? timeoutMs),
    stop: () => shutdown(xmpp),
  };
}

/** Log in as `user` on `server` with PLAIN, bind `resource`, send initial presence. */
export async function connectClient(server: ServerInfo, user: string, resource = "test", opts: ConnectOptions = {}): Promise<TestClient> {
  const password = opts.password ?? server.password;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const xmpp = client({
    service: `xmpp://${server.host}:${server.c2sPort}`,
    domain: server.domain,
    resource,
    credentials: async (authenticate, mechanisms) => {
      if (!mechanisms.includes("PLAIN")) {
        throw new Error(`${server.name} does not offer PLAIN on plaintext (offered: ${mechanisms.join(", ")})`);
      }
      await authenticate({ username: user, password }, "PLAIN");
    },
  });
  const errors: unknown[] = [];
  xmpp.on("error", (err: unknown) => errors.push(err));
  // Runs before the stream-features middleware sees the element.
  xmpp.prependListener("element", (el: Element) => {
    if (el.is("features", NS_STREAM)) el.remove("sm", NS_SM);
  });
  xmpp.on("online", () => {
    xmpp.send(xml("presence")).catch((err: unknown) => errors.push(err));
  });
  const log = stanzaLog(xmpp, errors);

  const jid = await startOrShutdown(xmpp, timeoutMs, `${user}@${server.domain} logging in to ${server.name}`, opts.reconnect, () =>
    // The server handles a session's stanzas in order: once the ping is answered, the presence is in.
    xmpp.iqCaller.request(xml("iq", { type: "get", to: server.domain }, xml("ping", { xmlns: NS_PING })), timeoutMs),
  );
  return { ...handle(xmpp, log, timeoutMs), user, jid: jid.toString(), bareJid: jid.bare().toString() };
}

/** Connect the server's external component (XEP-0114) with its secret. */
export interface ComponentOptions {
  /** Default: the server's component secret. */
  readonly secret?: string;
  readonly timeoutMs?: number;
  /** As for clients; default true. */
  readonly reconnect?: boolean;
  /** Called with the xmpp.js entity before it connects (lets tests watch its events). */
  readonly onEntity?: (xmpp: Component) => void;
}

export async function connectComponent(server: ServerInfo, opts: ComponentOptions = {}): Promise<TestComponent> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const xmpp = component({
    service: `xmpp://${server.host}:${server.componentPort}`,
    domain: server.componentDomain,
    password: opts.secret ?? server.componentSecret,
  });
  opts.onEntity?.(xmpp);
  const errors: unknown[] = [];
  xmpp.on("error", (err: unknown) => errors.push(err));
  const log = stanzaLog(xmpp, errors);
  await startOrShutdown(xmpp, timeoutMs, `component ${server.componentDomain} handshake with ${server.name}`, opts.reconnect);
  return { ...handle(xmpp, log, timeoutMs), jid: server.componentDomain };
}

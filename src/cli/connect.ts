/**
 * An @xmpp/client connection set up the way the MLS plugin expects, shared by the chat CLI, the
 * demo (scripts/demo.ts) and the gateway bench (bench/gateway.ts):
 *
 * - initial presence is sent on every `online` (xmpp.js does not send it; without it the server
 *   keeps messages for the account offline instead of delivering them to this session);
 * - `<sm/>` is removed from the stream features: xmpp.js 0.14's stream management miscounts `<a h>`
 *   and servers then drop the stream;
 * - the SASL mechanism can be forced (`sasl: "PLAIN"` cuts a loopback login from ~1 s of SCRAM
 *   PBKDF2 to a few ms; only use it where the connection is encrypted or loopback);
 * - TCP_NODELAY on the socket (see below);
 * - a first `start()` that fails stops the automatic reconnection (xmpp.js would retry every
 *   second forever).
 *
 * The caller attaches the plugin (`setupMls`) before calling `start()`, so offline messages
 * (Welcomes) delivered right after the initial presence reach it.
 * @module
 */
import { client, type Client } from "@xmpp/client";
import { UsageError } from "../errors.js";
import { splitJid } from "../xmpp/jid.js";
import { xml, type Element } from "../xmpp/xml.js";

const NS_STREAM = "http://etherx.jabber.org/streams";
const NS_SM = "urn:xmpp:sm:3";

export interface ConnectOptions {
  /** Full JID `local@domain/resource`; the resource is the MLS device id. */
  readonly jid: string;
  readonly password: string;
  /** `xmpp://host:port` or `xmpps://host:port`. Default `xmpp://<domain>:5222`. */
  readonly service?: string;
  /** Force a SASL mechanism ("PLAIN", "SCRAM-SHA-1", ...). Default: xmpp.js's choice. */
  readonly sasl?: string;
  /** Called with every error xmpp.js emits (stream errors, failed sends). Default: ignored. */
  readonly onError?: (e: unknown) => void;
}

export interface JidParts {
  readonly local: string;
  readonly domain: string;
  readonly resource: string;
}

/** Split a full JID, or throw a UsageError saying what is wrong. */
export function parseFullJid(jid: string): JidParts {
  const p = splitJid(jid);
  if (p === undefined || p.local === undefined || p.resource === undefined) {
    throw new UsageError("bad_jid", `"${jid}" is not a full JID local@domain/resource`);
  }
  return { local: p.local, domain: p.domain, resource: p.resource };
}

/** Create (not start) the client. */
export function createXmppClient(o: ConnectOptions): Client {
  const { local, domain, resource } = parseFullJid(o.jid);
  const service = o.service ?? `xmpp://${domain}:5222`;
  if (!/^xmpps?:\/\/[^/]+$/.test(service)) throw new UsageError("bad_service", `"${service}" is not xmpp://host[:port] or xmpps://host[:port]`);
  const forced = o.sasl;
  const xmpp = client({
    service,
    domain,
    resource,
    // Without a forced mechanism xmpp.js chooses (never PLAIN on an unencrypted connection).
    ...(forced === undefined
      ? { username: local, password: o.password }
      : {
          credentials: async (authenticate, mechanisms) => {
            if (!mechanisms.includes(forced)) {
              throw new UsageError("sasl_unavailable", `the server does not offer SASL ${forced} here (offered: ${mechanisms.join(", ")})`);
            }
            await authenticate({ username: local, password: o.password }, forced);
          },
        }),
  });
  xmpp.on("error", (e: unknown) => o.onError?.(e));
  // Runs before the stream-features middleware sees the element.
  xmpp.prependListener("element", (el: Element) => {
    if (el.is("features", NS_STREAM)) el.remove("sm", NS_SM);
  });
  // Stanzas are small and interactive: do not let Nagle's algorithm hold one back until the
  // previous one is acknowledged (with delayed ACKs that costs ~40 ms per back-to-back stanza).
  xmpp.on("connect", () => (xmpp as unknown as { socket?: { setNoDelay?: (on: boolean) => void } }).socket?.setNoDelay?.(true));
  xmpp.on("online", () => {
    xmpp.send(xml("presence")).catch((e: unknown) => o.onError?.(e));
  });
  return xmpp;
}

/** Start the client; on failure stop reconnecting and close, then rethrow. */
export async function startXmppClient(xmpp: Client, timeoutMs = 20_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      xmpp.start(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no connection after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (e) {
    await stopXmppClient(xmpp);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** Close the stream without reconnecting; never throws. */
export async function stopXmppClient(xmpp: Client, timeoutMs = 3000): Promise<void> {
  xmpp.reconnect.stop();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([xmpp.stop(), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  } catch {
    // The socket is gone either way.
  } finally {
    clearTimeout(timer);
  }
}

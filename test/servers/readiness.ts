/**
 * "Ready" means the server speaks XMPP, not merely that a port is open: Prosody opens c2s before the
 * component port, and ejabberd accepts TCP before its modules are up (notes §1). So the probes send
 * a real stream header and wait for the answer:
 * - c2s (RFC 6120 §4.2): `<stream:features>` must arrive;
 * - component (XEP-0114): the server must answer with its own `<stream:stream ... id=...>` header.
 */
import { connect } from "node:net";

const NS_STREAM = "http://etherx.jabber.org/streams";

export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
}

/** One attempt: resolves with the bytes received, rejects on refusal, close or timeout. */
function probeOnce(t: ProbeTarget, header: string, done: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: t.host, port: t.port });
    let buf = "";
    const finish = (err: Error | undefined): void => {
      clearTimeout(timer);
      sock.removeAllListeners();
      sock.on("error", () => {});
      sock.destroy();
      if (err) reject(err);
      else resolve(buf);
    };
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    sock.setEncoding("utf8");
    sock.on("connect", () => sock.write(header));
    sock.on("data", (chunk: string) => {
      buf += chunk;
      if (done.test(buf)) finish(undefined);
    });
    sock.on("error", (err) => finish(err));
    sock.on("close", () => finish(new Error(`connection closed after ${JSON.stringify(buf.slice(0, 200))}`)));
  });
}

export function c2sHeader(domain: string): string {
  return `<?xml version='1.0'?><stream:stream to='${domain}' version='1.0' xml:lang='en' xmlns='jabber:client' xmlns:stream='${NS_STREAM}'>`;
}

export function componentHeader(componentDomain: string): string {
  return `<?xml version='1.0'?><stream:stream to='${componentDomain}' xmlns='jabber:component:accept' xmlns:stream='${NS_STREAM}'>`;
}

/** Matches a complete features element, either `<stream:features>...</stream:features>` or empty. */
const FEATURES_DONE = /<\/stream:features>|<stream:features\s*\/>/;
/** The server's component stream header carries the id used for the handshake. */
const COMPONENT_DONE = /<stream:stream\b[^>]*\bid=['"][^'"]+['"][^>]*>/;

export function probeC2s(t: ProbeTarget, domain: string, timeoutMs = 2000): Promise<string> {
  return probeOnce(t, c2sHeader(domain), FEATURES_DONE, timeoutMs);
}

export function probeComponent(t: ProbeTarget, componentDomain: string, timeoutMs = 2000): Promise<string> {
  return probeOnce(t, componentHeader(componentDomain), COMPONENT_DONE, timeoutMs);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Retry `probe` every `intervalMs` until it succeeds, `deadline` (epoch ms) passes, or `abort()`
 * returns a reason to stop (the server process died). Rejects with the last probe error.
 */
export async function retryUntil<T>(
  probe: () => Promise<T>,
  deadline: number,
  abort: () => string | undefined,
  intervalMs = 50,
): Promise<T> {
  let last: unknown;
  for (;;) {
    const why = abort();
    if (why !== undefined) throw new Error(why);
    try {
      return await probe();
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out; last attempt: ${last instanceof Error ? last.message : String(last)}`);
    }
    await sleep(intervalMs);
  }
}

/**
 * The gateway's own TCP connection to the server: TCP_NODELAY is set on every (re)connect. The
 * component writes stanzas back to back (a verdict, then the reflected handshake); with Nagle's
 * algorithm the second waits for the server's delayed ACK (~40 ms), which made building a room of
 * 50 members take ~5 s instead of ~1 s in `npm run bench:gateway`.
 */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/component/config.js";
import { startGateway } from "../../src/component/gateway.js";
import { silentLogger } from "../../src/component/log.js";
import type { Element } from "../../src/xmpp/xml.js";

class FakeComponent extends EventEmitter {
  readonly noDelay: boolean[] = [];
  socket: { setNoDelay(v: boolean): void } | null = null;
  readonly middleware = { use: (): void => {} };
  readonly iqCallee = { get: (): void => {}, set: (): void => {} };
  readonly iqCaller = { request: (): Promise<Element> => Promise.reject(new Error("offline")) };
  readonly reconnect = { stop: (): void => {} };
  send(): Promise<void> {
    return Promise.resolve();
  }
  /** A new socket per connection, as xmpp.js attaches one before emitting "connect". */
  connect(): void {
    this.socket = { setNoDelay: (v: boolean) => void this.noDelay.push(v) };
    this.emit("connect");
  }
  async start(): Promise<void> {
    this.connect();
  }
  async stop(): Promise<void> {}
}

const config = parseConfig({ service: "xmpp://localhost:5347", domain: "mls.example.org", secret: "s3cret-s3cret-s3cret", mucServices: ["conference.example.org"], database: ":memory:" });

describe("gateway connection", () => {
  it("sets TCP_NODELAY on the component socket at connect and again on every reconnect", async () => {
    const entity = new FakeComponent();
    const gw = await startGateway(config, { logger: silentLogger, entity: entity as never });
    try {
      expect(entity.noDelay).toEqual([true]);
      entity.connect(); // a reconnect
      expect(entity.noDelay).toEqual([true, true]);
    } finally {
      await gw.stop();
    }
  });

  it("a connect without a socket (some transports) is harmless", async () => {
    const entity = new FakeComponent();
    entity.start = async () => void entity.emit("connect");
    const gw = await startGateway(config, { logger: silentLogger, entity: entity as never });
    await gw.stop();
    expect(entity.noDelay).toEqual([]);
  });
});

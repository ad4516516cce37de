/**
 * Devices for the demo and the bench: an xmpp.js client (src/cli/connect.ts) with the MLS plugin
 * attached before it connects, and a log of the plugin's events that can be waited on.
 * @module
 */
import type { Client } from "@xmpp/client";
import { setupMls, type MlsClient, type MlsPluginOptions } from "../../src/client/index.js";
import type { MlsEvents } from "../../src/client/events.js";
import { MemoryStore } from "../../src/client/store/client-store.js";
import { createXmppClient, startXmppClient, stopXmppClient } from "../../src/cli/connect.js";
import type { Element } from "../../src/xmpp/xml.js";
import type { Cleanup } from "./stack.js";

type EventName = keyof MlsEvents;
type EventOf<K extends EventName> = MlsEvents[K] extends [infer A] ? A : undefined;

export interface DeviceOptions {
  readonly user: string;
  readonly device: string;
  readonly domain: string;
  readonly password: string;
  /** xmpp://host:port of the c2s listener. */
  readonly service: string;
  readonly plugin?: Partial<MlsPluginOptions>;
}

export class Device {
  readonly name: string;
  readonly bareJid: string;
  readonly xmpp: Client;
  readonly mls: MlsClient;
  readonly store = new MemoryStore();
  readonly #events = new Map<EventName, unknown[]>();
  readonly #stanzaListeners = new Set<(el: Element) => void>();
  #online = false;

  constructor(o: DeviceOptions) {
    this.name = `${o.user}/${o.device}`;
    this.bareJid = `${o.user}@${o.domain}`;
    this.xmpp = createXmppClient({ jid: `${this.bareJid}/${o.device}`, password: o.password, service: o.service, sasl: "PLAIN" });
    this.mls = setupMls(this.xmpp, {
      store: this.store,
      keyPackagePoolSize: 3,
      keyPackageLowWater: 1,
      proposalCommitDelayMs: { min: 0, max: 50 },
      retryBaseDelayMs: 20,
      requestTimeoutMs: 15_000,
      ...o.plugin,
    });
    for (const ev of ["message", "membership", "verification-code", "joined", "removed", "error"] as const) {
      (this.mls as unknown as { on(e: string, f: (x: unknown) => void): void }).on(ev, (x) => {
        let list = this.#events.get(ev);
        if (list === undefined) this.#events.set(ev, (list = []));
        list.push(x);
      });
    }
    this.xmpp.on("stanza", (el: Element) => {
      for (const f of this.#stanzaListeners) f(el);
    });
  }

  get online(): boolean {
    return this.#online;
  }

  /** Connect and wait until the plugin is ready (device identity, KeyPackages, rooms caught up). */
  async start(): Promise<void> {
    const ready = this.mls.ready();
    await startXmppClient(this.xmpp);
    await ready;
    this.#online = true;
  }

  /** Close the connection; the plugin stays attached (state is kept in the MemoryStore). */
  async goOffline(): Promise<void> {
    this.#online = false;
    await stopXmppClient(this.xmpp);
  }

  /** Detach the plugin and close the connection. */
  async stop(): Promise<void> {
    this.#online = false;
    await this.mls.stop().catch(() => {});
    await stopXmppClient(this.xmpp);
  }

  events<K extends EventName>(ev: K): EventOf<K>[] {
    return (this.#events.get(ev) ?? []) as EventOf<K>[];
  }

  /** Errors the plugin reported, as text. */
  errors(): string[] {
    return this.events("error").map((e) => `${e.context}: ${e.error instanceof Error ? e.error.message : String(e.error)}`);
  }

  /** The first recorded (or future) event matching `pred`. */
  async waitFor<K extends EventName>(ev: K, pred: (x: EventOf<K>) => boolean, what: string, timeoutMs = 15_000): Promise<EventOf<K>> {
    const t0 = Date.now();
    for (;;) {
      const hit = this.events(ev).find(pred);
      if (hit !== undefined) return hit;
      if (Date.now() - t0 > timeoutMs) {
        const errs = this.errors();
        throw new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what}${errs.length > 0 ? `; plugin errors: ${errs.join("; ")}` : ""}`);
      }
      await sleep(20);
    }
  }

  /** Call `f` for every stanza received from now on; returns a function that stops it. */
  onStanza(f: (el: Element) => void): () => void {
    this.#stanzaListeners.add(f);
    return () => this.#stanzaListeners.delete(f);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Create and start devices in parallel; each is registered with `cleanup`. */
export async function startDevices(list: readonly DeviceOptions[], cleanup: Cleanup): Promise<Device[]> {
  const devices = list.map((o) => new Device(o));
  for (const d of devices) cleanup.add(d.name, () => d.stop());
  await Promise.all(devices.map((d) => d.start()));
  return devices;
}

/** Wait until every device is at `epoch` or later in `room`. */
export async function converge(devices: readonly Device[], room: string, epoch: bigint, timeoutMs = 15_000): Promise<void> {
  const t0 = Date.now();
  while (devices.some((d) => d.mls.epoch(room) < epoch)) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`epochs ${devices.map((d) => `${d.name}=${d.mls.epoch(room)}`).join(", ")}, expected ${epoch}`);
    await sleep(20);
  }
}

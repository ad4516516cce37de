/**
 * Shared machinery of the acceptance tests (test/integration/acceptance-*.test.ts): real Prosody /
 * ejabberd from the integration global setup, a Delivery Service gateway per scenario (fresh
 * SQLite database, so KeyPackages and devices of one scenario never leak into another), and
 * client devices (xmpp.js connection + the MLS plugin) whose DS requests are recorded and can be
 * held back (to force two Commits into the same epoch).
 *
 *   const h = scenario(server);             // registers afterAll(h.close)
 *   beforeAll(() => h.startGateway());
 *   const alice = await h.device("alice", "laptop");
 *   await alice.mls.createRoom(room);
 *   ...
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { IqCaller } from "@xmpp/client";
import { afterAll, expect } from "vitest";
import { mls, type ClientStore, type InviteResult, type MlsClient, type MlsPluginOptions } from "../../../src/client/index.js";
import type { MlsEvents } from "../../../src/client/events.js";
import { MemoryStore } from "../../../src/client/store/client-store.js";
import { xmppAuthenticationService } from "../../../src/client/device.js";
import { parseConfig, type GatewayConfig } from "../../../src/component/config.js";
import { startGateway, type Gateway, type GatewayOptions } from "../../../src/component/gateway.js";
import { createLogger } from "../../../src/component/log.js";
import { nativeProvider } from "../../../src/crypto/native/index.js";
import { groupConfig } from "../../../src/mls/group/group-config.js";
import type { GroupState } from "../../../src/mls/group/group-state.js";
import { loadGroupState } from "../../../src/mls/group/persistence.js";
import { fromErrorElement, type XmppProtocolError } from "../../../src/xmpp/errors.js";
import { NS_MLS } from "../../../src/xmpp/ns.js";
import { parseAccepted } from "../../../src/xmpp/submit-stanzas.js";
import type { Element } from "../../../src/xmpp/xml.js";
import { connectClient, type TestClient } from "../../servers/client.js";
import type { ServerInfo } from "../../servers/types.js";

export const QUIET = process.env.XMPP_MLS_TEST_LOG === undefined;

export type Events = { [K in keyof MlsEvents]?: MlsEvents[K][0][] };

/** One request this device sent to the DS, and what came back. */
export interface DsRequest {
  /** Local name of the payload: submit, claim, log, pubsub, ... */
  readonly name: string;
  readonly stanza: Element;
  readonly sentAt: number;
  /** For submits: the 'epoch' attribute and the base64 commit text (if any). */
  readonly epoch?: bigint;
  readonly commit?: string;
  result?: Element;
  error?: XmppProtocolError | Error;
  /** For accepted submits. */
  accepted?: { seq: number; epoch: bigint };
  settledAt?: number;
}

/** Called before a `<submit/>` goes out; the request waits for the returned promise. */
export type SubmitGate = (req: DsRequest) => Promise<void> | void;

export interface Dev {
  readonly name: string;
  readonly user: string;
  readonly resource: string;
  readonly xmpp: TestClient;
  readonly mls: MlsClient;
  readonly store: MemoryStore;
  readonly events: Events;
  /** Every iq this device's plugin sent to the DS, oldest first. */
  readonly requests: DsRequest[];
  /** Held submits: set to a gate, cleared by the test. */
  gate: SubmitGate | null;
  /** Notified when a submit is about to be sent (after the gate). */
  onSubmit: ((req: DsRequest) => void) | null;
  /** Called with each submit's result before the plugin sees it; throwing replaces the result (a lost verdict). */
  afterVerdict: ((req: DsRequest) => Promise<void> | void) | null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function testOptions(store: ClientStore, extra: Partial<MlsPluginOptions> = {}): MlsPluginOptions {
  return {
    store,
    keyPackagePoolSize: 3,
    keyPackageLowWater: 1,
    proposalCommitDelayMs: { min: 0, max: 100 },
    retryBaseDelayMs: 20,
    requestTimeoutMs: 10_000,
    ...(QUIET ? {} : { logger: { debug: console.debug, info: console.info, warn: console.warn, error: console.error } }),
    ...extra,
  };
}

/** The iq caller the plugin gets: records DS requests and lets tests hold submits. */
function recordingCaller(real: IqCaller, ds: () => string | undefined, dev: () => Dev): IqCaller {
  const request = async (stanza: Element, timeoutMs?: number): Promise<Element> => {
    const to = stanza.attrs.to;
    const payload = stanza.getChildElements()[0];
    if (to === undefined || to !== ds() || payload === undefined) return real.request(stanza, timeoutMs);
    const d = dev();
    const submit = payload.is("submit", NS_MLS) ? payload : undefined;
    const req: DsRequest = {
      name: payload.getName(),
      stanza,
      sentAt: Date.now(),
      ...(submit !== undefined && { epoch: BigInt(submit.attrs.epoch ?? "-1") }),
      ...(submit?.getChild("commit") !== undefined && { commit: submit.getChildText("commit") ?? "" }),
    };
    if (submit !== undefined && d.gate !== null) await d.gate(req);
    d.requests.push(req);
    if (submit !== undefined) d.onSubmit?.(req);
    try {
      const res = await real.request(stanza, timeoutMs);
      if (submit !== undefined) await d.afterVerdict?.(req);
      req.result = res;
      const acc = res.getChild("accepted", NS_MLS);
      if (acc !== undefined) req.accepted = parseAccepted(acc);
      return res;
    } catch (e) {
      const el = (e as { element?: Element }).element;
      req.error = el !== undefined ? fromErrorElement(el) : (e as Error);
      throw e;
    } finally {
      req.settledAt = Date.now();
    }
  };
  return { request, get: real.get.bind(real), set: real.set.bind(real) };
}

/** Record every plugin event of `d` into `d.events`. */
export function record(d: Pick<Dev, "mls" | "events">): void {
  for (const ev of ["message", "membership", "verification-code", "joined", "removed", "error"] as const) {
    (d.mls as unknown as { on(e: string, f: (x: unknown) => void): void }).on(ev, (x) => {
      ((d.events[ev] ??= []) as unknown[]).push(x);
    });
  }
}

/** Wait until `pred` holds for a recorded event (already recorded or arriving). */
export async function waitEvent<K extends keyof MlsEvents>(d: Pick<Dev, "name" | "events">, ev: K, pred: (x: MlsEvents[K][0]) => boolean, what: string, timeoutMs = 15_000): Promise<MlsEvents[K][0]> {
  const t0 = Date.now();
  for (;;) {
    const hit = ((d.events[ev] ?? []) as MlsEvents[K][0][]).find(pred);
    if (hit !== undefined) return hit;
    if (Date.now() - t0 > timeoutMs) {
      const errs = (d.events.error ?? []).map((e) => `${e.context}: ${String(e.error)}`).join("\n");
      throw new Error(`${d.name}: timed out waiting for ${what}${errs ? `\nerrors:\n${errs}` : ""}`);
    }
    await sleep(20);
  }
}

/** Wait until no device's epoch in `room` is `behind` (the error names every device's epoch and `epoch`). */
async function waitEpochs(devices: readonly Pick<Dev, "name" | "mls">[], room: string, epoch: bigint, behind: (e: bigint) => boolean, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (devices.some((d) => behind(d.mls.epoch(room)))) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`epochs ${devices.map((d) => `${d.name}=${d.mls.epoch(room)}`).join(", ")}, expected ${epoch}`);
    await sleep(20);
  }
}

/** Wait until every device is at `epoch` in `room`. */
export function converge(devices: readonly Pick<Dev, "name" | "mls">[], room: string, epoch: bigint, timeoutMs = 15_000): Promise<void> {
  return waitEpochs(devices, room, epoch, (e) => e !== epoch, timeoutMs);
}

/** Wait until every device is at `epoch` or later in `room` (reflections arrive asynchronously). */
export function convergeAtLeast(devices: readonly Pick<Dev, "name" | "mls">[], room: string, epoch: bigint, timeoutMs = 15_000): Promise<void> {
  return waitEpochs(devices, room, epoch, (e) => e < epoch, timeoutMs);
}

/** Poll `fn` until it returns a value that is not undefined/false. */
export async function poll<T>(fn: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 15_000, everyMs = 25): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Errors a device reported (optionally only those of one room), as strings. */
export function errorsOf(d: Pick<Dev, "events">, room?: string): string[] {
  return (d.events.error ?? []).filter((e) => room === undefined || e.room === room).map((e) => `${e.context}: ${String(e.error)}`);
}

/** Decode the group state a device persisted for `groupHex` (its "last saved group state"). */
export function loadSavedState(bytes: Uint8Array): GroupState {
  return loadGroupState(bytes, { provider: nativeProvider, config: groupConfig({ authenticationService: xmppAuthenticationService(), handshakeWireFormat: "public" }) });
}

/** The group state blob `d` saved for `group` (hex id), once it is at `epoch` (polls `d`'s store). */
export function savedStateAt(d: Pick<Dev, "user" | "store">, group: string, epoch: bigint): Promise<Uint8Array> {
  return poll(async () => {
    const blob = (await copyStore(d.store)).get(`group/${group}`);
    return blob !== undefined && loadSavedState(blob).epoch === epoch ? blob : undefined;
  }, `${d.user}'s saved state at epoch ${epoch}`);
}

/** A copy of every blob in a MemoryStore. */
export async function copyStore(store: MemoryStore): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const n of store.names()) {
    const v = await store.get(n);
    if (v !== null) out.set(n, v);
  }
  return out;
}

/** The `<error/>` of a failed request as our typed error (fails the test if it succeeded). */
export async function stanzaError(p: Promise<unknown>): Promise<XmppProtocolError> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  const el = (err as { element?: Element } | undefined)?.element;
  expect(el, `the request should have failed with a stanza error, got ${String(err)}`).toBeDefined();
  return fromErrorElement(el!);
}

/** The first child element of an iq result (fails the test if there is none). */
export function firstChild(res: Element): Element {
  const c = res.getChildElements()[0];
  expect(c).toBeDefined();
  return c!;
}

// ------------------------------------------------------------------------------------------ store

export interface StoreSnapshot {
  readonly groups: unknown[];
  readonly groupInfo: unknown[];
  readonly log: { group: string; seq: number; epoch: number; kind: string; sender: string; bytes: string }[];
  readonly welcomeRoutes: unknown[];
  readonly keyPackages: unknown[];
  readonly externalSenders: unknown[];
}

/** Everything durable in the DS's SQLite database, read through a separate read-only connection. */
export function snapshotStore(dbPath: string): StoreSnapshot {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const all = (sql: string): Record<string, unknown>[] => db.prepare(sql).all() as Record<string, unknown>[];
    return {
      groups: all("SELECT group_id, room_jid, epoch, next_seq, handshake_wire_format FROM groups ORDER BY group_id"),
      groupInfo: all("SELECT group_id, epoch, hex(bytes) AS bytes FROM group_info ORDER BY group_id"),
      log: all("SELECT group_id AS 'group', seq, epoch, kind, sender, hex(bytes) AS bytes FROM group_log ORDER BY group_id, seq") as StoreSnapshot["log"],
      welcomeRoutes: all("SELECT group_id, commit_seq, welcome_seq, recipient_jid, key_package_ref FROM welcome_routes ORDER BY group_id, commit_seq, recipient_jid"),
      keyPackages: all("SELECT ref, owner, device_id, cipher_suite, last_resort, hex(bytes) AS bytes FROM key_packages ORDER BY ref"),
      externalSenders: all("SELECT group_id, hex(bytes) AS bytes, ds_index FROM external_senders ORDER BY group_id"),
    };
  } finally {
    db.close();
  }
}

// ------------------------------------------------------------------------------------------ files

/** Every regular file under `dir` (recursively). */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (st === undefined) continue;
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** For each needle, the files (of `files`) whose bytes contain it. */
export function grepFiles(files: readonly string[], needles: readonly string[]): Map<string, string[]> {
  const hits = new Map<string, string[]>(needles.map((n) => [n, []]));
  for (const f of files) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(f);
    } catch {
      continue; // removed meanwhile (temporary files)
    }
    for (const n of needles) if (bytes.includes(Buffer.from(n, "utf8"))) hits.get(n)!.push(f);
  }
  return hits;
}

// ------------------------------------------------------------------------------------------ scenario

/** The DS gateway's configuration on `server`: its XEP-0114 component and MUC service, database at `database`. */
export function gatewayConfig(server: ServerInfo, database: string, extra: Record<string, unknown> = {}): GatewayConfig {
  return parseConfig({
    service: `xmpp://${server.host}:${server.componentPort}`,
    domain: server.componentDomain,
    secret: server.componentSecret,
    database,
    mucServices: [server.mucDomain],
    ...extra,
  });
}

export interface Scenario {
  readonly server: ServerInfo;
  readonly dir: string;
  readonly dbPath: string;
  readonly gatewayLog: string[];
  readonly devices: Dev[];
  gateway: Gateway | null;
  startGateway(extra?: Partial<GatewayOptions>, configExtra?: Record<string, unknown>): Promise<Gateway>;
  stopGateway(): Promise<void>;
  device(user: string, resource: string, extra?: Partial<MlsPluginOptions>): Promise<Dev>;
  /** A plain xmpp.js connection (no plugin), stopped by close(). */
  client(user: string, resource: string): Promise<TestClient>;
  /** Drop the connection; the plugin stays attached. */
  offline(d: Dev): Promise<void>;
  /** Reconnect and wait until the plugin has caught up. */
  online(d: Dev): Promise<void>;
  /** Stop every device, client and the gateway, remove the directory. Idempotent (also runs in afterAll). */
  close(): Promise<void>;
}

/** A scenario on `server`; closes itself in afterAll. */
export function scenario(server: ServerInfo): Scenario {
  const dir = mkdtempSync(join(tmpdir(), "xmpp-mls-acceptance-"));
  const devices: Dev[] = [];
  const clients: TestClient[] = [];
  const gatewayLog: string[] = [];
  const s: Scenario = {
    server,
    dir,
    dbPath: join(dir, "ds.sqlite"),
    gatewayLog,
    devices,
    gateway: null,
    async startGateway(extra = {}, configExtra = {}) {
      const config = gatewayConfig(server, s.dbPath, configExtra);
      s.gateway = await startGateway(config, { logger: createLogger({ level: QUIET ? "info" : "debug", sink: (l) => void gatewayLog.push(l) }), ...extra });
      return s.gateway;
    },
    async stopGateway() {
      const g = s.gateway;
      s.gateway = null;
      await g?.stop();
    },
    async device(user, resource, extra = {}) {
      const xmpp = await connectClient(server, user, resource);
      const store = new MemoryStore();
      let self: Dev | undefined;
      const caller = recordingCaller(xmpp.xmpp.iqCaller, () => server.componentDomain, () => self!);
      const m = mls({ entity: xmpp.xmpp, middleware: xmpp.xmpp.middleware, iqCaller: caller, iqCallee: xmpp.xmpp.iqCallee }, testOptions(store, extra));
      self = { name: `${user}/${resource}`, user, resource, xmpp, mls: m, store, events: {}, requests: [], gate: null, onSubmit: null, afterVerdict: null };
      record(self);
      devices.push(self);
      await m.ready();
      return self;
    },
    async client(user, resource) {
      const c = await connectClient(server, user, resource);
      clients.push(c);
      return c;
    },
    async offline(d) {
      await d.xmpp.stop();
    },
    async online(d) {
      await d.xmpp.xmpp.start();
      await d.mls.ready();
    },
    async close() {
      for (const d of devices.splice(0)) {
        await d.mls.stop().catch(() => {});
        await d.xmpp.stop();
      }
      await Promise.all(clients.splice(0).map((c) => c.stop()));
      await s.stopGateway();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  afterAll(() => s.close());
  return s;
}

/** Gateway log lines at level error (a handler failed: never expected). */
export function gatewayErrors(lines: readonly string[]): string[] {
  return lines.filter((l) => (JSON.parse(l) as { level?: string }).level === "error");
}

/** alice/laptop, bob/desktop and carol/phone, connected in parallel. */
export function threeDevices(h: Pick<Scenario, "device">, extra?: Partial<MlsPluginOptions>): Promise<[Dev, Dev, Dev]> {
  return Promise.all([h.device("alice", "laptop", extra), h.device("bob", "desktop", extra), h.device("carol", "phone", extra)]);
}

/**
 * Alice-creates-the-room setup: `owner` creates `room` and invites each of `others` (one account,
 * one device each, so one Commit per invite); waits until each has joined and all are at that
 * epoch. Returns the invite results, in order.
 */
export async function roomWith(h: Pick<Scenario, "server">, room: string, owner: Dev, others: readonly Dev[]): Promise<InviteResult[]> {
  await owner.mls.createRoom(room);
  const invited: InviteResult[] = [];
  for (const d of others) invited.push(await owner.mls.invite(room, `${d.user}@${h.server.domain}`));
  for (const d of others) await waitEvent(d, "joined", (j) => j.room === room, `${d.user} joined`);
  await converge([owner, ...others], room, BigInt(others.length));
  return invited;
}

/** Start the gateway, connect alice, bob and carol (threeDevices) and put them in `room`, owned by alice (roomWith). */
export async function threeInRoom(h: Scenario, room: string): Promise<[Dev, Dev, Dev]> {
  await h.startGateway();
  const [alice, bob, carol] = await threeDevices(h);
  await roomWith(h, room, alice, [bob, carol]);
  return [alice, bob, carol];
}

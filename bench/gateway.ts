/**
 * `npm run bench:gateway`: the Delivery Service and the client plugin against a real Prosody.
 *
 * Same stack as the demo (scripts/demo/stack.ts): Prosody 0.12 on 127.0.0.6 (c2s 27222,
 * component 27347, run dir .run/bench), the DS gateway in this process (SQLite), clients with the
 * MLS plugin (native crypto). For rooms of 3 and 50 members:
 *
 * - MLS application messages: alice sends N (awaiting each send), bob receives and decrypts all;
 *   rate = N / (first send → last decrypted at bob).
 * - the same through plain Prosody, measured in the same run and the same room: N groupchat
 *   messages whose stanza is as large as the MLS one, and N messages of that size from the
 *   component (the gateway's own XEP-0114 connection) to bob's full JID.
 * - Commit round trip: alice self-updates K times (a Commit with an UpdatePath); each is timed
 *   from the `<submit/>` leaving alice to the `<accepted/>` verdict, to the DS's reflection
 *   reaching bob, and to bob having applied it. "create" is the time alice spends building the
 *   Commit before submitting it.
 *
 * Only alice and bob are online; the other members published KeyPackages, were added while
 * offline (their Welcomes wait in offline storage) and would run on other machines. So MUC
 * fan-out is to the online occupants (alice, bob, the DS) in both room sizes; what the group size
 * changes is the MLS work (tree size: UpdatePath encryption, tree hashes, Welcome size).
 * Everything, servers included, shares this machine's cores.
 */
import { performance } from "node:perf_hooks";
import type { MlsClient } from "../src/client/plugin.js";
import { NS_MLS } from "../src/xmpp/ns.js";
import { xml, type Element } from "../src/xmpp/xml.js";
import { Device, sleep } from "../scripts/demo/devices.js";
import { Cleanup, startStack, withTimeout, type Stack } from "../scripts/demo/stack.js";
import { fmtMs, fmtOps, printTable } from "./harness.js";

const DOMAIN = "bench.localhost";
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 400);
const COMMITS = Number(process.env.BENCH_COMMITS ?? 20);
const SIZES = [3, 50] as const;
const OTHERS = Array.from({ length: Math.max(...SIZES) - 2 }, (_, i) => `m${String(i + 3).padStart(2, "0")}`);

interface RoomResult {
  readonly members: number;
  readonly buildMs: number;
  readonly mlsRate: number;
  readonly plainRate: number;
  readonly componentRate: number;
  readonly mlsStanzaBytes: number;
  readonly commitStanzaBytes: number;
  readonly create: number[];
  readonly verdict: number[];
  readonly reflected: number[];
  readonly applied: number[];
}

/** Resolves when `count()` reaches `n`; the time is taken by the caller's listener. */
class Counter {
  n = 0;
  last = 0;
  #target = Infinity;
  #resolve: (() => void) | null = null;
  hit(): void {
    this.n++;
    this.last = performance.now();
    if (this.n >= this.#target) this.#resolve?.();
  }
  reset(target: number): Promise<void> {
    this.n = 0;
    this.#target = target;
    return new Promise((r) => (this.#resolve = r));
  }
}

/** Send `n` stanzas with `send`, awaiting each; resolves with messages per second until the last arrived. */
async function rate(n: number, counter: Counter, send: (i: number) => Promise<void>, what: string): Promise<number> {
  const all = counter.reset(n);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await send(i);
  await withTimeout(all, 60_000, `${what}: ${counter.n}/${n} received`);
  return (n * 1000) / (counter.last - t0);
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

const pct = (xs: readonly number[]): string => `${fmtMs(quantile(xs, 0.5))} / ${fmtMs(quantile(xs, 0.95))}`;

async function benchRoom(stack: Stack, alice: Device, bob: Device, others: readonly Device[], size: number): Promise<RoomResult> {
  const room = `bench-${size}@conference.${DOMAIN}`;
  const comp = stack.server.componentDomain;
  const t0 = performance.now();
  await alice.mls.createRoom(room);
  await alice.mls.invite(room, bob.bareJid);
  await bob.waitFor("joined", (j) => j.room === room, `bob joining ${room}`);
  for (const d of others.slice(0, size - 2)) await alice.mls.invite(room, d.bareJid);
  await waitEpoch(bob.mls, room, alice.mls.epoch(room));
  const buildMs = performance.now() - t0;
  if (alice.mls.members(room).length !== size) throw new Error(`${room} has ${alice.mls.members(room).length} members, expected ${size}`);
  process.stdout.write(`  ${size} members: room built in ${fmtMs(buildMs)} (${size - 1} invites); `);

  // Receivers: bob counts decrypted MLS messages, plain groupchat bodies and component messages.
  const mls = new Counter();
  const plain = new Counter();
  const fromComponent = new Counter();
  const onMessage = (m: { room: string; text: string | undefined }): void => {
    if (m.room === room && m.text?.startsWith("mls-") === true) mls.hit();
  };
  bob.mls.on("message", onMessage);
  const stopStanzas = bob.onStanza((el) => {
    if (!el.is("message")) return;
    const body = el.getChildText("body");
    if (body?.startsWith("plain-") === true && el.attrs.type === "groupchat") plain.hit();
    else if (body?.startsWith("comp-") === true && el.attrs.from === comp) fromComponent.hit();
  });
  // Sizes of what alice sends.
  let mlsStanzaBytes = 0;
  let commitStanzaBytes = 0;
  const onSend = (el: Element): void => {
    if (el.is("message") && el.getChild("mls", NS_MLS)?.attrs.kind === "application") mlsStanzaBytes = Buffer.byteLength(el.toString());
    const submit = el.is("iq") ? el.getChild("submit", NS_MLS) : undefined;
    if (submit !== undefined) commitStanzaBytes = Buffer.byteLength(el.toString());
  };
  alice.xmpp.on("send", onSend);

  const text = (i: number): string => `mls-${String(i).padStart(6, "0")} ${"x".repeat(100)}`;
  await rate(20, mls, (i) => alice.mls.sendText(room, text(i)).then(() => {}), "MLS warm-up");
  const mlsRate = await rate(MESSAGES, mls, (i) => alice.mls.sendText(room, text(i)).then(() => {}), "MLS messages");

  // Plain stanzas of the same size as the MLS message stanza.
  const plainStanza = (i: number, body: string): Element => xml("message", { to: room, type: "groupchat", id: `plain-${size}-${i}` }, xml("body", {}, body));
  const plainPad = Math.max(0, mlsStanzaBytes - Buffer.byteLength(plainStanza(0, "").toString()));
  const plainBody = (i: number): string => `plain-${String(i).padStart(6, "0")}-`.padEnd(plainPad, "x");
  await rate(20, plain, (i) => alice.xmpp.send(plainStanza(i, plainBody(i))), "plain warm-up");
  const plainRate = await rate(MESSAGES, plain, (i) => alice.xmpp.send(plainStanza(i, plainBody(i))), "plain groupchat");

  const bobFull = `${bob.bareJid}/desktop`;
  const compStanza = (i: number, body: string): Element => xml("message", { from: comp, to: bobFull, type: "normal", id: `comp-${size}-${i}` }, xml("body", {}, body));
  const compPad = Math.max(0, mlsStanzaBytes - Buffer.byteLength(compStanza(0, "").toString()));
  const compBody = (i: number): string => `comp-${String(i).padStart(6, "0")}-`.padEnd(compPad, "x");
  const port = stack.gateway.services.xmpp;
  await rate(20, fromComponent, (i) => port.send(compStanza(i, compBody(i))), "component warm-up");
  const componentRate = await rate(MESSAGES, fromComponent, (i) => port.send(compStanza(i, compBody(i))), "component → client");

  // Commit round trips.
  const create: number[] = [];
  const verdict: number[] = [];
  const reflected: number[] = [];
  const applied: number[] = [];
  for (let k = -2; k < COMMITS; k++) {
    const parent = alice.mls.epoch(room);
    const t: { start: number; submit?: number; id?: string; verdict?: number; reflect?: number; applied?: number } = { start: performance.now() };
    const onAliceSend = (el: Element): void => {
      if (t.submit === undefined && el.is("iq") && el.getChild("submit", NS_MLS) !== undefined) {
        t.submit = performance.now();
        t.id = el.attrs.id;
      }
    };
    const onAliceIn = (el: Element): void => {
      if (el.is("iq") && el.attrs.id === t.id && el.getChild("accepted", NS_MLS) !== undefined) t.verdict = performance.now();
    };
    const stopReflect = bob.onStanza((el) => {
      const m = el.is("message") && el.attrs.type === "groupchat" ? el.getChild("mls", NS_MLS) : undefined;
      if (m?.attrs.kind === "commit" && m.attrs.epoch === String(parent)) t.reflect ??= performance.now();
    });
    const onCode = (e: { room: string; epoch: bigint }): void => {
      if (e.room === room && e.epoch === parent + 1n) t.applied ??= performance.now();
    };
    alice.xmpp.on("send", onAliceSend);
    alice.xmpp.on("element", onAliceIn);
    bob.mls.on("verification-code", onCode);
    try {
      const epoch = await alice.mls.updateKeys(room);
      if (epoch !== parent + 1n) throw new Error(`self-update went from epoch ${parent} to ${epoch}`);
      const deadline = Date.now() + 15_000;
      while (t.applied === undefined || t.reflect === undefined) {
        if (Date.now() > deadline) throw new Error(`bob did not apply the commit of epoch ${parent}`);
        await sleep(1);
      }
    } finally {
      alice.xmpp.off("send", onAliceSend);
      alice.xmpp.off("element", onAliceIn);
      bob.mls.off("verification-code", onCode);
      stopReflect();
    }
    if (k < 0) continue; // warm-up
    if (t.submit === undefined || t.verdict === undefined) throw new Error("submit or verdict not seen");
    create.push(t.submit - t.start);
    verdict.push(t.verdict - t.submit);
    reflected.push(t.reflect! - t.submit);
    applied.push(t.applied! - t.submit);
  }
  alice.xmpp.off("send", onSend);
  bob.mls.off("message", onMessage);
  stopStanzas();
  console.log(`MLS ${fmtOps(mlsRate)}/s, plain ${fmtOps(plainRate)}/s, component ${fmtOps(componentRate)}/s, commit → bob p50 ${fmtMs(quantile(applied, 0.5))}`);
  return { members: size, buildMs, mlsRate, plainRate, componentRate, mlsStanzaBytes, commitStanzaBytes, create, verdict, reflected, applied };
}

async function waitEpoch(m: MlsClient, room: string, epoch: bigint): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (m.epoch(room) < epoch) {
    if (Date.now() > deadline) throw new Error(`stuck at epoch ${m.epoch(room)}, expected ${epoch}`);
    await sleep(5);
  }
}

async function main(cleanup: Cleanup): Promise<void> {
  const t0 = performance.now();
  console.log(`Gateway bench: ${MESSAGES} messages per kind, ${COMMITS} self-update commits, rooms of ${SIZES.join(" and ")} members`);
  const stack = await startStack(
    {
      name: "bench",
      domain: DOMAIN,
      host: "127.0.0.6",
      c2sPort: 27222,
      componentPort: 27347,
      users: ["alice", "bob", ...OTHERS],
      gatewayLogLevel: "warn",
      // The bench submits far more than a person would: lift the per-JID rate limits.
      gatewayConfig: { limits: { rateLimits: { submitPerMinute: 100_000, publishPerMinute: 100_000, claimPerMinute: 100_000 } } },
    },
    cleanup,
  );
  const service = `xmpp://${stack.server.host}:${stack.server.c2sPort}`;
  const make = (user: string, device: string): Device => {
    const d = new Device({ user, device, domain: DOMAIN, password: stack.server.password, service, plugin: { keyPackagePoolSize: 3, keyPackageLowWater: 1 } });
    cleanup.add(d.name, () => d.stop());
    return d;
  };
  const alice = make("alice", "laptop");
  const bob = make("bob", "desktop");
  const others = OTHERS.map((u) => make(u, "phone"));
  await Promise.all([alice.start(), bob.start()]);
  // The other members publish their KeyPackages, then go offline (a few at a time).
  for (let i = 0; i < others.length; i += 8) {
    const batch = others.slice(i, i + 8);
    await Promise.all(batch.map((d) => d.start()));
    await Promise.all(batch.map((d) => d.stop()));
  }
  console.log(`  setup: Prosody, gateway and ${2 + others.length} devices with KeyPackages in ${fmtMs(performance.now() - t0)}`);

  const results: RoomResult[] = [];
  for (const size of SIZES) results.push(await benchRoom(stack, alice, bob, others, size));
  const errors = [alice, bob].flatMap((d) => d.errors());
  if (errors.length > 0) throw new Error(`plugin errors: ${errors.join("; ")}`);

  console.log("");
  const col = (f: (r: RoomResult) => string): string[] => results.map(f);
  printTable(
    ["", ...results.map((r) => `${r.members} members`)],
    [
      ["MLS application messages alice → bob, decrypted (msg/s)", ...col((r) => fmtOps(r.mlsRate))],
      ["plain groupchat, same stanza size, same room (msg/s)", ...col((r) => fmtOps(r.plainRate))],
      ["component → client, same stanza size (msg/s)", ...col((r) => fmtOps(r.componentRate))],
      ["MLS overhead vs plain groupchat (×)", ...col((r) => (r.plainRate / r.mlsRate).toFixed(1))],
      ["message stanza (bytes)", ...col((r) => String(r.mlsStanzaBytes))],
      ["commit: alice builds it, p50 / p95", ...col((r) => pct(r.create))],
      ["commit: submit → accepted verdict, p50 / p95", ...col((r) => pct(r.verdict))],
      ["commit: submit → reflected to bob, p50 / p95", ...col((r) => pct(r.reflected))],
      ["commit: submit → applied by bob, p50 / p95", ...col((r) => pct(r.applied))],
      ["commit <submit/> stanza (bytes)", ...col((r) => String(r.commitStanzaBytes))],
      ["room setup: create + invites", ...col((r) => fmtMs(r.buildMs))],
    ],
  );
  console.log(
    "\nSteps of ~40 ms in the commit times are TCP delayed ACKs meeting Nagle's algorithm on Prosody's sockets when two\n" +
      "stanzas go back to back to one peer (Prosody's default; `network_settings = { nagle = false }` removes them).",
  );
  console.log(`\nTotal ${fmtMs(performance.now() - t0)}. Node ${process.version}, ${(await import("node:os")).cpus().length} cores shared by Prosody, the gateway and the clients.`);
}

const cleanup = new Cleanup();
let code = 0;
try {
  await withTimeout(main(cleanup), 300_000, "the bench");
} catch (e) {
  if (cleanup.interrupted) await new Promise(() => {});
  console.error(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  code = 1;
}
await cleanup.run();
process.exit(code);

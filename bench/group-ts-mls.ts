/**
 * The sparse scenario of group-ours.ts on ts-mls 1.6.4 (devDependency; API notes in
 * /work/shared/notes/ts-mls-peer.md), suite 1, every message through its wire encoding:
 * A creates the group, adds B, adds the other N-2 in one commit; B processes it; J (the last
 * added) joins; J self-updates (an empty commit carries a path); B processes it; A adds one,
 * removes one; J encrypts, B decrypts.
 *
 * ts-mls does not finish at 10,000 members (see the notes), so the parent runs it up to 1,000.
 * @module
 */
import { performance } from "node:perf_hooks";
import { acceptAll, createApplicationMessage, createCommit, createGroup, decodeMlsMessage, emptyPskIndex, encodeMlsMessage, joinGroup, processMessage } from "ts-mls";
import type { GroupResult } from "./group-ours.js";
import { repeat, timeOnce } from "./harness.js";
import { tsMlsCipherSuite, tsMlsKeyPackage } from "./ts-mls-setup.js";

// ts-mls's types are loose at this boundary; keep them local to this file.
/* eslint-disable @typescript-eslint/no-explicit-any */
type Any = any;

/** The figures of {@link GroupResult}; ts-mls runs only the sparse variant, so it has no fill time. */
export interface TsMlsResult extends GroupResult {
  readonly impl: "ts-mls";
  readonly variant: "sparse";
  readonly addAllMs: number;
  readonly processAddMs: number;
  readonly fillMs?: undefined;
}

const enc = new TextEncoder();

export async function runTsMls(n: number): Promise<TsMlsResult> {
  const reps = n <= 100 ? 3 : 1;
  const impl: Any = await tsMlsCipherSuite(1);
  const kp = (name: string): Promise<Any> => tsMlsKeyPackage(impl, name);
  const wire = (m: Any): Uint8Array => encodeMlsMessage(m);
  const unwire = (b: Uint8Array): Any => decodeMlsMessage(b, 0)![0];
  const welcomeWire = (w: Any): Uint8Array => encodeMlsMessage({ version: "mls10", wireformat: "mls_welcome", welcome: w } as Any);
  const addOf = (k: Any): Any => ({ proposalType: "add", add: { keyPackage: k.publicPackage } });
  const commit = (state: Any, extraProposals: Any[] = []): Promise<Any> =>
    createCommit({ state, cipherSuite: impl } as Any, { extraProposals, ratchetTreeExtension: true } as Any);
  const processCommit = async (state: Any, bytes: Uint8Array): Promise<Any> => {
    const r: Any = await processMessage(unwire(bytes), state, emptyPskIndex, acceptAll, impl);
    if (r.kind !== "newState") throw new Error(`ts-mls: expected a new state, got ${r.kind}`);
    return r.newState;
  };

  const kpT = await timeOnce(async () => {
    const out: Any[] = [];
    for (let i = 0; i < n + 1; i++) out.push(await kp(`member-${i}`));
    return out;
  });
  const [kpA, kpB, ...rest] = kpT.value as Any[];
  const kpExtra = rest.pop();
  const kpJ = rest[rest.length - 1];

  let a: Any = await createGroup(enc.encode("bench-group"), kpA.publicPackage, kpA.privatePackage, [], impl);
  const c1: Any = await commit(a, [addOf(kpB)]);
  a = c1.newState;
  let b: Any = await joinGroup(unwire(welcomeWire(c1.welcome)).welcome, kpB.publicPackage, kpB.privatePackage, emptyPskIndex, impl);

  // The adds are created from the same state each time; only the last one is used.
  const add = await repeat(reps, () => commit(a, rest.map(addOf)));
  const addBytes = wire(add.value.commit);
  const bBefore = b;
  const pa = await repeat(reps, () => processCommit(bBefore, addBytes));
  b = pa.value;
  a = add.value.newState;
  const welcomeBytes = welcomeWire(add.value.welcome);
  const jr = await repeat(reps, () => joinGroup(unwire(welcomeBytes).welcome, kpJ.publicPackage, kpJ.privatePackage, emptyPskIndex, impl));
  let j: Any = jr.value;

  const jBefore = j;
  const upd = await repeat(reps, () => commit(jBefore));
  const updBytes = wire(upd.value.commit);
  const bMid = b;
  const pu = await repeat(reps, () => processCommit(bMid, updBytes));
  b = pu.value;
  j = upd.value.newState;
  a = await processCommit(a, updBytes);

  const aNow = a;
  const addOne = await repeat(reps, () => commit(aNow, [addOf(kpExtra)]));
  const removeOne = await repeat(reps, () => commit(aNow, [{ proposalType: "remove", remove: { removed: 2 } }]));
  void addOne.value;
  void removeOne.value;

  const payload = new Uint8Array(100).fill(7);
  const budget = Number(process.env.BENCH_MSG_MS ?? 1000);
  const msgs: Uint8Array[] = [];
  const t0 = performance.now();
  let now = t0;
  do {
    const m: Any = await createApplicationMessage(j, payload, impl);
    j = m.newState;
    msgs.push(encodeMlsMessage({ version: "mls10", wireformat: "mls_private_message", privateMessage: m.privateMessage } as Any));
    now = performance.now();
  } while (now - t0 < budget);
  const encryptPerSec = (msgs.length * 1000) / (now - t0);
  const t1 = performance.now();
  for (const bytes of msgs) {
    const r: Any = await processMessage(unwire(bytes), b, emptyPskIndex, acceptAll, impl);
    if (r.kind !== "applicationMessage") throw new Error("ts-mls: expected an application message");
    b = r.newState;
  }
  const decryptPerSec = (msgs.length * 1000) / (performance.now() - t1);

  return {
    impl: "ts-mls",
    n,
    variant: "sparse",
    keyPackagesMs: kpT.ms,
    addAllMs: add.ms,
    processAddMs: pa.ms,
    joinMs: jr.ms,
    updateMs: upd.ms,
    processUpdateMs: pu.ms,
    addOneMs: addOne.ms,
    removeOneMs: removeOne.ms,
    encryptPerSec,
    decryptPerSec,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    reps,
  };
}

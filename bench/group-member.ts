/**
 * One member alone in a fresh process: what a client of an N-member group pays, with nothing
 * else in its heap (the scenario process holds every KeyPackage and several members' states).
 *
 * Input files (written by the scenario in group-ours.ts):
 *   welcome.bin   the Welcome that adds K (another member added with J)
 *   key-package.bin, key-package-keys.bin   K's KeyPackage and private keys (init | encryption | signature)
 *   commit.bin    J's self-update Commit, for the epoch K joins
 *   messages.bin  J's application messages of the next epoch (u32 length-prefixed)
 *
 * K joins, processes and merges J's Commit, decrypts J's messages, encrypts its own for a time
 * budget, then creates its own self-update Commit; the peak RSS is read at the end.
 * @module
 */
import { closeSync, openSync, readFileSync, readSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { nativeProvider } from "../src/crypto/native/index.js";
import { unsafeTestingAuthenticationService } from "../src/mls/auth/authentication-service.js";
import { decodeMlsMessage, encodeMlsMessage } from "../src/mls/framing/mls-message.js";
import { createCommit, groupConfig, joinFromWelcome, mergeStagedCommit, processMessage, protect } from "../src/mls/group/index.js";
import { decodeKeyPackage, encodeKeyPackage } from "../src/mls/messages/key-package.js";
import type { CreatedKeyPackage } from "../src/mls/messages/key-package-ops.js";
import { parallelSignatureVerifier, withWorkerPool, WorkerPool } from "../src/mls/parallel/index.js";

export interface MemberResult {
  readonly joinMs: number;
  readonly processMs: number;
  /** One message at a time (each awaited before the next). */
  readonly decryptPerSec: number;
  /** Pages of {@link PAGE} messages in flight at once (catching up: signatures verified as a batch on both threads). */
  readonly decryptPagedPerSec: number;
  readonly encryptPerSec: number;
  readonly updateMs: number;
  readonly peakRssMb: number;
}

function packList(items: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const b of items) n += 4 + b.length;
  const out = new Uint8Array(n);
  const dv = new DataView(out.buffer);
  let o = 0;
  for (const b of items) {
    dv.setUint32(o, b.length);
    out.set(b, o + 4);
    o += 4 + b.length;
  }
  return out;
}

function unpackList(bytes: Uint8Array): Uint8Array[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  for (let o = 0; o < bytes.length; ) {
    const n = dv.getUint32(o);
    out.push(bytes.subarray(o + 4, o + 4 + n));
    o += 4 + n;
  }
  return out;
}

/** Written by the scenario process for the member process. */
export function writeMemberInputs(dir: string, p: { welcome: Uint8Array; keyPackage: CreatedKeyPackage; commit: Uint8Array; messages: readonly Uint8Array[] }): void {
  const k = p.keyPackage.privateKeys;
  writeFileSync(join(dir, "welcome.bin"), p.welcome);
  writeFileSync(join(dir, "key-package.bin"), encodeKeyPackage(p.keyPackage.keyPackage));
  writeFileSync(join(dir, "key-package-keys.bin"), packList([k.initPrivateKey, k.encryptionPrivateKey, k.signaturePrivateKey]));
  writeFileSync(join(dir, "commit.bin"), p.commit);
  writeFileSync(join(dir, "messages.bin"), packList(p.messages));
}

/** Messages in flight at once when catching up (a page of the group's archive). */
export const PAGE = 100;

/** A whole input file (a Buffer is a Uint8Array: no second copy). */
const read = (dir: string, f: string): Uint8Array => readFileSync(join(dir, f));

/**
 * The messages of a u32-length-prefixed file, read a page at a time as a client fetches its
 * archive: the member never holds all of them (10,000 messages are ~3 MB).
 */
function* pagesOf(path: string, size: number): Generator<Uint8Array[]> {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(4);
    let at = 0;
    for (;;) {
      const page: Uint8Array[] = [];
      while (page.length < size && readSync(fd, head, 0, 4, at) === 4) {
        const n = head.readUInt32BE(0);
        const m = Buffer.allocUnsafeSlow(n);
        if (readSync(fd, m, 0, n, at + 4) !== n) throw new Error(`${path}: truncated message at ${at}`);
        page.push(m);
        at += 4 + n;
      }
      if (page.length === 0) return;
      yield page;
    }
  } finally {
    closeSync(fd);
  }
}

export async function runMember(dir: string): Promise<MemberResult> {
  const pool = process.env.BENCH_PARALLEL === "0" ? null : WorkerPool.shared();
  // Start the worker thread before anything is timed: a one-time cost per process (~50 ms), which
  // at N = 10 (no join batch big enough to start it) would otherwise land in the first page.
  await pool?.start();
  const cs = pool === null ? nativeProvider.suite(1) : withWorkerPool(nativeProvider.suite(1), pool);
  const config = groupConfig({
    authenticationService: unsafeTestingAuthenticationService,
    verifySignatures: pool === null ? undefined : parallelSignatureVerifier(pool),
  });
  const keyPackage = decodeKeyPackage(read(dir, "key-package.bin"));
  const [initPrivateKey, encryptionPrivateKey, signaturePrivateKey] = unpackList(read(dir, "key-package-keys.bin")) as [Uint8Array, Uint8Array, Uint8Array];
  // Inputs are read when they are needed and dropped after use, as a client receives them.
  let t0 = performance.now();
  const joined = await joinFromWelcome({
    cs,
    config,
    welcome: decodeMlsMessage(read(dir, "welcome.bin")),
    keyPackage,
    keyPackagePrivateKeys: { initPrivateKey, encryptionPrivateKey, signaturePrivateKey },
  });
  const joinMs = performance.now() - t0;

  t0 = performance.now();
  const r = await processMessage(joined.state, read(dir, "commit.bin"));
  if (r.kind !== "commit") throw new Error(`expected a commit, got ${r.kind}`);
  const processMs = performance.now() - t0;
  const state = mergeStagedCommit(joined.state, r.staged);

  // Pages of PAGE messages, alternately one at a time (each awaited) and all in flight, so that
  // both ways get the same share of the warm-up (keys are used once: each message only once).
  const one = { n: 0, ms: 0 };
  const paged = { n: 0, ms: 0 };
  let k = 0;
  for (const page of pagesOf(join(dir, "messages.bin"), PAGE)) {
    const into = k % 2 === 0 ? one : paged;
    t0 = performance.now();
    const results = [];
    if (into === one) for (const m of page) results.push(await processMessage(state, m));
    else results.push(...(await Promise.all(page.map((m) => processMessage(state, m)))));
    into.ms += performance.now() - t0;
    into.n += page.length;
    for (const a of results) if (a.kind !== "application") throw new Error(`expected an application message, got ${a.kind}`);
    k++;
  }
  const decryptPerSec = (one.n * 1000) / one.ms;
  const decryptPagedPerSec = (paged.n * 1000) / paged.ms;

  const payload = cs.randomBytes(100);
  const budget = Number(process.env.BENCH_MSG_MS ?? 1000);
  let sent = 0;
  t0 = performance.now();
  let now = t0;
  do {
    encodeMlsMessage(protect(state, payload));
    sent++;
    now = performance.now();
  } while (now - t0 < budget);
  const encryptPerSec = (sent * 1000) / (now - t0);

  t0 = performance.now();
  await createCommit(state, { groupInfo: false });
  const updateMs = performance.now() - t0;

  return { joinMs, processMs, decryptPerSec, decryptPagedPerSec, encryptPerSec, updateMs, peakRssMb: process.resourceUsage().maxRSS / 1024 };
}

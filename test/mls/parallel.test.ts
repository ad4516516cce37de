/**
 * The worker pool (src/mls/parallel): job packing, jobs run on this thread, real worker threads
 * (the worker script and what it imports are transpiled from the TypeScript sources into a
 * temporary directory, as the build would compile them), a worker that dies, batched HPKE seals
 * equal to the wrapped suite's, batch signature verification, and joining a group through
 * `GroupConfig.verifySignatures` (RFC 9420 §7.3, §12.4.3.1).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CipherSuite } from "../../src/crypto/cipher-suite.js";
import { nativeProvider } from "../../src/crypto/native/index.js";
import { portableProvider } from "../../src/crypto/portable/index.js";
import { CryptoError, ValidationError } from "../../src/errors.js";
import { unsafeTestingAuthenticationService } from "../../src/mls/auth/authentication-service.js";
import { credentialTypes, proposalTypes } from "../../src/mls/core/protocol.js";
import { decodeMlsMessage, encodeMlsMessage } from "../../src/mls/framing/mls-message.js";
import { createCommit, createGroup, groupConfig, joinFromWelcome, type GroupConfigInput } from "../../src/mls/group/index.js";
import { createKeyPackage } from "../../src/mls/messages/key-package-ops.js";
import { pack, part, runJob, sealJob, verifyJob, type SealResult, type VerifyResult } from "../../src/mls/parallel/jobs.js";
import { parallelSignatureVerifier, withWorkerPool, WORKER_RESOURCE_LIMITS, WorkerPool } from "../../src/mls/parallel/index.js";
import { toHex, utf8 } from "../../src/util/bytes.js";
import type { SignatureCheck } from "../../src/mls/tree/leaf-signature.js";
import { signatureChecks } from "../helpers/signature-checks.js";
import { transpileInto } from "../helpers/transpile-into.js";

const cs = nativeProvider.suite(1);


let tmp: string;
let workerUrl: URL;
let crashUrl: URL;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "xmpp-mls-parallel-"));
  workerUrl = pathToFileURL(transpileInto("src/mls/parallel/worker.ts", tmp));
  const crash = join(tmp, "crash.js");
  writeFileSync(crash, "throw new Error('worker failed to start');\n");
  crashUrl = pathToFileURL(crash);
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe("jobs", () => {
  it("pack/part round-trip byte strings, empty ones included", () => {
    const parts = [utf8("a"), new Uint8Array(0), utf8("bcd"), new Uint8Array(300).fill(9)];
    const p = pack(parts);
    expect(p.data.length).toBe(304);
    parts.forEach((x, i) => expect(toHex(part(p, i))).toBe(toHex(x)));
  });

  it("a verify job flags exactly the bad signatures (tampered, wrong key length)", () => {
    const checks = signatureChecks(cs, 5, new Set([1]));
    checks[3] = { ...checks[3]!, publicKey: checks[3]!.publicKey.subarray(1) };
    const r = runJob(verifyJob(1, checks)) as VerifyResult;
    expect([...r.ok]).toEqual([1, 0, 1, 0, 1]);
  });

  it("a seal job's ciphertexts open under the info; a bad key is flagged, not thrown", async () => {
    const kp = await cs.hpkeKeyPair();
    const info = utf8("info");
    const hpke = (await import("../../src/crypto/native/index.js")).nativeHpkeOps(1);
    const items = [
      { publicKey: kp.publicKey, plaintext: utf8("p0") },
      { publicKey: new Uint8Array(31), plaintext: utf8("p1") },
      { publicKey: kp.publicKey, plaintext: utf8("p2") },
    ];
    const r = runJob(sealJob(1, hpke.infoHash(info), new Uint8Array(0), items)) as SealResult;
    expect([...r.failed]).toEqual([0, 1, 0]);
    for (const i of [0, 2]) {
      const pt = await cs.hpkeOpen(kp.privateKey, part(r.out, 2 * i), info, new Uint8Array(0), part(r.out, 2 * i + 1));
      expect(toHex(pt)).toBe(toHex(items[i]!.plaintext));
    }
  });
});

describe("WorkerPool", () => {
  const verifyBatch = (pool: WorkerPool, checks: readonly SignatureCheck[], chunk: number) =>
    pool.runJobs(Math.ceil(checks.length / chunk), (j) => verifyJob(1, checks.slice(j * chunk, (j + 1) * chunk)));
  const flat = (rs: readonly unknown[]) => (rs as VerifyResult[]).flatMap((r) => [...r.ok]);

  it("size 0 runs every job on this thread, results in job order", async () => {
    const pool = new WorkerPool({ size: 0 });
    const checks = signatureChecks(cs, 10, new Set([7]));
    expect(flat(await verifyBatch(pool, checks, 3))).toEqual(checks.map((_, i) => (i === 7 ? 0 : 1)));
    expect(pool.threads).toBe(0);
    expect(pool.stats).toEqual({ here: 4, workers: 0 });
  });

  it("shares a batch between worker threads and this thread", async () => {
    const pool = new WorkerPool({ size: 2, workerUrl });
    try {
      expect(await pool.start()).toBe(2);
      const checks = signatureChecks(cs, 300, new Set([0, 150, 299]));
      const ok = flat(await verifyBatch(pool, checks, 10));
      expect(ok).toEqual(checks.map((_, i) => (i === 0 || i === 150 || i === 299 ? 0 : 1)));
      expect(pool.stats.workers).toBeGreaterThan(0);
      expect(pool.stats.here + pool.stats.workers).toBe(30);
    } finally {
      await pool.close();
    }
    expect(pool.threads).toBe(0);
  });

  it("redoes the jobs of workers that die on this thread", async () => {
    const pool = new WorkerPool({ size: 1, workerUrl: crashUrl });
    const checks = signatureChecks(cs, 40, new Set([5]));
    expect(flat(await verifyBatch(pool, checks, 4))).toEqual(checks.map((_, i) => (i === 5 ? 0 : 1)));
    expect(pool.stats.workers).toBe(0);
    expect(pool.threads).toBe(0);
  });

  it("verifyEarly: workers verify from shared memory while this thread is busy; it takes what is left", async () => {
    const pool = new WorkerPool({ size: 1, workerUrl });
    try {
      await pool.start();
      const checks = signatureChecks(cs, 400, new Set([3, 399]));
      const early = pool.verifyEarly(1, checks, 8);
      const until = Date.now() + 150;
      while (Date.now() < until); // this thread is busy elsewhere
      const ok = await early.finish();
      expect([...ok]).toEqual(checks.map((_, i) => (i === 3 || i === 399 ? 0 : 1)));
      expect(pool.stats.workers).toBeGreaterThan(0);
      expect(pool.stats.here + pool.stats.workers).toBe(50);
    } finally {
      await pool.close();
    }
  });

  it("verifyEarly: chunks of a worker that dies are verified here", async () => {
    const pool = new WorkerPool({ size: 1, workerUrl: crashUrl });
    const checks = signatureChecks(cs, 30, new Set([29]));
    const ok = await pool.verifyEarly(1, checks, 4).finish();
    expect([...ok]).toEqual(checks.map((_, i) => (i === 29 ? 0 : 1)));
    expect(pool.stats).toEqual({ here: 8, workers: 0 });
  });

  it("never keeps the process alive: a child that starts a pool, or runs a batch, exits by itself", () => {
    const poolUrl = pathToFileURL(transpileInto("src/mls/parallel/pool.ts", tmp)).href;
    const jobsUrl = pathToFileURL(join(tmp, "src/mls/parallel/jobs.js")).href;
    const run = (body: string) => {
      const script = join(tmp, `child-${Math.random().toString(36).slice(2)}.mjs`);
      writeFileSync(script, `import { WorkerPool } from ${JSON.stringify(poolUrl)};\nimport { verifyJob } from ${JSON.stringify(jobsUrl)};\nconst pool = new WorkerPool({ size: 1 });\n${body}\n`);
      return spawnSync(process.execPath, [script], { encoding: "utf8", timeout: 15_000 });
    };
    const started = run("console.log(`threads ${await pool.start()}`);");
    expect(started.signal, "killed at the timeout: the idle worker kept the process alive").toBeNull();
    expect(started.stderr).toBe("");
    expect(started.stdout.trim()).toBe("threads 1");
    expect(started.status).toBe(0);
    const batch = run("await pool.start(); const r = await pool.runJobs(4, () => verifyJob(1, [])); console.log(`jobs ${r.length} on workers ${pool.stats.workers}`);");
    expect(batch.signal).toBeNull();
    expect(batch.stdout.trim()).toMatch(/^jobs 4 on workers [1-4]$/);
    expect(batch.status).toBe(0);
  });

  it("starts workers with small heaps (WORKER_RESOURCE_LIMITS) unless told otherwise", async () => {
    // A worker that answers every job with its own heap limits, as the bytes of a verify result.
    const probe = join(tmp, "limits-probe.mjs");
    writeFileSync(
      probe,
      `import { parentPort, resourceLimits as l } from "node:worker_threads";\n` +
        `parentPort.on("message", (m) => parentPort.postMessage({ id: m.id, result: { kind: "verify", ok: Uint8Array.of(l.maxYoungGenerationSizeMb, l.maxOldGenerationSizeMb) } }));\n`,
    );
    const limitsOf = async (pool: WorkerPool) => {
      try {
        const [r] = (await pool.runJobs(2, () => verifyJob(1, []))) as VerifyResult[];
        return [...r!.ok];
      } finally {
        await pool.close();
      }
    };
    expect(WORKER_RESOURCE_LIMITS).toEqual({ maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 64 });
    expect(await limitsOf(new WorkerPool({ size: 1, workerUrl: pathToFileURL(probe) }))).toEqual([2, 64]);
    const own = new WorkerPool({ size: 1, workerUrl: pathToFileURL(probe), resourceLimits: { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 100 } });
    expect(await limitsOf(own)).toEqual([8, 100]);
  });

  it("falls back to this thread when the worker script does not exist", async () => {
    const pool = new WorkerPool({ size: 2, workerUrl: pathToFileURL(join(tmp, "missing.js")) });
    expect(await pool.start()).toBe(0);
    expect(flat(await verifyBatch(pool, signatureChecks(cs, 6), 2))).toEqual([1, 1, 1, 1, 1, 1]);
  });
});

describe("withWorkerPool (batched HPKE seals)", () => {
  let pool: WorkerPool;
  beforeAll(() => {
    pool = new WorkerPool({ size: 1, workerUrl });
  });
  afterAll(async () => {
    await pool.close();
  });

  it("a burst of seals under one info opens like the wrapped suite's; a bad key rejects the same way", async () => {
    const par = withWorkerPool(cs, pool, { minBatch: 8, chunkSize: 5 });
    expect(par.params).toBe(cs.params);
    const keys = await Promise.all(Array.from({ length: 23 }, () => cs.hpkeKeyPair()));
    const info = new Uint8Array(10_000).fill(3);
    const aad = new Uint8Array(0);
    const sealed = await Promise.all(keys.map((k, i) => par.hpkeSeal(k.publicKey, info, aad, utf8(`secret ${i}`))));
    for (let i = 0; i < keys.length; i++) {
      const pt = await cs.hpkeOpen(keys[i]!.privateKey, sealed[i]!.kemOutput, info, aad, sealed[i]!.ciphertext);
      expect(new TextDecoder().decode(pt)).toBe(`secret ${i}`);
    }
    expect(pool.stats.workers + pool.stats.here).toBe(5);
    const burst = [...keys.slice(0, 9).map((k) => k.publicKey), new Uint8Array(31)].map((pk) => par.hpkeSeal(pk, info, aad, utf8("x")));
    const settled = await Promise.allSettled(burst);
    expect(settled.slice(0, 9).every((s) => s.status === "fulfilled")).toBe(true);
    const bad = settled[9]!;
    expect(bad.status).toBe("rejected");
    const reason = (bad as PromiseRejectedResult).reason as CryptoError;
    expect(reason).toBeInstanceOf(CryptoError);
    expect(reason.code).toBe("crypto.hpke");
  });

  it("hpkeSealMany: a batch in order that opens like the wrapped suite's, across threads; a bad key rejects the same way", async () => {
    const par = withWorkerPool(cs, pool, { minBatch: 8, chunkSize: 5 });
    const keys = await Promise.all(Array.from({ length: 23 }, () => cs.hpkeKeyPair()));
    const info = new Uint8Array(300).fill(7);
    const aad = utf8("aad");
    const before = { ...pool.stats };
    const sealed = await par.hpkeSealMany!(info, aad, keys.map((k, i) => ({ publicKey: k.publicKey, plaintext: utf8(`secret ${i}`) })));
    expect(sealed).toHaveLength(23);
    for (let i = 0; i < keys.length; i++) {
      const pt = await cs.hpkeOpen(keys[i]!.privateKey, sealed[i]!.kemOutput, info, aad, sealed[i]!.ciphertext);
      expect(new TextDecoder().decode(pt)).toBe(`secret ${i}`);
    }
    expect(pool.stats.workers + pool.stats.here - before.workers - before.here).toBe(5); // 23 seals in jobs of 5
    const items = [...keys.slice(0, 9).map((k) => ({ publicKey: k.publicKey, plaintext: utf8("x") })), { publicKey: new Uint8Array(31), plaintext: utf8("x") }];
    const e = await par.hpkeSealMany!(info, aad, items).then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(CryptoError);
    expect((e as CryptoError).code).toBe("crypto.hpke");
    // Below minBatch: the wrapped suite's own seals, nothing on the pool.
    const mid = { ...pool.stats };
    const few = await par.hpkeSealMany!(info, aad, keys.slice(0, 3).map((k) => ({ publicKey: k.publicKey, plaintext: utf8("y") })));
    expect(new TextDecoder().decode(await cs.hpkeOpen(keys[2]!.privateKey, few[2]!.kemOutput, info, aad, few[2]!.ciphertext))).toBe("y");
    expect(pool.stats).toEqual(mid);
  });

  it("small bursts stay on this thread; other providers' suites are returned unchanged", async () => {
    const par = withWorkerPool(cs, pool, { minBatch: 64 });
    const before = { ...pool.stats };
    const k = await cs.hpkeKeyPair();
    const s = await par.hpkeSeal(k.publicKey, utf8("i"), new Uint8Array(0), utf8("pt"));
    expect(toHex(await cs.hpkeOpen(k.privateKey, s.kemOutput, utf8("i"), new Uint8Array(0), s.ciphertext))).toBe(toHex(utf8("pt")));
    expect(pool.stats).toEqual(before);
    const portable = portableProvider.suite(1);
    expect(withWorkerPool(portable, pool)).toBe(portable);
  });
});

describe("parallelSignatureVerifier and GroupConfig.verifySignatures", () => {
  let pool: WorkerPool;
  beforeAll(() => {
    pool = new WorkerPool({ size: 1, workerUrl });
  });
  afterAll(async () => {
    await pool.close();
  });

  it("reports one boolean per check, in order; portable suites are verified here", async () => {
    const verify = parallelSignatureVerifier(pool, { minBatch: 4, chunkSize: 3 });
    const checks = signatureChecks(cs, 11, new Set([2, 10]));
    expect(await verify(cs, checks)).toEqual(checks.map((_, i) => i !== 2 && i !== 10));
    const portable = portableProvider.suite(1);
    expect(await verify(portable, checks.slice(0, 3))).toEqual([true, true, false]);
  });

  it("the calling thread helps only once the result is awaited", async () => {
    const verify = parallelSignatureVerifier(pool, { minBatch: 1, chunkSize: 2 });
    await pool.start();
    const before = { ...pool.stats };
    const checks = signatureChecks(cs, 40, new Set([39]));
    const pending = verify(cs, checks);
    await new Promise((r) => setTimeout(r, 300)); // the worker alone
    expect(pool.stats.here).toBe(before.here);
    expect(pool.stats.workers - before.workers).toBe(20);
    expect(await pending).toEqual(checks.map((_, i) => i !== 39));
    expect(pool.stats.here).toBe(before.here);
  });

  async function joinWith(p: { cs: CipherSuite; verifySignatures: GroupConfigInput["verifySignatures"] }) {
    const config = groupConfig({ authenticationService: unsafeTestingAuthenticationService });
    const kp = (name: string) => createKeyPackage({ cs: p.cs, credential: { credentialType: credentialTypes.basic, identity: utf8(name) } });
    const [a, ...others] = await Promise.all(["a", "b", "c", "d", "e"].map(kp));
    const state = await createGroup({ cs: p.cs, config, leaf: { keyPackage: a!.keyPackage, privateKeys: a!.privateKeys } });
    const created = await createCommit(state, { proposals: others.map((k) => ({ proposalType: proposalTypes.add, add: { keyPackage: k.keyPackage } })) });
    const joiner = others[3]!;
    return joinFromWelcome({
      cs: p.cs,
      config: groupConfig({ authenticationService: unsafeTestingAuthenticationService, verifySignatures: p.verifySignatures }),
      welcome: decodeMlsMessage(encodeMlsMessage(created.welcome!)),
      keyPackage: joiner.keyPackage,
      keyPackagePrivateKeys: joiner.privateKeys,
    });
  }

  it("a join verifies every leaf signature through the configured verifier", async () => {
    const seen: number[] = [];
    const inner = parallelSignatureVerifier(pool, { minBatch: 2, chunkSize: 2 });
    const joined = await joinWith({
      cs: withWorkerPool(cs, pool),
      verifySignatures: (s, checks) => (seen.push(...checks.map((c) => c.leafIndex)), inner(s, checks)),
    });
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(joined.state.members().length).toBe(5);
  });

  it("a leaf signature the verifier rejects fails the join (RFC 9420 §7.3)", async () => {
    const e = await joinWith({ cs, verifySignatures: (_, checks) => checks.map((c) => c.leafIndex !== 3) }).then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).code).toBe("valid.bad_leaf_node_signature");
    expect((e as ValidationError).message).toMatch(/leaf 3/);
  });
});

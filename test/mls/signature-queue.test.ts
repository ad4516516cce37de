/**
 * Batched signature checks of received application messages (src/mls/group/signature-queue.ts):
 * the queue itself (one batch per turn of the event loop, small batches on this thread, results
 * by position, a failing verifier failing its whole batch), then `processMessage` over real
 * groups whose config has a batch verifier: concurrent pages of PrivateMessages (in order, out of
 * order, with holes, with bad signatures, with our own messages reflected back), compared with a
 * member using the sequential default; handshakes keep the synchronous path (RFC 9420 §6.1,
 * §6.3, RFC 9750 §8.1.4).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nativeProvider } from "../../src/crypto/native/index.js";
import { CryptoError } from "../../src/errors.js";
import { unsafeTestingAuthenticationService } from "../../src/mls/auth/authentication-service.js";
import { contentTypes, credentialTypes, proposalTypes, wireFormats } from "../../src/mls/core/protocol.js";
import { signFramedContent } from "../../src/mls/framing/content-auth.js";
import { decodeMlsMessage, encodeMlsMessage, type MlsMessage } from "../../src/mls/framing/mls-message.js";
import {
  createCommit,
  createGroup,
  groupConfig,
  joinFromWelcome,
  mergeStagedCommit,
  processMessage,
  protect,
  verifySignaturesSequentially,
  type GroupState,
  type ProcessedMessage,
  type SignatureBatchVerifier,
} from "../../src/mls/group/index.js";
import { frameContent, protectContent, signContent } from "../../src/mls/group/outbound.js";
import { SignatureQueue, signatureQueue } from "../../src/mls/group/signature-queue.js";
import { createKeyPackage } from "../../src/mls/messages/key-package-ops.js";
import { parallelSignatureVerifier, WorkerPool } from "../../src/mls/parallel/index.js";
import type { RatchetLimits } from "../../src/mls/schedule/secret-tree.js";
import type { SignatureCheck } from "../../src/mls/tree/leaf-signature.js";
import { utf8 } from "../../src/util/bytes.js";
import { signatureChecks } from "../helpers/signature-checks.js";
import { transpileInto } from "../helpers/transpile-into.js";

const cs = nativeProvider.suite(1);
const BAD = "crypto.bad_signature";


/** A verifier that records every batch it is given and delegates to `inner`. */
function counting(inner: SignatureBatchVerifier = verifySignaturesSequentially) {
  const calls: SignatureCheck[][] = [];
  const verify: SignatureBatchVerifier = (c, checks) => {
    calls.push([...checks]);
    return inner(c, checks);
  };
  return { verify, calls };
}

function expectBadSignature(reason: unknown): void {
  expect(reason).toBeInstanceOf(CryptoError);
  expect((reason as CryptoError).code).toBe(BAD);
}

/** Every check in `bad` rejected with bad_signature, every other one resolved. */
function expectOutcome(results: readonly PromiseSettledResult<void>[], n: number, bad: ReadonlySet<number>): void {
  expect(results.length).toBe(n);
  results.forEach((r, i) => {
    if (bad.has(i)) {
      expect(r.status, `check ${i}`).toBe("rejected");
      if (r.status === "rejected") expectBadSignature(r.reason);
    } else {
      expect(r.status, `check ${i}`).toBe("fulfilled");
    }
  });
}

const verifyAll = (q: SignatureQueue, checks: readonly SignatureCheck[]) => Promise.allSettled(checks.map((c) => q.verify(c)));

describe("SignatureQueue", () => {
  it("a batch of 40 in one turn: one verifier call with all 40 in order; tampered ones reject", async () => {
    const bad = new Set([3, 17, 39]);
    const checks = signatureChecks(cs, 40, bad);
    const v = counting();
    const results = await verifyAll(new SignatureQueue(cs, v.verify), checks);
    expect(v.calls.length).toBe(1);
    expect(v.calls[0]!.length).toBe(40);
    v.calls[0]!.forEach((c, i) => expect(c).toBe(checks[i]));
    expectOutcome(results, 40, bad);
  });

  it("a run of 150 in one turn: every 64 are handed to the verifier before the turn ends, the rest at its end; all settle in order", async () => {
    const bad = new Set([0, 63, 64, 127, 149]);
    const checks = signatureChecks(cs, 150, bad);
    const v = counting();
    const q = new SignatureQueue(cs, v.verify);
    const order: number[] = [];
    const verified = checks.map((c) => q.verify(c));
    verified.forEach((p, i) => p.then(() => order.push(i), () => order.push(i)));
    // Still in the same turn: the first two runs of 64 have already gone to the verifier.
    expect(v.calls.map((c) => c.length)).toEqual([64, 64]);
    const results = await Promise.allSettled(verified);
    expect(v.calls.map((c) => c.length)).toEqual([64, 64, 22]);
    v.calls.flat().forEach((c, i) => expect(c).toBe(checks[i]));
    expectOutcome(results, 150, bad);
    expect(order).toEqual(checks.map((_, i) => i));
  });

  it("a slow early batch and a quick remainder still settle in order", async () => {
    const checks = signatureChecks(cs, 70);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slowFirst: SignatureBatchVerifier = (c, cks) => (cks.length === 64 ? gate.then(() => verifySignaturesSequentially(c, cks)) : verifySignaturesSequentially(c, cks));
    const q = new SignatureQueue(cs, slowFirst);
    const order: number[] = [];
    const all = Promise.all(checks.map((c, i) => q.verify(c).then(() => order.push(i))));
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual([]); // the 6 of the remainder wait for the 64 before them
    release();
    await all;
    expect(order).toEqual(checks.map((_, i) => i));
  });

  it("a batch of 5 is verified on this thread without the verifier; results still right", async () => {
    const bad = new Set([2]);
    const checks = signatureChecks(cs, 5, bad);
    const v = counting();
    const results = await verifyAll(new SignatureQueue(cs, v.verify), checks);
    expect(v.calls.length).toBe(0);
    expectOutcome(results, 5, bad);
  });

  it("threshold: 15 checks stay on this thread (a verifier that would throw is not called), 16 go to the verifier", async () => {
    const boom: SignatureBatchVerifier = () => {
      throw new Error("must not be called");
    };
    const fifteen = signatureChecks(cs, 15, new Set([14]));
    expectOutcome(await verifyAll(new SignatureQueue(cs, boom), fifteen), 15, new Set([14]));

    const v = counting();
    const sixteen = signatureChecks(cs, 16, new Set([0]));
    expectOutcome(await verifyAll(new SignatureQueue(cs, v.verify), sixteen), 16, new Set([0]));
    expect(v.calls.map((c) => c.length)).toEqual([16]);
  });

  it("checks requested in different turns form different batches", async () => {
    const checks = signatureChecks(cs, 40, new Set([1, 30]));
    const v = counting();
    const q = new SignatureQueue(cs, v.verify);
    const first = checks.slice(0, 20).map((c) => q.verify(c));
    first.forEach((p) => p.catch(() => undefined));
    await null; // the first batch is flushed in the microtask queued before this one
    const second = checks.slice(20).map((c) => q.verify(c));
    const results = await Promise.allSettled([...first, ...second]);
    expect(v.calls.length).toBe(2);
    expect(v.calls[0]!).toEqual(checks.slice(0, 20));
    expect(v.calls[1]!).toEqual(checks.slice(20));
    expectOutcome(results, 40, new Set([1, 30]));

    // After awaiting the results, a new batch again.
    expectOutcome(await verifyAll(q, checks.slice(0, 16)), 16, new Set([1]));
    expect(v.calls.length).toBe(3);
  });

  it("results are matched to checks by position, not by what the checks contain", async () => {
    const checks = signatureChecks(cs, 20); // all valid
    const evenOnly: SignatureBatchVerifier = (_cs, cks) => cks.map((_, i) => i % 2 === 0);
    const results = await verifyAll(new SignatureQueue(cs, evenOnly), checks);
    expectOutcome(results, 20, new Set(checks.map((_, i) => i).filter((i) => i % 2 === 1)));
  });

  it("an asynchronous verifier (Promise or bare thenable) settles every check", async () => {
    const bad = new Set([0, 19]);
    const later: SignatureBatchVerifier = (c, cks) => new Promise((res) => setTimeout(() => res(verifySignaturesSequentially(c, cks)), 5));
    expectOutcome(await verifyAll(new SignatureQueue(cs, later), signatureChecks(cs, 20, bad)), 20, bad);
    const thenable: SignatureBatchVerifier = (c, cks) => ({
      then: (ok, ko) => Promise.resolve(verifySignaturesSequentially(c, cks)).then(ok, ko),
    });
    expectOutcome(await verifyAll(new SignatureQueue(cs, thenable), signatureChecks(cs, 20, bad)), 20, bad);
  });

  it("a verifier that throws synchronously rejects every check of the batch with that error; the next batch works", async () => {
    const err = new Error("verifier exploded");
    let throwNext = true;
    const v: SignatureBatchVerifier = (c, cks) => {
      if (throwNext) {
        throwNext = false;
        throw err;
      }
      return verifySignaturesSequentially(c, cks);
    };
    const q = new SignatureQueue(cs, v);
    const results = await verifyAll(q, signatureChecks(cs, 20));
    for (const r of results) {
      expect(r.status).toBe("rejected");
      if (r.status === "rejected") expect(r.reason).toBe(err);
    }
    expectOutcome(await verifyAll(q, signatureChecks(cs, 20, new Set([4]))), 20, new Set([4]));
  });

  it("a verifier returning a rejected promise rejects every check of the batch with that error", async () => {
    const err = new CryptoError("pool_down", "no threads");
    const results = await verifyAll(new SignatureQueue(cs, () => Promise.reject(err)), signatureChecks(cs, 18));
    expect(results.length).toBe(18);
    for (const r of results) {
      expect(r.status).toBe("rejected");
      if (r.status === "rejected") expect(r.reason).toBe(err);
    }
  });

  it("a verifier returning fewer results than checks: the missing ones reject (sync and async)", async () => {
    const checks = signatureChecks(cs, 20);
    const short: SignatureBatchVerifier = (_cs, cks) => cks.slice(0, 15).map(() => true);
    const missing = new Set([15, 16, 17, 18, 19]);
    expectOutcome(await verifyAll(new SignatureQueue(cs, short), checks), 20, missing);
    const shortAsync: SignatureBatchVerifier = async (_cs, cks) => cks.slice(0, 15).map(() => true);
    expectOutcome(await verifyAll(new SignatureQueue(cs, shortAsync), checks), 20, missing);
    const empty: SignatureBatchVerifier = () => [];
    expectOutcome(await verifyAll(new SignatureQueue(cs, empty), checks), 20, new Set(checks.map((_, i) => i)));
  });

  it("signatureQueue: one queue per (suite, verifier), shared by its users; checks from both land in one batch", async () => {
    const v = counting();
    const other = counting();
    const q = signatureQueue(cs, v.verify);
    expect(signatureQueue(cs, v.verify)).toBe(q);
    expect(signatureQueue(cs, other.verify)).not.toBe(q);
    const checks = signatureChecks(cs, 20, new Set([12]));
    const results = await Promise.allSettled([
      ...checks.slice(0, 10).map((c) => signatureQueue(cs, v.verify).verify(c)),
      ...checks.slice(10).map((c) => signatureQueue(cs, v.verify).verify(c)),
    ]);
    expect(v.calls.map((c) => c.length)).toEqual([20]);
    expect(other.calls.length).toBe(0);
    expectOutcome(results, 20, new Set([12]));
  });
});

// ---------------------------------------------------------------------------------------------

const wire = (m: MlsMessage): Uint8Array => encodeMlsMessage(m);
const text = (i: number): string => `message ${i}`;

interface Members {
  alice: GroupState;
  /** Batch verifier config. */
  bob: GroupState;
  /** Default config (sequential, synchronous path): the reference. */
  carol: GroupState;
}

/**
 * Alice (batch config) creates a group and adds Bob (batch config) and Carol (default config).
 * All three use `ratchetLimits` (RFC 9420 §9.2 out-of-order window).
 */
async function threeMembers(verifier: SignatureBatchVerifier, ratchetLimits?: Partial<RatchetLimits>): Promise<Members> {
  const batched = groupConfig({ authenticationService: unsafeTestingAuthenticationService, verifySignatures: verifier, ratchetLimits });
  const plain = groupConfig({ authenticationService: unsafeTestingAuthenticationService, ratchetLimits });
  const kp = (name: string) => createKeyPackage({ cs, credential: { credentialType: credentialTypes.basic, identity: utf8(name) } });
  const [a, b, c] = await Promise.all([kp("alice"), kp("bob"), kp("carol")]);
  let alice = await createGroup({ cs, config: batched, leaf: { keyPackage: a.keyPackage, privateKeys: a.privateKeys } });
  const created = await createCommit(alice, {
    proposals: [b, c].map((k) => ({ proposalType: proposalTypes.add, add: { keyPackage: k.keyPackage } })),
  });
  alice = mergeStagedCommit(alice, created.staged);
  const welcome = decodeMlsMessage(wire(created.welcome!));
  const bob = (await joinFromWelcome({ cs, config: batched, welcome, keyPackage: b.keyPackage, keyPackagePrivateKeys: b.privateKeys })).state;
  const carol = (await joinFromWelcome({ cs, config: plain, welcome, keyPackage: c.keyPackage, keyPackagePrivateKeys: c.privateKeys })).state;
  expect(bob.ownLeafIndex).toBe(1);
  expect(carol.ownLeafIndex).toBe(2);
  return { alice, bob, carol };
}

/** Alice sends `texts` as application messages; their wire encodings. */
function send(from: GroupState, texts: readonly string[]): Uint8Array[] {
  return texts.map((t) => wire(protect(from, utf8(t))));
}

function application(r: ProcessedMessage) {
  if (r.kind !== "application") throw new Error(`expected an application message, got ${r.kind}`);
  return r;
}

/** Process one after the other, as a client awaiting each message would (errors kept as codes). */
async function oneByOne(state: GroupState, msgs: readonly Uint8Array[]) {
  const out: ({ generation: number; skipped: readonly number[]; data: string } | { error: string })[] = [];
  for (const m of msgs) {
    try {
      const r = application(await processMessage(state, m));
      out.push({ generation: r.generation, skipped: r.skipped, data: new TextDecoder().decode(r.data) });
    } catch (e) {
      out.push({ error: (e as { code?: string }).code ?? String(e) });
    }
  }
  return out;
}

/** Process all at once (`Promise.allSettled` over the page), same result shape as {@link oneByOne}. */
async function concurrently(state: GroupState, msgs: readonly Uint8Array[]) {
  const settled = await Promise.allSettled(msgs.map((m) => processMessage(state, m)));
  return settled.map((s) => {
    if (s.status === "rejected") return { error: (s.reason as { code?: string }).code ?? String(s.reason) };
    const r = application(s.value);
    return { generation: r.generation, skipped: r.skipped, data: new TextDecoder().decode(r.data) };
  });
}

describe("processMessage with a batch signature verifier (native suite 1)", () => {
  let tmp: string;
  let pool: WorkerPool;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "xmpp-mls-sigqueue-"));
    pool = new WorkerPool({ size: 1, workerUrl: pathToFileURL(transpileInto("src/mls/parallel/worker.ts", tmp)) });
    expect(await pool.start()).toBe(1);
  });

  afterAll(async () => {
    await pool.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const chunksRun = (): number => pool.stats.here + pool.stats.workers;

  it("50 messages processed concurrently: right plaintexts in order, generations 0..49, no gaps, one batch of 50 on the pool", async () => {
    const v = counting(parallelSignatureVerifier(pool));
    const { alice, bob, carol } = await threeMembers(v.verify);
    v.calls.length = 0; // the join verified the tree's leaves through the same verifier
    const msgs = send(alice, Array.from({ length: 50 }, (_, i) => text(i)));
    const before = chunksRun();

    const results = (await Promise.all(msgs.map((m) => processMessage(bob, m)))).map(application);
    results.forEach((r, i) => {
      expect(new TextDecoder().decode(r.data)).toBe(text(i));
      expect(r.generation).toBe(i);
      expect(r.skipped).toEqual([]);
      expect(r.epoch).toBe(1n);
      expect(r.sender.leafIndex).toBe(0);
      expect(r.sender.identity).toBe("alice");
    });
    expect(v.calls.length).toBe(1);
    expect(v.calls[0]!.length).toBe(50);
    expect(v.calls[0]!.every((c) => c.leafIndex === 0)).toBe(true);
    // minBatch 32 < 50: through the pool, in chunks of max(4, min(64, ceil(50 / 16))) = 4 → 13 chunks.
    expect(chunksRun() - before).toBe(13);
    expect(bob.generationGaps()).toEqual([]);

    // The sequential member agrees on everything.
    expect(await oneByOne(carol, msgs)).toEqual(results.map((r, i) => ({ generation: r.generation, skipped: r.skipped, data: text(i) })));
  });

  it("a later small batch settles after an earlier batch still on the pool: no false skipped generations", async () => {
    const { alice, bob, carol } = await threeMembers(parallelSignatureVerifier(pool));
    const msgs = send(alice, Array.from({ length: 43 }, (_, i) => text(i)));
    const first = Promise.all(msgs.slice(0, 40).map((m) => processMessage(bob, m)));
    await null; // the 40 are decrypted and their batch is on the pool; the next 3 form a batch of their own
    const second = (await Promise.all(msgs.slice(40).map((m) => processMessage(bob, m)))).map(application);
    const earlier = (await first).map(application);
    expect(earlier.map((r) => r.generation)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(second.map((r) => r.generation)).toEqual([40, 41, 42]);
    for (const r of [...earlier, ...second]) expect(r.skipped).toEqual([]);
    expect(bob.generationGaps()).toEqual([]);
    expect((await oneByOne(carol, msgs)).every((r) => "skipped" in r && r.skipped.length === 0)).toBe(true);
  });

  it("a reversed page of 20 and a shuffled page with holes: same generations and gaps as the sequential path", async () => {
    const v = counting(parallelSignatureVerifier(pool));
    // Keys of up to 64 skipped generations are kept (the default, 5, would drop most of a reversed page).
    const { alice, bob, carol } = await threeMembers(v.verify, { maxPastKeys: 64 });
    v.calls.length = 0;
    const msgs = send(alice, Array.from({ length: 50 }, (_, i) => text(i)));

    // Reversed page 0..19 (a batch of 20: the queue's verifier, which keeps it on this thread, minBatch 32).
    const page = msgs.slice(0, 20).reverse();
    const before = chunksRun();
    const batched = await concurrently(bob, page);
    expect(v.calls.map((c) => c.length)).toEqual([20]);
    expect(chunksRun()).toBe(before);
    expect(batched.map((r) => ("data" in r ? r.data : r.error))).toEqual(Array.from({ length: 20 }, (_, k) => text(19 - k)));
    expect(batched[0]).toEqual({ generation: 19, skipped: Array.from({ length: 19 }, (_, g) => g), data: text(19) });
    for (const r of batched.slice(1)) expect(r).toMatchObject({ skipped: [] });
    expect(await oneByOne(carol, page)).toEqual(batched);
    expect(bob.generationGaps()).toEqual([]);
    expect(carol.generationGaps()).toEqual([]);

    // 20..49 shuffled, without 25 and 40 (never delivered).
    const order = [31, 20, 44, 22, 49, 21, 38, 27, 23, 30, 47, 26, 24, 33, 29, 46, 28, 32, 34, 43, 35, 48, 36, 37, 39, 41, 42, 45];
    expect(new Set(order).size).toBe(28);
    const shuffled = order.map((g) => msgs[g]!);
    const b2 = await concurrently(bob, shuffled);
    expect(v.calls.map((c) => c.length)).toEqual([20, 28]);
    expect(b2.map((r) => ("generation" in r ? r.generation : -1))).toEqual(order);
    expect(b2.map((r) => ("data" in r ? r.data : r.error))).toEqual(order.map(text));
    expect(b2[0]!).toMatchObject({ skipped: Array.from({ length: 11 }, (_, k) => 20 + k) });
    expect(b2[2]!).toMatchObject({ skipped: Array.from({ length: 12 }, (_, k) => 32 + k) });
    expect(b2[4]!).toMatchObject({ skipped: [45, 46, 47, 48] });
    expect(await oneByOne(carol, shuffled)).toEqual(b2);
    const gaps = bob.generationGaps();
    expect(gaps).toEqual([{ epoch: 1n, leafIndex: 0, ratchet: "application", highest: 49, missing: [25, 40], untracked: 0 }]);
    expect(carol.generationGaps()).toEqual(gaps);
  });

  it("with the default ratchet limits (5 past keys) a reversed page of 20: the same 6 decrypt and 14 fail as on the sequential path", async () => {
    const v = counting();
    const { alice, bob, carol } = await threeMembers(v.verify);
    v.calls.length = 0;
    const page = send(alice, Array.from({ length: 20 }, (_, i) => text(i))).reverse();
    const batched = await concurrently(bob, page);
    expect(batched.slice(0, 6).map((r) => ("generation" in r ? r.generation : -1))).toEqual([19, 18, 17, 16, 15, 14]);
    expect(batched.slice(6)).toEqual(Array.from({ length: 14 }, () => ({ error: "valid.generation_too_old" })));
    expect(v.calls.length).toBe(0); // 6 signatures to check: fewer than 16, verified on this thread
    expect(await oneByOne(carol, page)).toEqual(batched);
    expect(bob.generationGaps()).toEqual(carol.generationGaps());
    expect(bob.generationGaps()).toEqual([{ epoch: 1n, leafIndex: 0, ratchet: "application", highest: 19, missing: Array.from({ length: 14 }, (_, g) => g), untracked: 0 }]);
  });

  it("bad signatures (wrong key, flipped bit) with valid encryption reject with bad_signature; the rest of the batch succeeds", async () => {
    const v = counting();
    const { alice, bob, carol } = await threeMembers(v.verify);
    v.calls.length = 0;
    const wrongKey = cs.signatureKeyPair().privateKey;
    const msgs: Uint8Array[] = [];
    for (let i = 0; i < 24; i++) {
      const content = frameContent(alice, { contentType: contentTypes.application, applicationData: utf8(text(i)) });
      let ac = signContent(alice, content);
      if (i === 7) {
        ac = signFramedContent({ cs, signaturePrivateKey: wrongKey, wireFormat: wireFormats.mls_private_message, content, groupContext: alice.groupContextBytes });
      } else if (i === 15) {
        const signature = ac.auth.signature.slice();
        signature[10] = signature[10]! ^ 0x01;
        ac = { ...ac, auth: { signature } };
      }
      msgs.push(wire(protectContent(alice, ac)));
    }
    // A replay of message 3 in the same batch: its key is already consumed, decryption fails.
    const page = [...msgs, msgs[3]!];

    const settled = await Promise.allSettled(page.map((m) => processMessage(bob, m)));
    expect(v.calls.map((c) => c.length)).toEqual([24]); // the replay never reached the signature check
    settled.slice(0, 24).forEach((s, i) => {
      if (i === 7 || i === 15) {
        expect(s.status, `message ${i}`).toBe("rejected");
        if (s.status === "rejected") expectBadSignature(s.reason);
      } else {
        expect(s.status, `message ${i}`).toBe("fulfilled");
        if (s.status === "fulfilled") {
          const r = application(s.value);
          expect(new TextDecoder().decode(r.data)).toBe(text(i));
          expect(r.generation).toBe(i);
          expect(r.skipped).toEqual(i === 8 || i === 16 ? [i - 1] : []);
        }
      }
    });
    expect(settled[24]!.status).toBe("rejected");
    const ref = await oneByOne(carol, page);
    expect(ref[7]).toEqual({ error: BAD });
    expect(await concurrently(bob, [])).toEqual([]);
    // Same outcome, error codes included, as the sequential member.
    const codes = settled.map((s) => (s.status === "rejected" ? { error: (s.reason as { code?: string }).code } : { generation: application(s.value).generation, skipped: application(s.value).skipped }));
    expect(codes).toEqual(ref.map((r) => ("error" in r ? r : { generation: r.generation, skipped: r.skipped })));
    expect(bob.generationGaps()).toEqual([{ epoch: 1n, leafIndex: 0, ratchet: "application", highest: 23, missing: [7, 15], untracked: 0 }]);
    expect(carol.generationGaps()).toEqual(bob.generationGaps());
  });

  it("a bad signature processed on its own (a batch of one) also rejects", async () => {
    const v = counting();
    const { alice, bob } = await threeMembers(v.verify);
    v.calls.length = 0;
    const content = frameContent(alice, { contentType: contentTypes.application, applicationData: utf8("forged") });
    const ac = signFramedContent({ cs, signaturePrivateKey: cs.signatureKeyPair().privateKey, wireFormat: wireFormats.mls_private_message, content, groupContext: alice.groupContextBytes });
    await expect(processMessage(bob, wire(protectContent(alice, ac)))).rejects.toMatchObject({ code: BAD });
    expect(v.calls.length).toBe(0);
    const ok = application(await processMessage(bob, send(alice, ["fine"])[0]!));
    expect(ok.generation).toBe(1);
    expect(ok.skipped).toEqual([0]);
  });

  it("a Commit as PrivateMessage keeps the synchronous path (kind commit), outside the batch of the messages around it", async () => {
    const v = counting(parallelSignatureVerifier(pool));
    const { alice: a1, bob, carol } = await threeMembers(v.verify);
    v.calls.length = 0;
    const early = send(a1, Array.from({ length: 20 }, (_, i) => `early ${i}`)); // epoch 1, before the Commit
    const late = send(a1, Array.from({ length: 5 }, (_, i) => `late ${i}`)); // epoch 1, delivered after the Commit

    const created = await createCommit(a1, { forcePath: true });
    expect(created.commitMessage.wireFormat).toBe(wireFormats.mls_private_message);
    const alice = mergeStagedCommit(a1, created.staged);
    // The Commit arrives in the same turn as 20 application messages: only their 20 signatures are batched.
    const all = await Promise.all([...early, wire(created.commitMessage)].map((m) => processMessage(bob, m)));
    expect(v.calls.map((c) => c.length)).toEqual([20]);
    expect(all.slice(0, 20).map((r) => new TextDecoder().decode(application(r).data))).toEqual(early.map((_, i) => `early ${i}`));
    const rb = all[20]!;
    expect(rb.kind).toBe("commit");
    if (rb.kind !== "commit") return;
    const bob2 = mergeStagedCommit(bob, rb.staged);
    const rc = await processMessage(carol, wire(created.commitMessage));
    if (rc.kind !== "commit") throw new Error(`expected a commit, got ${rc.kind}`);
    const carol2 = mergeStagedCommit(carol, rc.staged);
    expect(bob2.epoch).toBe(2n);
    expect(bob2.epochAuthenticator()).toEqual(alice.epochAuthenticator());
    expect(carol2.epochAuthenticator()).toEqual(alice.epochAuthenticator());

    // New-epoch messages and late ones of the kept past epoch (RFC 9420 §15.3) in one batch.
    const fresh = send(alice, Array.from({ length: 20 }, (_, i) => text(i)));
    const results = (await Promise.all([...fresh, ...late].map((m) => processMessage(bob2, m)))).map(application);
    expect(v.calls.map((c) => c.length)).toEqual([20, 25]);
    expect(results.map((r) => new TextDecoder().decode(r.data))).toEqual([...fresh.map((_, i) => text(i)), ...late.map((_, i) => `late ${i}`)]);
    expect(results.map((r) => r.epoch)).toEqual([...fresh.map(() => 2n), ...late.map(() => 1n)]);
    expect(results.map((r) => r.generation)).toEqual([...fresh.map((_, i) => i), ...late.map((_, i) => 20 + i)]);
    expect(results.every((r) => r.skipped.length === 0)).toBe(true);
  });

  it("our own messages reflected back in a batch are reported as own and never reach the verifier", async () => {
    const v = counting();
    const { alice, bob } = await threeMembers(v.verify);
    v.calls.length = 0;
    const own = send(alice, Array.from({ length: 20 }, (_, i) => `own ${i}`));
    const fromBob = send(bob, Array.from({ length: 20 }, (_, i) => `bob ${i}`));
    const mixed = own.flatMap((m, i) => [m, fromBob[i]!]);

    const results = await Promise.all(mixed.map((m) => processMessage(alice, m)));
    results.forEach((r, k) => {
      const i = k >> 1;
      if (k % 2 === 0) {
        expect(r).toMatchObject({ kind: "own", contentType: contentTypes.application, epoch: 1n });
      } else {
        const a = application(r);
        expect(new TextDecoder().decode(a.data)).toBe(`bob ${i}`);
        expect(a.generation).toBe(i);
        expect(a.sender.identity).toBe("bob");
      }
    });
    expect(v.calls.map((c) => c.length)).toEqual([20]);
    expect(v.calls[0]!.every((c) => c.leafIndex === 1)).toBe(true);

    // Only our own messages: nothing to verify at all.
    const onlyOwn = await Promise.all(send(alice, Array.from({ length: 20 }, (_, i) => `again ${i}`)).map((m) => processMessage(alice, m)));
    expect(onlyOwn.every((r) => r.kind === "own")).toBe(true);
    expect(v.calls.length).toBe(1);
  });

  it("the default config records a generation synchronously; a batch config only once the signature batch verified", async () => {
    const v = counting();
    const { alice, bob, carol } = await threeMembers(v.verify);
    const [, , , third] = send(alice, ["0", "1", "2", "3"]);
    const gap = [{ epoch: 1n, leafIndex: 0, ratchet: "application", highest: 3, missing: [0, 1, 2], untracked: 0 }];

    const pc = processMessage(carol, third!);
    expect(carol.generationGaps()).toEqual(gap); // verifyInbound ran before processMessage returned
    const pb = processMessage(bob, third!);
    expect(bob.generationGaps()).toEqual([]); // decrypted, waiting for its signature batch
    expect(application(await pb).skipped).toEqual([0, 1, 2]);
    expect(bob.generationGaps()).toEqual(gap);
    expect(application(await pc).skipped).toEqual([0, 1, 2]);
  });
});

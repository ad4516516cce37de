/**
 * The work the pool spreads over threads, as self-contained jobs with flat, transferable
 * buffers (no per-item objects cross the thread boundary):
 *
 * - `verify`: signatures of one suite (RFC 9420 §5.1.2), e.g. every LeafNode of a tree on join
 *   (§7.3, §12.4.3.1). Each item is (public key, signed bytes, signature); the result is one byte
 *   per item, 1 when it verifies.
 * - `seal`: HPKE SealBase (RFC 9180 §6.1) of many plaintexts under one `info`, whose `info_hash`
 *   was computed once by the caller: a Welcome's GroupSecrets (RFC 9420 §12.4.3.1), an
 *   UpdatePath's path secrets (§7.6). The result holds (kem_output, ciphertext) per item, and a
 *   failure flag per item (the caller redoes failed items itself to get the exact error).
 *
 * {@link runJob} executes a job with the native provider; workers and the main thread run the
 * same code. A {@link SharedVerify} is the work-stealing form of `verify`: the checks sit in shared
 * memory and every thread claims chunks from one atomic counter ({@link claimVerify}), so a thread
 * that is busy elsewhere simply claims fewer. Seal jobs carry secrets (path secrets, joiner secrets): both sides wipe the buffers
 * once done. Threads of one process share its address space, so this adds no exposure.
 * @module
 */
import type { CipherSuiteId } from "../../crypto/cipher-suite.js";
import { nativeHpkeOps, nativeProvider } from "../../crypto/native/index.js";

/** Byte strings packed into one buffer: `data` holds them back to back, `ends[i]` is where string i ends. */
export interface Packed {
  readonly data: Uint8Array;
  readonly ends: Uint32Array;
}

export function pack(parts: readonly Uint8Array[]): Packed {
  let total = 0;
  for (const p of parts) total += p.length;
  const data = new Uint8Array(total);
  const ends = new Uint32Array(parts.length);
  let o = 0;
  for (let i = 0; i < parts.length; i++) {
    data.set(parts[i]!, o);
    o += parts[i]!.length;
    ends[i] = o;
  }
  return { data, ends };
}

/** String `i` of a packed buffer, as a view (no copy). */
export function part(p: Packed, i: number): Uint8Array {
  return p.data.subarray(i === 0 ? 0 : p.ends[i - 1]!, p.ends[i]!);
}

export interface VerifyJob {
  readonly kind: "verify";
  readonly suite: CipherSuiteId;
  /** 3 strings per item: public key, message, signature. */
  readonly items: Packed;
}

export interface SealJob {
  readonly kind: "seal";
  readonly suite: CipherSuiteId;
  readonly infoHash: Uint8Array;
  readonly aad: Uint8Array;
  /** 2 strings per item: recipient public key, plaintext. */
  readonly items: Packed;
}

export type Job = VerifyJob | SealJob;

export interface VerifyResult {
  readonly kind: "verify";
  /** 1 when item i verifies, else 0. */
  readonly ok: Uint8Array;
}

export interface SealResult {
  readonly kind: "seal";
  /** 2 strings per item: kem_output, ciphertext (both empty for a failed item). */
  readonly out: Packed;
  /** 1 when item i failed. */
  readonly failed: Uint8Array;
}

export type JobResult = VerifyResult | SealResult;

/** The buffers to transfer (not copy) with a job or result. */
export function transferables(x: Job | JobResult): ArrayBuffer[] {
  const bufs = (p: Packed): ArrayBuffer[] => [p.data.buffer as ArrayBuffer, p.ends.buffer as ArrayBuffer];
  switch (x.kind) {
    case "verify":
      return "items" in x ? bufs(x.items) : [x.ok.buffer as ArrayBuffer];
    case "seal":
      return "items" in x ? bufs(x.items) : [...bufs(x.out), x.failed.buffer as ArrayBuffer];
  }
}

export function verifyJob(suite: CipherSuiteId, checks: readonly { readonly publicKey: Uint8Array; readonly message: Uint8Array; readonly signature: Uint8Array }[]): VerifyJob {
  return { kind: "verify", suite, items: pack(checks.flatMap((c) => [c.publicKey, c.message, c.signature])) };
}

export function sealJob(suite: CipherSuiteId, infoHash: Uint8Array, aad: Uint8Array, items: readonly { readonly publicKey: Uint8Array; readonly plaintext: Uint8Array }[]): SealJob {
  return { kind: "seal", suite, infoHash, aad, items: pack(items.flatMap((i) => [i.publicKey, i.plaintext])) };
}

/** Execute a job on this thread with the native provider. Never throws for bad items. */
export function runJob(job: Job): JobResult {
  if (job.kind === "verify") {
    const cs = nativeProvider.suite(job.suite);
    const n = job.items.ends.length / 3;
    const ok = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      ok[i] = cs.verify(part(job.items, 3 * i), part(job.items, 3 * i + 1), part(job.items, 3 * i + 2)) ? 1 : 0;
    }
    return { kind: "verify", ok };
  }
  const hpke = nativeHpkeOps(job.suite);
  const n = job.items.ends.length / 2;
  const failed = new Uint8Array(n);
  const out: Uint8Array[] = [];
  const none = new Uint8Array(0);
  for (let i = 0; i < n; i++) {
    try {
      const s = hpke.sealWithInfoHash(part(job.items, 2 * i), job.infoHash, job.aad, part(job.items, 2 * i + 1));
      out.push(s.kemOutput, s.ciphertext);
    } catch {
      failed[i] = 1;
      out.push(none, none);
    }
  }
  job.items.data.fill(0); // the plaintexts are secrets
  return { kind: "seal", out: pack(out), failed };
}

/**
 * Signatures in shared memory, verified by whoever claims each chunk first (workers as soon as
 * they receive it, the calling thread once it is free).
 */
export interface SharedVerify {
  readonly suite: CipherSuiteId;
  /** 3 strings per item, as in {@link VerifyJob}, in SharedArrayBuffers. */
  readonly items: Packed;
  readonly count: number;
  readonly chunkSize: number;
  /** [0]: the next chunk to claim. */
  readonly next: Int32Array;
  /** 1 once chunk i is verified. */
  readonly chunkDone: Int32Array;
  /** 1 when item i verifies. */
  readonly ok: Uint8Array;
}

export function sharedVerify(suite: CipherSuiteId, checks: readonly { readonly publicKey: Uint8Array; readonly message: Uint8Array; readonly signature: Uint8Array }[], chunkSize: number): SharedVerify {
  let total = 0;
  for (const c of checks) total += c.publicKey.length + c.message.length + c.signature.length;
  const data = new Uint8Array(new SharedArrayBuffer(total));
  const ends = new Uint32Array(new SharedArrayBuffer(4 * 3 * checks.length));
  let o = 0;
  let k = 0;
  for (const c of checks) {
    for (const b of [c.publicKey, c.message, c.signature]) {
      data.set(b, o);
      o += b.length;
      ends[k++] = o;
    }
  }
  const chunks = Math.ceil(checks.length / chunkSize);
  return {
    suite,
    items: { data, ends },
    count: checks.length,
    chunkSize,
    next: new Int32Array(new SharedArrayBuffer(4)),
    chunkDone: new Int32Array(new SharedArrayBuffer(4 * Math.max(1, chunks))),
    ok: new Uint8Array(new SharedArrayBuffer(Math.max(1, checks.length))),
  };
}

function verifyChunk(job: SharedVerify, chunk: number): void {
  const cs = nativeProvider.suite(job.suite);
  const end = Math.min(job.count, (chunk + 1) * job.chunkSize);
  for (let i = chunk * job.chunkSize; i < end; i++) {
    job.ok[i] = cs.verify(part(job.items, 3 * i), part(job.items, 3 * i + 1), part(job.items, 3 * i + 2)) ? 1 : 0;
  }
  Atomics.store(job.chunkDone, chunk, 1);
}

/** Claim and verify chunks until none is left; returns how many this thread did. */
export function claimVerify(job: SharedVerify): number {
  const chunks = Math.ceil(job.count / job.chunkSize);
  let n = 0;
  for (let c = Atomics.add(job.next, 0, 1); c < chunks; c = Atomics.add(job.next, 0, 1)) {
    verifyChunk(job, c);
    n++;
  }
  return n;
}

/** Verify the chunks nobody finished (their worker died). */
export function verifyUnfinished(job: SharedVerify): number {
  const chunks = Math.ceil(job.count / job.chunkSize);
  let n = 0;
  for (let c = 0; c < chunks; c++) {
    if (Atomics.load(job.chunkDone, c) === 0) {
      verifyChunk(job, c);
      n++;
    }
  }
  return n;
}

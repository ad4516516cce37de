/**
 * A native {@link CipherSuite} whose HPKE seals run in batches across threads.
 *
 * MLS issues its seals in bursts: a Welcome seals GroupSecrets to every new member (RFC 9420
 * §12.4.3.1), an UpdatePath seals each path secret to every node of a copath resolution (§7.6:
 * thousands of seals in a sparse tree). Both start all seals at once (`Promise.all`), so the
 * calls of one burst arrive before any microtask runs: they are queued and, at the first
 * microtask, sent as one batch (grouped by `info` and `aad`, `info_hash` computed once per group)
 * to the {@link WorkerPool}; small batches stay on this thread. Results are identical to the
 * wrapped suite's; a failed item is redone by the wrapped suite to report its exact error.
 *
 * Contract: as with any asynchronous API, the arrays passed to `hpkeSeal` must not be modified
 * until its promise settles.
 * @module
 */
import type { CipherSuite, HpkeSealed } from "../../crypto/cipher-suite.js";
import { nativeHpkeOps } from "../../crypto/native/index.js";
import { bytesEqual } from "../../util/bytes.js";
import { part, sealJob, type SealResult } from "./jobs.js";
import { WorkerPool } from "./pool.js";

export interface ParallelSuiteOptions {
  /** Bursts smaller than this stay on the calling thread. Default 128. */
  readonly minBatch?: number;
  /** Seals per job sent to a thread. Default 64. */
  readonly chunkSize?: number;
}

interface QueuedSeal {
  readonly publicKey: Uint8Array;
  readonly info: Uint8Array;
  readonly aad: Uint8Array;
  readonly plaintext: Uint8Array;
  readonly resolve: (s: HpkeSealed) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * `cs` with batched, multi-threaded `hpkeSeal`. Suites of other providers are returned unchanged
 * (the workers run the native provider).
 */
export function withWorkerPool(cs: CipherSuite, pool: WorkerPool = WorkerPool.shared(), options: ParallelSuiteOptions = {}): CipherSuite {
  if (cs.provider !== "native") return cs;
  const minBatch = options.minBatch ?? 128;
  const chunkSize = options.chunkSize ?? 64;
  const hpke = nativeHpkeOps(cs.params.id);
  let queue: QueuedSeal[] = [];

  const sealHere = (q: QueuedSeal): void => {
    cs.hpkeSeal(q.publicKey, q.info, q.aad, q.plaintext).then(q.resolve, q.reject);
  };

  /** One group of seals under the same info and aad, across the pool. */
  const sealGroup = async (items: readonly QueuedSeal[]): Promise<void> => {
    const first = items[0]!;
    const infoHash = hpke.infoHash(first.info);
    const jobs = Math.ceil(items.length / chunkSize);
    let results: SealResult[];
    try {
      results = (await pool.runJobs(jobs, (j) => sealJob(cs.params.id, infoHash, first.aad, items.slice(j * chunkSize, (j + 1) * chunkSize)))) as SealResult[];
    } catch {
      for (const q of items) sealHere(q);
      return;
    }
    results.forEach((r, j) => {
      for (let k = 0; k < r.failed.length; k++) {
        const q = items[j * chunkSize + k]!;
        if (r.failed[k] === 1) sealHere(q);
        // Views of the job's result buffer (one per chunk of seals), not 2 small copies per seal:
        // the ~10,000 ciphertexts of a large UpdatePath all stay alive until it is encoded.
        else q.resolve({ kemOutput: part(r.out, 2 * k), ciphertext: part(r.out, 2 * k + 1) });
      }
    });
  };

  const flush = (): void => {
    const batch = queue;
    queue = [];
    if (batch.length < minBatch) {
      for (const q of batch) sealHere(q);
      return;
    }
    // Group by info (same array) and aad (same bytes); in MLS a burst is a single group.
    const byInfo = new Map<Uint8Array, QueuedSeal[][]>();
    for (const q of batch) {
      let list = byInfo.get(q.info);
      if (list === undefined) {
        list = [];
        byInfo.set(q.info, list);
      }
      const g = list.find((x) => bytesEqual(x[0]!.aad, q.aad));
      if (g !== undefined) g.push(q);
      else list.push([q]);
    }
    for (const g of [...byInfo.values()].flat()) {
      if (g.length < minBatch) for (const q of g) sealHere(q);
      else void sealGroup(g);
    }
  };

  /**
   * A batch given at once (an UpdatePath node's recipients): straight to the pool, with no promise
   * or queue entry per seal, which for 10,000 seals would all stay alive until the batch is done.
   */
  const hpkeSealMany = async (info: Uint8Array, aad: Uint8Array, items: readonly { readonly publicKey: Uint8Array; readonly plaintext: Uint8Array }[]): Promise<HpkeSealed[]> => {
    if (items.length < minBatch) return Promise.all(items.map((i) => cs.hpkeSeal(i.publicKey, info, aad, i.plaintext)));
    const infoHash = hpke.infoHash(info);
    const jobs = Math.ceil(items.length / chunkSize);
    let results: SealResult[];
    try {
      results = (await pool.runJobs(jobs, (j) => sealJob(cs.params.id, infoHash, aad, items.slice(j * chunkSize, (j + 1) * chunkSize)))) as SealResult[];
    } catch {
      return Promise.all(items.map((i) => cs.hpkeSeal(i.publicKey, info, aad, i.plaintext)));
    }
    const out = new Array<HpkeSealed>(items.length);
    const redo: Promise<void>[] = [];
    results.forEach((r, j) => {
      for (let k = 0; k < r.failed.length; k++) {
        const i = j * chunkSize + k;
        // A failed item is redone by the wrapped suite, for its exact error.
        if (r.failed[k] === 1) redo.push(cs.hpkeSeal(items[i]!.publicKey, info, aad, items[i]!.plaintext).then((s) => void (out[i] = s)));
        else out[i] = { kemOutput: part(r.out, 2 * k), ciphertext: part(r.out, 2 * k + 1) };
      }
    });
    await Promise.all(redo);
    return out;
  };

  return Object.freeze({
    ...cs,
    hpkeSealMany,
    hpkeSeal(publicKey: Uint8Array, info: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<HpkeSealed> {
      return new Promise<HpkeSealed>((resolve, reject) => {
        if (queue.length === 0) queueMicrotask(flush);
        queue.push({ publicKey, info, aad, plaintext, resolve, reject });
      });
    },
  });
}

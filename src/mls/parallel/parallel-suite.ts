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

/** One seal of a batch: recipient public key and plaintext. */
interface SealItem {
  readonly publicKey: Uint8Array;
  readonly plaintext: Uint8Array;
}

interface QueuedSeal extends SealItem {
  readonly info: Uint8Array;
  readonly aad: Uint8Array;
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

  /**
   * Seals under one info and aad across the pool, in order; null for an item a worker could not
   * seal (the caller redoes it with the wrapped suite, for its exact error), and null altogether
   * when the pool failed. Sealed items are views of their job's result buffer (one per chunk),
   * not 2 small copies per seal: the ~10,000 ciphertexts of a large UpdatePath all stay alive
   * until it is encoded.
   */
  const sealOnPool = async (info: Uint8Array, aad: Uint8Array, items: readonly SealItem[]): Promise<(HpkeSealed | null)[] | null> => {
    const infoHash = hpke.infoHash(info);
    const jobs = Math.ceil(items.length / chunkSize);
    let results: SealResult[];
    try {
      results = (await pool.runJobs(jobs, (j) => sealJob(cs.params.id, infoHash, aad, items.slice(j * chunkSize, (j + 1) * chunkSize)))) as SealResult[];
    } catch {
      return null;
    }
    const out = new Array<HpkeSealed | null>(items.length);
    results.forEach((r, j) => {
      for (let k = 0; k < r.failed.length; k++) {
        out[j * chunkSize + k] = r.failed[k] === 1 ? null : { kemOutput: part(r.out, 2 * k), ciphertext: part(r.out, 2 * k + 1) };
      }
    });
    return out;
  };

  /** One group of queued seals under the same info and aad. */
  const sealGroup = async (items: readonly QueuedSeal[]): Promise<void> => {
    const first = items[0]!;
    const sealed = await sealOnPool(first.info, first.aad, items);
    items.forEach((q, i) => {
      const s = sealed?.[i] ?? null;
      if (s === null) sealHere(q);
      else q.resolve(s);
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
  const hpkeSealMany = async (info: Uint8Array, aad: Uint8Array, items: readonly SealItem[]): Promise<HpkeSealed[]> => {
    const sealed = items.length < minBatch ? null : await sealOnPool(info, aad, items);
    if (sealed !== null && !sealed.includes(null)) return sealed as HpkeSealed[];
    return Promise.all(items.map((item, i) => sealed?.[i] ?? cs.hpkeSeal(item.publicKey, info, aad, item.plaintext)));
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

/**
 * A pool of worker threads for CPU-bound batches (signature checks, HPKE seals; see ./jobs.ts).
 *
 *   runJobs(n, makeJob) ─┬─► worker 1 ◄─┐  each worker keeps up to 2 jobs in flight and gets the
 *                        ├─► worker k ◄─┤  next one as soon as it answers
 *                        └─► this thread takes jobs too, yielding between them
 *
 *   verifyEarly(checks) ─► workers start claiming chunks from shared memory at once;
 *        ... this thread does other work (e.g. the rest of the tree validation) ...
 *   finish() ─► this thread claims what is left, then waits for the workers' last chunks
 *
 * - Lazy: no thread exists until the first batch; size `os.availableParallelism() - 1` (at least
 *   1), so with the calling thread every core is busy.
 * - Never keeps the process alive: workers are unref'd while idle, ref'd while they hold work.
 * - Falls back to this thread alone when workers are unavailable (the compiled worker script is
 *   missing, e.g. when running from TypeScript sources; a thread cannot be created) or crash; a
 *   crashed worker's work is redone here.
 * - Node-only (`node:worker_threads`); nothing else in the engine imports this module, so the
 *   browser build never sees it.
 * @module
 */
import { existsSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker, type ResourceLimits } from "node:worker_threads";
import type { CipherSuiteId } from "../../crypto/cipher-suite.js";
import { claimVerify, runJob, sharedVerify, transferables, verifyUnfinished, type Job, type JobResult, type SharedVerify } from "./jobs.js";

/** Minimal view of `node:worker_threads`' Worker that the pool uses. */
interface WorkerLike {
  postMessage(value: unknown, transfer?: readonly ArrayBuffer[]): void;
  on(event: "message", listener: (value: WorkerReply) => void): this;
  on(event: "error", listener: (err: unknown) => void): this;
  on(event: "exit", listener: (code: number) => void): this;
  ref(): void;
  unref(): void;
  terminate(): Promise<number>;
}

/** What the pool sends to a worker. */
export type WorkerRequest = { readonly id: number; readonly job: Job } | { readonly id: number; readonly claim: SharedVerify };

/** What a worker sends back for request `id`. */
export type WorkerReply =
  | { readonly id: number; readonly result: JobResult }
  | { readonly id: number; readonly claimed: number }
  | { readonly id: number; readonly error: string };

export interface WorkerPoolOptions {
  /** Number of worker threads. Default `os.availableParallelism() - 1`, at least 1; 0: this thread only. */
  readonly size?: number;
  /** The worker script. Default: the compiled ./worker.js next to this module. */
  readonly workerUrl?: URL;
  /** V8 heap limits of each worker. Default {@link WORKER_RESOURCE_LIMITS}. */
  readonly resourceLimits?: ResourceLimits;
}

/**
 * Workers hold no state between jobs and each job is small (at most a few dozen seals or
 * signatures, or a claim on shared memory), so their heaps are kept small: V8's defaults (up to
 * 32 MB of young generation, an old generation that grows long before it is collected) cost a
 * 10,000-member client ~10 MB of resident memory during a commit for nothing. A worker that still
 * ran out of memory would only die: its work is redone on the calling thread.
 */
export const WORKER_RESOURCE_LIMITS: ResourceLimits = Object.freeze({ maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 64 });

interface Slot {
  readonly worker: WorkerLike;
  /** Requests sent and not answered yet. */
  readonly inflight: Set<number>;
  dead: boolean;
}

/** How to route the answer to a request, or its loss with a dying worker. */
interface Pending {
  readonly slot: Slot;
  readonly reply: (r: WorkerReply) => void;
  readonly lost: () => void;
}

/** Work being verified in shared memory; `finish` when this thread can help. */
export interface EarlyVerify {
  finish(): Promise<Uint8Array>;
}

/** Worker threads for this machine: one per core but one (the calling thread's). */
const DEFAULT_SIZE = Math.max(1, (typeof availableParallelism === "function" ? availableParallelism() : cpus().length) - 1);

/** Workers are started at most this many times per pool (crashing workers are not restarted forever). */
const MAX_SPAWNS = 3;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class WorkerPool {
  static #shared: WorkerPool | undefined;
  readonly #options: WorkerPoolOptions;
  #slots: Slot[] = [];
  #spawns = 0;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();

  /** Jobs or chunks run so far on the calling thread and on workers (to see how work was shared). */
  readonly stats = { here: 0, workers: 0 };

  constructor(options: WorkerPoolOptions = {}) {
    this.#options = options;
  }

  /** The process-wide default pool (created on first use, started on the first batch). */
  static shared(): WorkerPool {
    WorkerPool.#shared ??= new WorkerPool();
    return WorkerPool.#shared;
  }

  /** Number of live worker threads (0 before the first batch, or when workers are unavailable). */
  get threads(): number {
    return this.#slots.filter((s) => !s.dead).length;
  }

  /** Start the workers now instead of on the first batch; returns how many run. */
  async start(): Promise<number> {
    return this.#live().length;
  }

  /**
   * Run jobs 0..count-1 (built on demand by `makeJob`, so a job lost with a crashed worker can be
   * rebuilt) on the workers and this thread; results in job order.
   */
  async runJobs(count: number, makeJob: (i: number) => Job): Promise<JobResult[]> {
    const slots = count > 1 ? this.#live() : [];
    const results = new Array<JobResult | undefined>(count);
    const redo: number[] = [];
    let next = 0;
    let done = 0;
    let wake: (() => void) | null = null;
    const feed = (slot: Slot): void => {
      if (slot.dead || next >= count) return;
      const index = next++;
      this.#send(slot, (id) => ({ id, job: makeJob(index) }), {
        reply: (r) => {
          if ("result" in r) {
            results[index] = r.result;
            done++;
            this.stats.workers++;
          } else {
            redo.push(index);
          }
          feed(slot);
          wake?.();
        },
        lost: () => {
          redo.push(index);
          wake?.();
        },
      });
    };
    const here = (i: number): void => {
      results[i] = runJob(makeJob(i));
      done++;
      this.stats.here++;
    };
    for (const slot of slots) for (let k = 0; k < 2; k++) feed(slot);
    for (;;) {
      const i = redo.length > 0 ? redo.pop()! : next < count ? next++ : -1;
      if (i < 0) break;
      here(i);
      if (next < count || redo.length > 0) await yieldToEventLoop();
    }
    while (done < count) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = null;
      while (redo.length > 0) here(redo.pop()!);
    }
    return results as JobResult[];
  }

  /**
   * Start verifying `checks` on the workers now (they claim chunks from shared memory); the
   * returned `finish()` lets this thread claim what is left and resolves with one byte per check
   * (1: valid). Before the pool's first use on Node, the workers may still be starting: then
   * `finish()` does more of the work itself.
   */
  verifyEarly(suite: CipherSuiteId, checks: readonly { readonly publicKey: Uint8Array; readonly message: Uint8Array; readonly signature: Uint8Array }[], chunkSize: number): EarlyVerify {
    const job = sharedVerify(suite, checks, chunkSize);
    const waits = this.#live().map(
      (slot) =>
        new Promise<void>((resolve) => {
          this.#send(slot, (id) => ({ id, claim: job }), {
            reply: (r) => {
              if ("claimed" in r) this.stats.workers += r.claimed;
              resolve();
            },
            lost: () => resolve(),
          });
        }),
    );
    return {
      finish: async () => {
        this.stats.here += claimVerify(job);
        await Promise.all(waits);
        this.stats.here += verifyUnfinished(job);
        return job.ok.slice(0, job.count);
      },
    };
  }

  /** Stop the workers (a later batch starts new ones). */
  async close(): Promise<void> {
    const slots = this.#slots;
    this.#slots = [];
    this.#spawns = 0;
    await Promise.all(slots.map((s) => ((s.dead = true), s.worker.terminate())));
  }

  #send(slot: Slot, request: (id: number) => WorkerRequest, route: Omit<Pending, "slot">): void {
    const id = this.#nextId++;
    const msg = request(id);
    if (slot.inflight.size === 0) slot.worker.ref();
    slot.inflight.add(id);
    this.#pending.set(id, { slot, ...route });
    slot.worker.postMessage(msg, "job" in msg ? transferables(msg.job) : []);
  }

  #onReply(slot: Slot, reply: WorkerReply): void {
    const p = this.#pending.get(reply.id);
    if (p === undefined) return;
    this.#pending.delete(reply.id);
    slot.inflight.delete(reply.id);
    if (slot.inflight.size === 0) slot.worker.unref();
    p.reply(reply);
  }

  /** A worker failed: its requests are reported lost (their work is redone here); later work uses the others. */
  #onDeath(slot: Slot): void {
    if (slot.dead && slot.inflight.size === 0) return;
    slot.dead = true;
    this.#slots = this.#slots.filter((s) => s !== slot);
    const lost = [...slot.inflight];
    slot.inflight.clear();
    for (const id of lost) {
      const p = this.#pending.get(id);
      this.#pending.delete(id);
      p?.lost();
    }
  }

  /** The live workers, started synchronously if Node's modules are loaded (none otherwise). */
  #live(): Slot[] {
    const live = this.#slots.filter((s) => !s.dead);
    if (live.length > 0 || this.#spawns >= MAX_SPAWNS) return live;
    this.#spawns++;
    const size = this.#options.size ?? DEFAULT_SIZE;
    const script = this.#options.workerUrl ?? new URL("./worker.js", import.meta.url);
    if (size <= 0 || !existsSync(fileURLToPath(script))) {
      this.#spawns = MAX_SPAWNS; // unavailable: do not look again
      return [];
    }
    for (let k = 0; k < size; k++) {
      let worker: WorkerLike;
      try {
        worker = new Worker(script, { resourceLimits: this.#options.resourceLimits ?? WORKER_RESOURCE_LIMITS }) as unknown as WorkerLike;
      } catch {
        break;
      }
      const slot: Slot = { worker, inflight: new Set(), dead: false };
      worker.on("message", (reply) => this.#onReply(slot, reply));
      worker.on("error", () => this.#onDeath(slot));
      worker.on("exit", () => this.#onDeath(slot));
      // After the listeners: attaching a "message" listener refs the worker's port again, so a
      // pool started but never given work would keep the process alive.
      worker.unref();
      this.#slots.push(slot);
    }
    return this.#slots.filter((s) => !s.dead);
  }
}

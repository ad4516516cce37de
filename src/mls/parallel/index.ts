/**
 * Multi-threaded batches for large groups (Node only; opt-in, nothing in the engine imports this
 * module, so browser builds never load `node:worker_threads`):
 *
 * ```ts
 * const pool = WorkerPool.shared();
 * const cs = withWorkerPool(nativeProvider.suite(1), pool);           // HPKE seals of Welcomes and UpdatePaths
 * const config = groupConfig({ ..., verifySignatures: parallelSignatureVerifier(pool) }); // leaf signatures on join
 * ```
 *
 * Measured on 2 cores (one worker + the calling thread): see bench/group.ts.
 * @module
 */
export { WORKER_RESOURCE_LIMITS, WorkerPool, type WorkerPoolOptions } from "./pool.js";
export { withWorkerPool, type ParallelSuiteOptions } from "./parallel-suite.js";
export { parallelSignatureVerifier, type ParallelVerifierOptions } from "./verify.js";

/**
 * Signature batches across threads: the {@link SignatureBatchVerifier} of a GroupConfig for
 * joining large groups (RFC 9420 §12.4.3.1: every LeafNode signature of the tree, §7.3).
 * @module
 */
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { verifySignaturesSequentially, type SignatureBatchVerifier } from "../group/group-config.js";
import type { SignatureCheck } from "../tree/leaf-signature.js";
import { WorkerPool } from "./pool.js";

export interface ParallelVerifierOptions {
  /** Batches smaller than this are verified on the calling thread. Default 32. */
  readonly minBatch?: number;
  /** Signatures per chunk a thread claims. Default: a 16th of the batch, between 4 and 64. */
  readonly chunkSize?: number;
}

/**
 * A verifier using `pool` for native suites and large batches, the calling thread otherwise. The
 * workers start as soon as it is called; the result is a lazy PromiseLike: the calling thread
 * joins in (taking the chunks still left) only when it awaits it, e.g. after the rest of a
 * tree's validation (RFC 9420 §12.4.3.1), and not at all if that validation failed first.
 */
export function parallelSignatureVerifier(pool: WorkerPool = WorkerPool.shared(), options: ParallelVerifierOptions = {}): SignatureBatchVerifier {
  const minBatch = options.minBatch ?? 32;
  return (cs: CipherSuite, checks: readonly SignatureCheck[]): readonly boolean[] | PromiseLike<readonly boolean[]> => {
    if (cs.provider !== "native" || checks.length < minBatch) return verifySignaturesSequentially(cs, checks);
    // Small chunks for small batches (a page of application messages), so both threads get some.
    const chunkSize = options.chunkSize ?? Math.max(4, Math.min(64, Math.ceil(checks.length / 16)));
    const early = pool.verifyEarly(cs.params.id, checks, chunkSize);
    let result: Promise<readonly boolean[]> | undefined;
    const finish = (): Promise<readonly boolean[]> => (result ??= early.finish().then((ok) => Array.from(ok, (b) => b === 1)));
    return {
      then<R1 = readonly boolean[], R2 = never>(
        onFulfilled?: ((v: readonly boolean[]) => R1 | PromiseLike<R1>) | null,
        onRejected?: ((e: unknown) => R2 | PromiseLike<R2>) | null,
      ): PromiseLike<R1 | R2> {
        return finish().then(onFulfilled, onRejected);
      },
    };
  };
}

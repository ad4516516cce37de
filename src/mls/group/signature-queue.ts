/**
 * Signature checks of received application messages, gathered into batches for a
 * {@link SignatureBatchVerifier} that uses other threads.
 *
 * A PrivateMessage is decrypted synchronously (its key is consumed in arrival order, RFC 9420
 * §9.2); its FramedContent signature (RFC 9420 §6.1) is the costly part: ~65 µs of ~100 µs with
 * Ed25519. When a client hands over many messages at once (catching up after being offline,
 * `Promise.all` over a page of the archive), the checks made in one turn of the event loop are
 * verified as batches, spread over the worker pool and this thread: every 64 checks are handed to
 * the verifier at once (its threads start on them while this thread decrypts the next messages),
 * the rest at the end of the turn, when this thread joins in. A message processed on its own (the
 * caller awaits each one) is a batch of one, verified here at once. Batches settle in order.
 *
 *   processMessage ─► decrypt (sync) ─► queue.verify(check) ─┬► every 64: batch verifier starts
 *                                                            └► end of turn: the rest; settle all
 * @module
 */
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { CryptoError } from "../../errors.js";
import type { SignatureCheck } from "../tree/leaf-signature.js";
import { verifySignaturesSequentially, type SignatureBatchVerifier } from "./group-config.js";

/** Batches smaller than this are verified on this thread, one by one. */
const MIN_BATCH = 16;
/** A run of this many checks in one turn is handed to the verifier before the turn ends. */
const EARLY_BATCH = 64;

interface Pending {
  readonly check: SignatureCheck;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

export class SignatureQueue {
  #pending: Pending[] = [];
  #scheduled = false;
  /** Batches not settled yet, and the promise of the last one's settlement. */
  #outstanding = 0;
  #tail: Promise<void> = Promise.resolve();
  /** Batches handed to the verifier during this turn, settled at its end. */
  #started: { readonly batch: Pending[]; readonly result: readonly boolean[] | PromiseLike<readonly boolean[]> }[] = [];

  constructor(
    private readonly cs: CipherSuite,
    private readonly verifier: SignatureBatchVerifier,
  ) {}

  /** Resolves once `check` verified; rejects with CryptoError `crypto.bad_signature` otherwise. */
  verify(check: SignatureCheck): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ check, resolve, reject });
      // A long run of messages in one turn: hand the first EARLY_BATCH to the verifier now, so
      // that other threads check them while this one decrypts the rest of the run.
      if (this.#pending.length >= EARLY_BATCH) this.#startBatch();
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(() => this.#flush());
      }
    });
  }

  /** Call the verifier on the pending checks (a batch verifier starts its threads at once). */
  #startBatch(): void {
    const batch = this.#pending;
    this.#pending = [];
    let result: readonly boolean[] | PromiseLike<readonly boolean[]>;
    try {
      const checks = batch.map((p) => p.check);
      result = batch.length < MIN_BATCH ? verifySignaturesSequentially(this.cs, checks) : this.verifier(this.cs, checks);
    } catch (e) {
      result = Promise.reject(e);
    }
    this.#started.push({ batch, result });
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#pending.length > 0) this.#startBatch();
    const started = this.#started;
    this.#started = [];
    // Awaited only now (a lazy batch verifier lets this thread join in when awaited, which must
    // not happen while messages of this turn were still being decrypted).
    for (const { batch, result } of started) this.#settle(batch, result);
  }

  #settle(batch: readonly Pending[], result: readonly boolean[] | PromiseLike<readonly boolean[]>): void {
    const settle = (ok: readonly boolean[]): void => {
      for (let i = 0; i < batch.length; i++) {
        const p = batch[i]!;
        if (ok[i] === true) p.resolve();
        else p.reject(new CryptoError("bad_signature", "the FramedContent signature does not verify"));
      }
    };
    const fail = (e: unknown): void => {
      for (const p of batch) p.reject(e);
    };
    // Batches settle in the order they were made, even when an earlier one is still on other
    // threads: each message's generation is recorded when it settles (RFC 9750 §8.1.4 gaps).
    if (this.#outstanding === 0 && Array.isArray(result)) {
      settle(result as readonly boolean[]);
      return;
    }
    this.#outstanding++;
    const r = result;
    this.#tail = this.#tail
      .then(() => r)
      .then(settle, fail)
      .finally(() => {
        this.#outstanding--;
      });
  }
}

const queues = new WeakMap<CipherSuite, WeakMap<SignatureBatchVerifier, SignatureQueue>>();

/** The queue of `verifier` for `cs` (one per pair, shared by every group using them). */
export function signatureQueue(cs: CipherSuite, verifier: SignatureBatchVerifier): SignatureQueue {
  let byVerifier = queues.get(cs);
  if (byVerifier === undefined) queues.set(cs, (byVerifier = new WeakMap()));
  let q = byVerifier.get(verifier);
  if (q === undefined) byVerifier.set(verifier, (q = new SignatureQueue(cs, verifier)));
  return q;
}

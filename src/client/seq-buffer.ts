/**
 * Handshake ordering on the receiving side (XEP "Delivery of Handshake Messages",
 * "Implementation Notes / Ordering"): a client applies handshakes strictly in 'seq' order,
 * ignores what it already processed, and on a gap fetches the missing entries from the log.
 *
 *   offer(seq, item) ─► duplicate (seq <= last) │ buffered
 *   next()           ─► the item at last+1, or null (gap, or nothing buffered)
 *   gap()            ─► {from, to}: the seqs missing before the lowest buffered one
 *   advance(seq)     ─► entries up to seq were processed another way (log page, own verdict)
 *
 * Welcome records: the hub logs a `welcome-record` right after each Commit that adds members,
 * but only reflects proposals and Commits into the room, so live traffic skips that seq. After
 * such a Commit the caller marks the next seq {@link SeqBuffer.mayBeSkipped}; if the following
 * seq arrives while it is missing, it is passed over instead of being reported as a gap. If that
 * seq does arrive as a reflected message, it is processed normally.
 * @module
 */
import { UsageError } from "../errors.js";

function checkSeq(seq: number, what: string): void {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new UsageError("bad_seq", `"${what}" must be a non-negative safe integer, got ${seq}`);
}

export class SeqBuffer<T> {
  #last: number;
  readonly #pending = new Map<number, T>();
  readonly #skippable = new Set<number>();

  /** @param last the highest seq already processed (0 for a new group: the log starts at 1). */
  constructor(last = 0) {
    checkSeq(last, "last");
    this.#last = last;
  }

  /** The highest seq processed. */
  get last(): number {
    return this.#last;
  }

  /** How many out-of-order items are waiting. */
  get size(): number {
    return this.#pending.size;
  }

  /** Keep `item` for its turn; false if `seq` was already processed (a duplicate) or is already waiting. */
  offer(seq: number, item: T): boolean {
    checkSeq(seq, "seq");
    if (seq <= this.#last || this.#pending.has(seq)) return false;
    this.#pending.set(seq, item);
    return true;
  }

  /** `seq` may be a log entry that is never reflected (a welcome-record). */
  mayBeSkipped(seq: number): void {
    checkSeq(seq, "seq");
    if (seq > this.#last) this.#skippable.add(seq);
  }

  /** The next item in order, consumed (`last` becomes its seq); null when it has not arrived. */
  next(): { readonly seq: number; readonly item: T } | null {
    for (;;) {
      const seq = this.#last + 1;
      const item = this.#pending.get(seq);
      if (item !== undefined) {
        this.#pending.delete(seq);
        this.#skippable.delete(seq);
        this.#last = seq;
        return { seq, item };
      }
      // A missing welcome-record seq is passed over once something after it has arrived.
      if (this.#skippable.has(seq) && this.#lowestPending() !== null) {
        this.#skippable.delete(seq);
        this.#last = seq;
        continue;
      }
      return null;
    }
  }

  /** The missing range before the lowest waiting item, or null when nothing is missing. */
  gap(): { readonly from: number; readonly to: number } | null {
    const low = this.#lowestPending();
    if (low === null) return null;
    let from = this.#last + 1;
    while (from < low && this.#skippable.has(from)) from++;
    return from < low ? { from, to: low - 1 } : null;
  }

  /** Everything up to `seq` has been processed (from the log, or our own accepted submission). */
  advance(seq: number): void {
    checkSeq(seq, "seq");
    if (seq <= this.#last) return;
    this.#last = seq;
    for (const s of [...this.#pending.keys()]) if (s <= seq) this.#pending.delete(s);
    for (const s of [...this.#skippable]) if (s <= seq) this.#skippable.delete(s);
  }

  /** Drop everything waiting (e.g. on disconnect; the log will deliver it again). */
  clear(): void {
    this.#pending.clear();
  }

  #lowestPending(): number | null {
    let low: number | null = null;
    for (const s of this.#pending.keys()) if (low === null || s < low) low = s;
    return low;
  }
}

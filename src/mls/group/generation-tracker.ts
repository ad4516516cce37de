/**
 * Per-sender generation bookkeeping for one epoch (RFC 9750 §8.1.4): "Each encrypted MLS message
 * carries a 'generation' number which is a per-sender incrementing counter. If a group member
 * observes a gap in the generation sequence for a sender, then they know that they have missed a
 * message from that sender."
 *
 * For every (sender leaf, ratchet) this records the highest generation seen and the generations
 * below it that have not arrived (yet). A late message fills its gap. Missing generations are
 * capped per sender ({@link MAX_TRACKED_MISSING}); older ones beyond the cap are only counted.
 *
 * Mutable, like the epoch's SecretTree it sits next to (see {@link EpochRuntime}).
 * @module
 */
import type { RatchetType } from "../schedule/secret-tree.js";

/** Most missing generations remembered per sender and ratchet. */
export const MAX_TRACKED_MISSING = 1024;

/** The gap state of one sender's ratchet in one epoch. */
export interface SenderGenerationGaps {
  readonly epoch: bigint;
  readonly leafIndex: number;
  readonly ratchet: RatchetType;
  /** Highest generation received. */
  readonly highest: number;
  /** Generations below `highest` never received, ascending (at most {@link MAX_TRACKED_MISSING}). */
  readonly missing: readonly number[];
  /** Missing generations forgotten because of the cap. */
  readonly untracked: number;
}

interface Entry {
  next: number;
  readonly missing: Set<number>;
  untracked: number;
}

export class GenerationTracker {
  readonly #entries = new Map<string, Entry>();

  constructor(readonly epoch: bigint) {}

  /**
   * Record a received (decrypted and verified) generation. Returns the generations this message
   * revealed as skipped (empty when it is the next expected one or a late one).
   */
  record(leafIndex: number, ratchet: RatchetType, generation: number): number[] {
    const key = `${ratchet}:${leafIndex}`;
    let e = this.#entries.get(key);
    if (e === undefined) {
      e = { next: 0, missing: new Set(), untracked: 0 };
      this.#entries.set(key, e);
    }
    if (generation < e.next) {
      e.missing.delete(generation);
      return [];
    }
    const skipped: number[] = [];
    const from = Math.max(e.next, generation - MAX_TRACKED_MISSING);
    e.untracked += from - e.next;
    for (let g = from; g < generation; g++) {
      skipped.push(g);
      e.missing.add(g);
    }
    e.next = generation + 1;
    if (e.missing.size > MAX_TRACKED_MISSING) {
      for (const g of e.missing) {
        if (e.missing.size <= MAX_TRACKED_MISSING) break;
        e.missing.delete(g);
        e.untracked++;
      }
    }
    return skipped;
  }

  /** Every entry, for persistence. */
  snapshot(): { leafIndex: number; ratchet: RatchetType; next: number; missing: number[]; untracked: number }[] {
    return [...this.#entries].map(([key, e]) => {
      const [ratchet, leaf] = key.split(":") as [RatchetType, string];
      return { leafIndex: Number(leaf), ratchet, next: e.next, missing: [...e.missing], untracked: e.untracked };
    });
  }

  /** Rebuild a tracker from {@link snapshot}. */
  static restore(epoch: bigint, entries: Iterable<{ leafIndex: number; ratchet: RatchetType; next: number; missing: Iterable<number>; untracked: number }>): GenerationTracker {
    const t = new GenerationTracker(epoch);
    for (const e of entries) t.#entries.set(`${e.ratchet}:${e.leafIndex}`, { next: e.next, missing: new Set(e.missing), untracked: e.untracked });
    return t;
  }

  /** Every sender with a gap (or every sender seen, with `all`). */
  report(all = false): SenderGenerationGaps[] {
    const out: SenderGenerationGaps[] = [];
    for (const [key, e] of this.#entries) {
      if (!all && e.missing.size === 0 && e.untracked === 0) continue;
      const [ratchet, leaf] = key.split(":") as [RatchetType, string];
      out.push({
        epoch: this.epoch,
        leafIndex: Number(leaf),
        ratchet,
        highest: e.next - 1,
        missing: [...e.missing].sort((a, b) => a - b),
        untracked: e.untracked,
      });
    }
    return out.sort((a, b) => a.leafIndex - b.leafIndex || a.ratchet.localeCompare(b.ratchet));
  }
}

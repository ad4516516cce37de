/**
 * One sender ratchet of the secret tree (RFC 9420 §9.1): a hash chain of ratchet secrets, each of
 * which yields the key and nonce of one generation, with the out-of-order window and deletion
 * schedule of §9.2. Used only through {@link SecretTree}.
 * @module
 */
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { deriveTreeSecret } from "../../crypto/labeled.js";
import { InternalError, UsageError, ValidationError } from "../../errors.js";
import { wipe } from "../../util/bytes.js";

/** Which of a leaf's two ratchets (RFC 9420 §9): Proposals and Commits use "handshake". */
export type RatchetType = "handshake" | "application";

/** The key and nonce of one generation of a sender ratchet (RFC 9420 §9.1). */
export interface RatchetKey {
  readonly generation: number;
  readonly key: Uint8Array;
  readonly nonce: Uint8Array;
}

/** Limits on out-of-order reception for every sender ratchet of a secret tree. */
export interface RatchetLimits {
  /** How many generations a sender may skip ahead of the next expected one. */
  readonly maxForwardDistance: number;
  /** How many skipped (not yet used) past keys each ratchet keeps; the oldest are dropped first. */
  readonly maxPastKeys: number;
}

const MAX_GENERATION = 0xffffffff;

/**
 * The whole state of a {@link SenderRatchet}, for persistence: the current ratchet secret (null
 * when exhausted), the next generation, the floor below which nothing is recoverable, and the
 * unused past keys. Holds secrets.
 */
export interface SenderRatchetSnapshot {
  readonly secret: Uint8Array | null;
  readonly next: number;
  readonly floor: number;
  readonly past: readonly RatchetKey[];
}

export class SenderRatchet {
  /** ratchet_secret_[N]_[next]; null once the chain is exhausted or destroyed. */
  private secret: Uint8Array | null;
  /** The generation whose key `secret` yields next. */
  private next = 0;
  /** Every generation below `floor` has been dropped or used; nothing below it can be recovered. */
  private floor = 0;
  /** Derived, unused keys of generations in [floor, next), in ascending order (Map keeps insertion order). */
  private readonly past = new Map<number, RatchetKey>();

  constructor(
    private readonly cs: CipherSuite,
    private readonly type: RatchetType,
    initialSecret: Uint8Array,
    private readonly limits: RatchetLimits,
  ) {
    this.secret = initialSecret;
  }

  /** The next generation this ratchet will produce (for diagnostics and tests). */
  get nextGeneration(): number {
    return this.next;
  }

  /** How many past keys are held (for tests of the window). */
  get pastKeyCount(): number {
    return this.past.size;
  }

  /** RFC 9420 §9.1: key and nonce of the current generation, then step the chain. */
  private step(keep: boolean): RatchetKey | null {
    const secret = this.secret;
    if (secret === null) throw new UsageError("ratchet_exhausted", `the ${this.type} ratchet has no generations left`);
    const { Nk, Nn, Nh } = this.cs.params;
    const generation = this.next;
    let out: RatchetKey | null = null;
    if (keep) {
      const nonce = deriveTreeSecret(this.cs, secret, "nonce", generation, Nn);
      const key = deriveTreeSecret(this.cs, secret, "key", generation, Nk);
      out = { generation, key, nonce };
    }
    // RFC 9420 §9.2: a ratchet secret is consumed once the next one is derived.
    this.secret = generation === MAX_GENERATION ? null : deriveTreeSecret(this.cs, secret, "secret", generation, Nh);
    wipe(secret);
    this.next = generation + 1;
    return out;
  }

  /** The key of the next generation for sending. The caller must wipe it after use. */
  takeNext(): RatchetKey {
    const k = this.step(true);
    if (k === null) throw new InternalError("ratchet step produced no key");
    return k;
  }

  /**
   * Make sure the key of `generation` is held in the past-key store and return it (not yet
   * consumed). Advances the chain when `generation` is ahead, keeping skipped keys within limits.
   */
  peek(generation: number): RatchetKey {
    if (!Number.isInteger(generation) || generation < 0 || generation > MAX_GENERATION) {
      throw new ValidationError("bad_generation", `generation ${generation} is not a uint32`, "RFC 9420 §6.3.2");
    }
    if (generation >= this.next) {
      const skip = generation - this.next;
      if (skip > this.limits.maxForwardDistance) {
        throw new ValidationError(
          "generation_too_far",
          `${this.type} generation ${generation} is ${skip} ahead of the expected ${this.next} (limit ${this.limits.maxForwardDistance})`,
          "RFC 9420 §9.2",
        );
      }
      // Keys of generations that would be evicted at once are never derived.
      const firstKept = generation - this.limits.maxPastKeys;
      while (this.next <= generation) {
        const g = this.next;
        const k = this.step(g >= firstKept || g === generation);
        if (k === null) this.floor = g + 1;
        else this.past.set(g, k);
      }
    }
    const k = this.past.get(generation);
    if (k !== undefined) return k;
    if (generation < this.floor) {
      throw new ValidationError(
        "generation_too_old",
        `${this.type} generation ${generation} is older than the ${this.limits.maxPastKeys} past keys kept`,
        "RFC 9420 §9.2",
      );
    }
    throw new ValidationError("key_reused", `${this.type} generation ${generation} was already used`, "RFC 9420 §9.2");
  }

  /** RFC 9420 §9.2: delete and wipe a key once it has been used. */
  consume(generation: number): void {
    const k = this.past.get(generation);
    if (k === undefined) return;
    this.past.delete(generation);
    wipe(k.key, k.nonce);
  }

  /** Drop the oldest past keys beyond `maxPastKeys`. */
  evict(): void {
    for (const [g, k] of this.past) {
      if (this.past.size <= this.limits.maxPastKeys) break;
      this.past.delete(g);
      wipe(k.key, k.nonce);
      this.floor = g + 1;
    }
  }

  /** A copy of the state (secrets copied: the ratchet keeps evolving independently). */
  snapshot(): SenderRatchetSnapshot {
    return {
      secret: this.secret === null ? null : this.secret.slice(),
      next: this.next,
      floor: this.floor,
      past: [...this.past.values()].map((k) => ({ generation: k.generation, key: k.key.slice(), nonce: k.nonce.slice() })),
    };
  }

  /**
   * A ratchet from {@link snapshot} (secrets copied). RangeError when the snapshot is inconsistent
   * (lengths of the suite, generations in order and inside [floor, next)).
   */
  static fromSnapshot(cs: CipherSuite, type: RatchetType, s: SenderRatchetSnapshot, limits: RatchetLimits): SenderRatchet {
    const { Nh, Nk, Nn } = cs.params;
    const gen = (v: number, name: string): void => {
      if (!Number.isInteger(v) || v < 0 || v > MAX_GENERATION + 1) throw new RangeError(`"${name}" expected a generation, got ${v}`);
    };
    gen(s.next, "next");
    gen(s.floor, "floor");
    if (s.floor > s.next) throw new RangeError(`"floor" ${s.floor} is above "next" ${s.next}`);
    if (s.secret === null ? s.next <= MAX_GENERATION : s.secret.length !== Nh || s.next > MAX_GENERATION) {
      throw new RangeError(`"secret" expected ${Nh} bytes while generations remain, got ${s.secret === null ? "none" : `length=${s.secret.length}`} at generation ${s.next}`);
    }
    const r = new SenderRatchet(cs, type, s.secret === null ? new Uint8Array(0) : s.secret.slice(), limits);
    if (s.secret === null) r.secret = null;
    r.next = s.next;
    r.floor = s.floor;
    let last = -1;
    for (const k of s.past) {
      if (!Number.isInteger(k.generation) || k.generation <= last || k.generation < s.floor || k.generation >= s.next) {
        throw new RangeError(`past key generation ${k.generation} is out of order or outside [${s.floor}, ${s.next})`);
      }
      if (k.key.length !== Nk || k.nonce.length !== Nn) throw new RangeError(`past key ${k.generation} expected a ${Nk}-byte key and ${Nn}-byte nonce`);
      last = k.generation;
      r.past.set(k.generation, { generation: k.generation, key: k.key.slice(), nonce: k.nonce.slice() });
    }
    return r;
  }

  /** Wipe every secret this ratchet holds. */
  destroy(): void {
    for (const k of this.past.values()) wipe(k.key, k.nonce);
    this.past.clear();
    if (this.secret !== null) wipe(this.secret);
    this.secret = null;
    this.floor = this.next;
  }
}

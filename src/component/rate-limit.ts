/**
 * Token-bucket rate limiting per (JID, action), RFC 9750 §8.1.3 (DoS protection by the DS).
 *
 * Each (JID, action) pair has a bucket holding up to `burst` tokens, refilled continuously at
 * `perMinute` tokens per minute; a request takes one token or is denied with the time until one
 * is available. Buckets live in a Map kept in least-recently-used order:
 * - a bucket that has been idle long enough to be full again carries no information (a new bucket
 *   would be identical), so idle buckets are swept away cheaply from the old end;
 * - if there are still more than `maxBuckets` buckets, the least recently used ones are dropped.
 *   Dropping a non-full bucket is lenient (that JID gets a fresh burst): memory stays bounded at the
 *   price of letting an attacker controlling more than `maxBuckets` JIDs slip a few extra requests.
 * The clock is injectable for tests.
 * @module
 */

import { UsageError } from "../errors.js";

export interface RateRule {
  /** Sustained rate: tokens added per minute. */
  readonly perMinute: number;
  /** Bucket size: how many requests may come at once. Default `perMinute` (one minute's worth). */
  readonly burst?: number;
}

export interface RateLimiterOptions<A extends string> {
  readonly rules: Readonly<Record<A, RateRule>>;
  /** Clock in milliseconds. Default `Date.now`. */
  readonly now?: () => number;
  /** Most buckets kept at once. Default 100000. */
  readonly maxBuckets?: number;
}

export type RateDecision =
  | { readonly allowed: true; /** Whole tokens left after this request. */ readonly remaining: number }
  | { readonly allowed: false; /** Milliseconds until the request would be allowed. */ readonly retryAfterMs: number };

interface Bucket {
  tokens: number;
  /** Time of the last refill computation. */
  at: number;
  readonly rule: Required<RateRule>;
}

/** Sweep idle buckets every this many calls (amortized O(1)). */
const SWEEP_EVERY = 256;

export class RateLimiter<A extends string> {
  readonly #rules: ReadonlyMap<A, Required<RateRule>>;
  readonly #now: () => number;
  readonly #maxBuckets: number;
  /** Least recently used first. Keys are `action\u0000jid` (NUL cannot occur in a JID). */
  readonly #buckets = new Map<string, Bucket>();
  #calls = 0;

  constructor(options: RateLimiterOptions<A>) {
    const rules = new Map<A, Required<RateRule>>();
    for (const [action, rule] of Object.entries(options.rules) as [A, RateRule][]) {
      if (!(Number.isFinite(rule.perMinute) && rule.perMinute > 0)) {
        throw new UsageError("bad_argument", `"rules.${action}.perMinute" must be a positive number`);
      }
      const burst = rule.burst ?? rule.perMinute;
      if (!(Number.isFinite(burst) && burst >= 1)) throw new UsageError("bad_argument", `"rules.${action}.burst" must be at least 1`);
      rules.set(action, { perMinute: rule.perMinute, burst });
    }
    const maxBuckets = options.maxBuckets ?? 100_000;
    if (!(Number.isInteger(maxBuckets) && maxBuckets >= 1)) throw new UsageError("bad_argument", `"maxBuckets" must be a positive integer`);
    this.#rules = rules;
    this.#now = options.now ?? Date.now;
    this.#maxBuckets = maxBuckets;
  }

  /** Number of buckets currently kept (for tests and metrics). */
  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Take one token (or `cost` tokens) for `jid` doing `action`. A denied request takes nothing.
   * @throws UsageError for an action without a rule, or a cost above the burst size.
   */
  take(jid: string, action: A, cost = 1): RateDecision {
    const rule = this.#rules.get(action);
    if (rule === undefined) throw new UsageError("bad_argument", `no rate rule for action "${action}"`);
    if (!(Number.isFinite(cost) && cost > 0 && cost <= rule.burst)) {
      throw new UsageError("bad_argument", `"cost" must be in (0, ${rule.burst}]`);
    }
    const now = this.#now();
    const key = `${action}\u0000${jid}`;
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) bucket = { tokens: rule.burst, at: now, rule };
    else {
      this.#refill(bucket, now);
      this.#buckets.delete(key); // re-inserted below: move to the most recently used end
    }
    this.#buckets.set(key, bucket);

    let decision: RateDecision;
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      decision = { allowed: true, remaining: Math.floor(bucket.tokens) };
    } else {
      const msPerToken = 60_000 / rule.perMinute;
      decision = { allowed: false, retryAfterMs: Math.ceil((cost - bucket.tokens) * msPerToken) };
    }
    // After the take: the bucket just used is the newest and not full, so it is never the one dropped.
    if (++this.#calls % SWEEP_EVERY === 0 || this.#buckets.size > this.#maxBuckets) this.#evict(now);
    return decision;
  }

  /** Forget everything (e.g. after a configuration reload). */
  clear(): void {
    this.#buckets.clear();
  }

  #refill(b: Bucket, now: number): void {
    // A clock going backwards must not mint tokens.
    const elapsed = Math.max(0, now - b.at);
    b.tokens = Math.min(b.rule.burst, b.tokens + (elapsed * b.rule.perMinute) / 60_000);
    b.at = Math.max(b.at, now);
  }

  /** Drop idle (full again) buckets from the old end, then the oldest ones beyond the cap. */
  #evict(now: number): void {
    for (const [key, b] of this.#buckets) {
      const fullAt = b.at + ((b.rule.burst - b.tokens) * 60_000) / b.rule.perMinute;
      if (fullAt > now) break; // younger buckets were used more recently: stop at the first busy one
      this.#buckets.delete(key);
    }
    while (this.#buckets.size > this.#maxBuckets) {
      const oldest = this.#buckets.keys().next();
      if (oldest.done === true) break;
      this.#buckets.delete(oldest.value);
    }
  }
}

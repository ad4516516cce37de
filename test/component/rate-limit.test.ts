/** Token-bucket rate limiter: bursts, refill, independence of keys, clock handling, bounded memory. */

import { describe, expect, it } from "vitest";
import { RateLimiter } from "../../src/component/rate-limit.js";
import { UsageError } from "../../src/errors.js";

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms), set: (ms: number) => (t = ms) };
}

type Action = "submit" | "claim";

describe("RateLimiter", () => {
  it("allows a burst of perMinute requests, then denies with the time until the next token", () => {
    const c = clock();
    const rl = new RateLimiter<Action>({ rules: { submit: { perMinute: 6 }, claim: { perMinute: 60 } }, now: c.now });
    for (let i = 5; i >= 0; i--) expect(rl.take("a@x", "submit")).toEqual({ allowed: true, remaining: i });
    expect(rl.take("a@x", "submit")).toEqual({ allowed: false, retryAfterMs: 10_000 });
    c.advance(4_000);
    expect(rl.take("a@x", "submit")).toEqual({ allowed: false, retryAfterMs: 6_000 });
    c.advance(6_000);
    expect(rl.take("a@x", "submit")).toEqual({ allowed: true, remaining: 0 });
    expect(rl.take("a@x", "submit").allowed).toBe(false);
  });

  it("a denied request takes nothing", () => {
    const c = clock();
    const rl = new RateLimiter<Action>({ rules: { submit: { perMinute: 60, burst: 1 }, claim: { perMinute: 1 } }, now: c.now });
    expect(rl.take("a@x", "submit").allowed).toBe(true);
    for (let i = 0; i < 10; i++) expect(rl.take("a@x", "submit").allowed).toBe(false);
    c.advance(1_000);
    expect(rl.take("a@x", "submit").allowed).toBe(true);
  });

  it("refills continuously up to the burst size only", () => {
    const c = clock();
    const rl = new RateLimiter<Action>({ rules: { submit: { perMinute: 60, burst: 3 }, claim: { perMinute: 1 } }, now: c.now });
    for (let i = 0; i < 3; i++) rl.take("a@x", "submit");
    c.advance(3_600_000);
    expect(rl.take("a@x", "submit")).toEqual({ allowed: true, remaining: 2 });
    rl.take("a@x", "submit");
    rl.take("a@x", "submit");
    expect(rl.take("a@x", "submit").allowed).toBe(false);
  });

  it("keeps JIDs and actions apart", () => {
    const c = clock();
    const rl = new RateLimiter<Action>({ rules: { submit: { perMinute: 1 }, claim: { perMinute: 1 } }, now: c.now });
    expect(rl.take("a@x", "submit").allowed).toBe(true);
    expect(rl.take("a@x", "submit").allowed).toBe(false);
    expect(rl.take("b@x", "submit").allowed).toBe(true);
    expect(rl.take("a@x", "claim").allowed).toBe(true);
  });

  it("does not mint tokens when the clock goes backwards", () => {
    const c = clock(10_000_000);
    const rl = new RateLimiter<Action>({ rules: { submit: { perMinute: 1 }, claim: { perMinute: 1 } }, now: c.now });
    expect(rl.take("a@x", "submit").allowed).toBe(true);
    c.set(0);
    expect(rl.take("a@x", "submit").allowed).toBe(false);
    c.set(10_000_000 + 30_000);
    expect(rl.take("a@x", "submit").allowed).toBe(false);
    c.set(10_000_000 + 60_000);
    expect(rl.take("a@x", "submit").allowed).toBe(true);
  });

  it("supports a cost above one", () => {
    const c = clock();
    const rl = new RateLimiter<Action>({ rules: { submit: { perMinute: 10 }, claim: { perMinute: 1 } }, now: c.now });
    expect(rl.take("a@x", "submit", 8)).toEqual({ allowed: true, remaining: 2 });
    expect(rl.take("a@x", "submit", 3)).toEqual({ allowed: false, retryAfterMs: 6_000 });
  });

  it("forgets idle buckets, so memory stays bounded under many JIDs", () => {
    const c = clock();
    const rl = new RateLimiter<Action>({ rules: { submit: { perMinute: 60 }, claim: { perMinute: 60 } }, now: c.now, maxBuckets: 1_000_000 });
    for (let i = 0; i < 300; i++) rl.take(`u${i}@x`, "submit");
    expect(rl.size).toBe(300);
    c.advance(60_000); // every bucket is full again: indistinguishable from a new one
    for (let i = 0; i < 300; i++) {
      rl.take(`v${i}@x`, "submit");
      c.advance(1);
    }
    expect(rl.size).toBeLessThan(300 + 256);
    expect(rl.size).toBeGreaterThanOrEqual(44); // the v-buckets used since the last sweep are kept
  });

  it("never keeps more than maxBuckets, dropping the least recently used", () => {
    const c = clock();
    const rl = new RateLimiter<Action>({ rules: { submit: { perMinute: 1 }, claim: { perMinute: 1 } }, now: c.now, maxBuckets: 10 });
    rl.take("first@x", "submit");
    for (let i = 0; i < 50; i++) {
      rl.take(`u${i}@x`, "submit");
      expect(rl.size).toBeLessThanOrEqual(10);
    }
    // the recently used ones are remembered ...
    expect(rl.take("u49@x", "submit").allowed).toBe(false);
    // ... the oldest was dropped (lenient by design: it starts over)
    expect(rl.take("first@x", "submit").allowed).toBe(true);
  });

  it("keeps the bucket it just charged even when sweeping", () => {
    const c = clock();
    const rl = new RateLimiter<Action>({ rules: { submit: { perMinute: 1 }, claim: { perMinute: 1 } }, now: c.now });
    for (let i = 0; i < 255; i++) rl.take(`u${i}@x`, "claim");
    c.advance(120_000); // all idle
    expect(rl.take("a@x", "submit").allowed).toBe(true); // 256th call sweeps
    expect(rl.size).toBe(1);
    expect(rl.take("a@x", "submit").allowed).toBe(false);
  });

  it("rejects bad rules, unknown actions and impossible costs", () => {
    expect(() => new RateLimiter({ rules: { submit: { perMinute: 0 } } })).toThrow(UsageError);
    expect(() => new RateLimiter({ rules: { submit: { perMinute: 5, burst: 0.5 } } })).toThrow(UsageError);
    expect(() => new RateLimiter({ rules: { submit: { perMinute: 5 } }, maxBuckets: 0 })).toThrow(UsageError);
    const rl = new RateLimiter<string>({ rules: { submit: { perMinute: 5 } } });
    expect(() => rl.take("a@x", "claim")).toThrow(/no rate rule/);
    expect(() => rl.take("a@x", "submit", 6)).toThrow(UsageError);
    expect(() => rl.take("a@x", "submit", 0)).toThrow(UsageError);
  });
});

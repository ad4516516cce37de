import { describe, expect, it } from "vitest";
import { SeqBuffer } from "../../src/client/seq-buffer.js";

function drain<T>(b: SeqBuffer<T>): number[] {
  const out: number[] = [];
  for (let n = b.next(); n !== null; n = b.next()) out.push(n.seq);
  return out;
}

describe("SeqBuffer", () => {
  it("releases items in seq order and drops duplicates", () => {
    const b = new SeqBuffer<string>(4);
    expect(b.offer(4, "old")).toBe(false);
    expect(b.offer(3, "older")).toBe(false);
    expect(b.offer(5, "a")).toBe(true);
    expect(b.offer(5, "a again")).toBe(false);
    expect(b.next()).toEqual({ seq: 5, item: "a" });
    expect(b.last).toBe(5);
    expect(b.next()).toBeNull();
  });

  it("buffers out-of-order seqs, reports the gap, and drains once it is filled", () => {
    const b = new SeqBuffer<string>(0);
    b.offer(3, "c");
    b.offer(5, "e");
    expect(b.next()).toBeNull();
    expect(b.gap()).toEqual({ from: 1, to: 2 });
    b.offer(1, "a");
    expect(drain(b)).toEqual([1]);
    expect(b.gap()).toEqual({ from: 2, to: 2 });
    b.offer(2, "b");
    expect(drain(b)).toEqual([2, 3]);
    expect(b.gap()).toEqual({ from: 4, to: 4 });
    b.offer(4, "d");
    expect(drain(b)).toEqual([4, 5]);
    expect(b.gap()).toBeNull();
    expect(b.size).toBe(0);
  });

  it("advance() (log page, own verdict) drops what it covers", () => {
    const b = new SeqBuffer<string>(10);
    b.offer(12, "x");
    b.offer(15, "y");
    b.advance(13);
    expect(b.last).toBe(13);
    expect(b.size).toBe(1);
    expect(b.gap()).toEqual({ from: 14, to: 14 });
    b.advance(9); // never goes back
    expect(b.last).toBe(13);
    b.advance(15);
    expect(b.next()).toBeNull();
    expect(b.size).toBe(0);
  });

  it("passes over a missing welcome-record seq once the next one arrives", () => {
    const b = new SeqBuffer<string>(16);
    b.offer(17, "commit adding bob");
    expect(drain(b)).toEqual([17]);
    b.mayBeSkipped(18); // the hub logs a welcome-record at 18 but does not reflect it
    expect(b.next()).toBeNull(); // nothing after it yet: keep waiting
    b.offer(19, "next commit");
    expect(b.gap()).toBeNull();
    expect(drain(b)).toEqual([19]);
    expect(b.last).toBe(19);
  });

  it("still processes a skippable seq when it does arrive", () => {
    const b = new SeqBuffer<string>(17);
    b.mayBeSkipped(18);
    b.offer(18, "a proposal after all");
    b.offer(19, "commit");
    expect(drain(b)).toEqual([18, 19]);
  });

  it("reports a gap after a skippable seq", () => {
    const b = new SeqBuffer<string>(17);
    b.mayBeSkipped(18);
    b.offer(21, "late");
    expect(b.gap()).toEqual({ from: 19, to: 20 });
    expect(b.next()).toBeNull();
    expect(b.last).toBe(18);
  });

  it("clear() forgets waiting items, and bad seqs are refused", () => {
    const b = new SeqBuffer<string>(0);
    b.offer(2, "x");
    b.clear();
    expect(b.size).toBe(0);
    expect(b.gap()).toBeNull();
    expect(() => b.offer(-1, "x")).toThrow(/seq/);
    expect(() => b.offer(1.5, "x")).toThrow(/seq/);
    expect(() => new SeqBuffer(-3)).toThrow(/last/);
  });
});

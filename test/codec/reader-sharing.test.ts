/**
 * The memory-saving parts of the codec: Reader `shareInput` views, `readSince`, `interned` and
 * `peekVectorsSpan`; Writer `view`, `reset` and the buffer hand-over of `finish`.
 */
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { decode, Reader } from "../../src/codec/reader.js";
import { Writer } from "../../src/codec/writer.js";
import { CodecError } from "../../src/errors.js";
import { fromHex, toHex } from "../../src/util/bytes.js";
import { codecError } from "../helpers/codec-error.js";


/** `uint16 values<V>`, as capabilities lists are encoded. */
const readList = (r: Reader): number[] => r.vector(() => r.u16());
/** Read one list the way capabilities.ts does: interned under "list", span peeked. */
const internedList = (r: Reader): readonly number[] => r.interned("list", r.peekVectorsSpan(1), readList);

/** An input living at a non-zero offset of a larger ArrayBuffer (so byteOffset checks mean something). */
function embedded(hex: string, pad = 3): Uint8Array {
  const body = fromHex(hex);
  const backing = new Uint8Array(pad + body.length + pad);
  backing.set(body, pad);
  return backing.subarray(pad, pad + body.length);
}

describe("Reader shareInput", () => {
  const hex = "03aabbcc" + "0102"; // opaque<V> of 3 bytes, then 2 raw bytes

  it("opaque() and bytes() return views into the input", () => {
    const input = embedded(hex);
    const r = new Reader(input, { shareInput: true });
    const o = r.opaque();
    const b = r.bytes(2);
    r.finish();
    expect(toHex(o)).toBe("aabbcc");
    expect(toHex(b)).toBe("0102");
    expect(o.buffer).toBe(input.buffer);
    expect(b.buffer).toBe(input.buffer);
    expect(o.byteOffset).toBe(input.byteOffset + 1);
    expect(b.byteOffset).toBe(input.byteOffset + 4);
    // A view: a later change of the input shows through.
    input[1] = 0x11;
    expect(o[0]).toBe(0x11);
  });

  it("without it, opaque() and bytes() are copies the input cannot change", () => {
    for (const options of [undefined, { shareInput: false }]) {
      const input = embedded(hex);
      const r = new Reader(input, options);
      const o = r.opaque();
      const b = r.bytes(2);
      expect(o.buffer).not.toBe(input.buffer);
      expect(b.buffer).not.toBe(input.buffer);
      input.fill(0xee);
      expect(toHex(o)).toBe("aabbcc");
      expect(toHex(b)).toBe("0102");
    }
  });

  it("decode() passes the option through", () => {
    const input = embedded("02abcd");
    const shared = decode(input, (r) => r.opaque(), "x", { shareInput: true });
    const copied = decode(input, (r) => r.opaque(), "x");
    expect(shared.buffer).toBe(input.buffer);
    expect(copied.buffer).not.toBe(input.buffer);
    expect(toHex(copied)).toBe("abcd");
  });
});

describe("Reader.readSince", () => {
  const hex = "ff" + "02abcd" + "0001"; // u8, opaque<V>, u16

  for (const shareInput of [true, false]) {
    it(`returns exactly the bytes read since an offset (${shareInput ? "a view" : "a copy"} when shareInput is ${shareInput})`, () => {
      const input = embedded(hex);
      const r = new Reader(input, { shareInput });
      r.u8();
      const start = r.offset;
      r.opaque();
      r.u16();
      const since = r.readSince(start);
      expect(toHex(since)).toBe("02abcd0001");
      expect(toHex(r.readSince(0))).toBe(hex);
      expect(r.readSince(r.offset).length).toBe(0);
      if (shareInput) {
        expect(since.buffer).toBe(input.buffer);
        expect(since.byteOffset).toBe(input.byteOffset + 1);
      } else {
        expect(since.buffer).not.toBe(input.buffer);
        input.fill(0);
        expect(toHex(since)).toBe("02abcd0001");
      }
    });
  }

  it("throws RangeError for a negative, non-integer or not-yet-read start", () => {
    const r = new Reader(fromHex(hex));
    r.u8();
    r.opaque();
    expect(r.offset).toBe(4);
    for (const bad of [-1, 5, 6, 100, 1.5, Number.NaN]) expect(() => r.readSince(bad)).toThrow(RangeError);
    expect(toHex(r.readSince(4))).toBe("");
    expect(r.offset).toBe(4);
  });
});

describe("Reader.interned", () => {
  it("identical structures in one buffer give the very same frozen value", () => {
    // [1, 2], [1, 2], [1, 3]
    const r = new Reader(fromHex("0400010002" + "0400010002" + "0400010003"));
    const a = internedList(r);
    expect(r.offset).toBe(5);
    const b = internedList(r);
    expect(r.offset).toBe(10);
    const c = internedList(r);
    r.finish();
    expect(a).toEqual([1, 2]);
    expect(b).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(c).toEqual([1, 3]);
    expect(c).not.toBe(a);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("the same bytes under another key are not shared", () => {
    const r = new Reader(fromHex("0400010002" + "0400010002"));
    const a = r.interned("one", 5, readList);
    const b = r.interned("two", 5, readList);
    expect(b).toEqual(a);
    expect(b).not.toBe(a);
  });

  it("a wrong span still reads the right value, but does not intern it", () => {
    const hex = "0400010002";
    for (const span of [4, 6, 0, -1]) {
      const r = new Reader(fromHex(hex + hex + "00")); // trailing byte so span 6 is in bounds
      const a = r.interned("list", span, readList);
      expect(a).toEqual([1, 2]);
      expect(r.offset).toBe(5);
      const b = r.interned("list", span, readList);
      expect(b).toEqual([1, 2]);
      expect(b).not.toBe(a);
      expect(Object.isFrozen(a)).toBe(false);
      expect(r.offset).toBe(10);
    }
  });

  it("a span over 256 bytes is read normally and not interned", () => {
    const body = "0000".repeat(150); // 150 zero u16s = 300 bytes, varint 0x412c
    const one = "412c" + body;
    const r = new Reader(fromHex(one + one));
    const span = r.peekVectorsSpan(1);
    expect(span).toBe(302);
    const a = r.interned("list", span, readList);
    const b = r.interned("list", r.peekVectorsSpan(1), readList);
    expect(a.length).toBe(150);
    expect(b).toEqual(a);
    expect(b).not.toBe(a);
    r.finish();
  });

  it("a span beyond the buffer falls back to the normal read and its normal CodecError", () => {
    // Well-formed: read normally (span ignored), value correct, not interned.
    const ok = new Reader(fromHex("0400010002"));
    const v = ok.interned("list", 50, readList);
    expect(v).toEqual([1, 2]);
    expect(Object.isFrozen(v)).toBe(false);
    // Truncated: the normal read's error, not a silent short value.
    const truncated = fromHex("04000100");
    const err = codecError(() => decode(truncated, (r) => r.field("caps", () => r.interned("list", 5, readList)), "T"));
    expect(err.code).toBe("codec.unexpected_eof");
    expect(err.field).toBe("T.caps");
  });

  it("two Reader instances never share interned values", () => {
    const bytes = fromHex("0400010002");
    const r1 = new Reader(bytes);
    const r2 = new Reader(bytes);
    const a = internedList(r1);
    const b = internedList(r2);
    expect(b).toEqual(a);
    expect(b).not.toBe(a);
  });

  it("a hit inside a vector is bounded by the vector, and hits skip exactly the span", () => {
    // vector<V> of two [7] lists, then a [7] list outside, then a u8
    const inner = "020007";
    const r = new Reader(fromHex("06" + inner + inner + inner + "2a"));
    const items = r.vector(() => internedList(r));
    const outside = internedList(r);
    expect(r.u8()).toBe(0x2a);
    r.finish();
    expect(items).toEqual([[7], [7]]);
    expect(items[1]).toBe(items[0]);
    expect(outside).toBe(items[0]);
  });

  it("malformed input still throws a CodecError naming the field path", () => {
    // A list of 3 bytes: the second u16 runs past the vector's end.
    const bad = fromHex("0300010002");
    const err = codecError(() => decode(bad, (r) => r.field("cipher_suites", () => internedList(r)), "Capabilities"));
    expect(err.code).toBe("codec.unexpected_eof");
    expect(err.field).toBe("Capabilities.cipher_suites[1]");
    // The same malformed bytes after a good interned value with the same prefix: still an error.
    const r = new Reader(fromHex("0400010002" + "0400010002".slice(0, 2) + "c0"));
    expect(internedList(r)).toEqual([1, 2]);
    expect(() => internedList(r)).toThrow(CodecError);
  });

  it("keeps at most 4096 values per key; later ones are read but not interned", () => {
    // 4100 distinct one-item lists [i], each twice in a row.
    const w = new Writer(4100 * 6);
    for (let i = 0; i < 4100; i++) for (let k = 0; k < 2; k++) w.u8(2).u16(i);
    const r = new Reader(w.finish());
    for (let i = 0; i < 4100; i++) {
      const a = internedList(r);
      const b = internedList(r);
      expect(a[0]).toBe(i);
      if (i < 4096) expect(b).toBe(a);
      else {
        expect(b).toEqual(a);
        expect(b).not.toBe(a);
      }
    }
    r.finish();
  });

  it("keeps at most 4096 values per key even when their hashes collide", () => {
    // FNV-1a is not collision resistant: 13 pairs of 4-byte blocks that collide from the state
    // after the previous ones (starting after the length byte 0x34) give 2^13 distinct 52-byte
    // lists with one hash, as a hostile tree could carry (Joux multicollisions).
    const pairs = [
      ["a96cbe0e", "cdc5d607"], ["edfecf59", "bb561846"], ["043c8bf9", "4caa7fe7"], ["c0c972de", "8e2d73fb"],
      ["0ab8a92b", "aed6c703"], ["0c017634", "44a7b226"], ["4eafd1e0", "aa16ffeb"], ["f30ccaae", "d7d5fab7"],
      ["e78aaf04", "38d555c4"], ["3bcbfc49", "85321d75"], ["18b04d22", "2e6c0605"], ["43b6a849", "6fc13476"],
      ["232c5c93", "19d009b6"],
    ].map(([a, b]) => [fromHex(a!), fromHex(b!)] as const);
    const list = (i: number): Uint8Array => {
      const out = new Uint8Array(53);
      out[0] = 52;
      pairs.forEach((p, k) => out.set(p[(i >>> k) & 1]!, 1 + 4 * k));
      return out;
    };
    const fnv = (b: Uint8Array): number => b.reduce((h, x) => Math.imul(h ^ x, 0x01000193), 0x811c9dc5) >>> 0;
    expect(fnv(list(0))).toBe(fnv(list(4097)));
    expect(toHex(list(0))).not.toBe(toHex(list(4097)));
    const n = 4097;
    const w = new Writer((n + 1) * 53);
    for (let i = 0; i < n; i++) w.bytes(list(i));
    w.bytes(list(n - 1)); // the last distinct value again
    const r = new Reader(w.finish());
    const values: (readonly number[])[] = [];
    for (let i = 0; i < n; i++) values.push(internedList(r));
    const again = internedList(r);
    r.finish();
    expect(again).toEqual(values[n - 1]);
    // The 4097th distinct value must not have been kept.
    expect(again).not.toBe(values[n - 1]);
  });
});

describe("Reader.peekVectorsSpan", () => {
  it("totals one and several vectors, with 1- and 2-byte varint lengths, without moving", () => {
    const long = "4040" + "ab".repeat(64); // 2-byte length 64: 66 bytes
    const r = new Reader(fromHex("ff" + "02abcd" + "00" + long + "01ee"));
    r.u8();
    expect(r.peekVectorsSpan(1)).toBe(3);
    expect(r.peekVectorsSpan(2)).toBe(4);
    expect(r.peekVectorsSpan(3)).toBe(70);
    expect(r.peekVectorsSpan(4)).toBe(72);
    expect(r.peekVectorsSpan(0)).toBe(0);
    expect(r.offset).toBe(1);
    // The spans are the real encoded lengths.
    const start = r.offset;
    for (let i = 0; i < 4; i++) r.opaque();
    expect(r.offset - start).toBe(72);
    r.finish();
  });

  it("returns -1 when a vector is truncated, runs past the end, or uses the 0b11 prefix, and moves nothing", () => {
    const cases: [string, number][] = [
      ["03aabb", 1], // body short
      ["02aabb" + "05aa", 2], // second body short
      ["02aabb", 2], // second vector missing
      ["40", 1], // 2-byte length cut off
      ["c0000000", 1], // reserved prefix
      ["00c0", 2],
      ["", 1],
    ];
    for (const [hex, count] of cases) {
      const r = new Reader(fromHex(hex));
      expect(r.peekVectorsSpan(count), hex).toBe(-1);
      expect(r.offset).toBe(0);
    }
  });

  it("is bounded by the enclosing vector", () => {
    // outer vector of 3 bytes holding 02aabb; a following 01cc is outside it
    const r = new Reader(fromHex("03" + "02aabb" + "01cc"));
    r.vector(() => {
      expect(r.peekVectorsSpan(1)).toBe(3);
      expect(r.peekVectorsSpan(2)).toBe(-1);
      r.opaque();
      return 0;
    });
    expect(r.peekVectorsSpan(1)).toBe(2);
  });
});

describe("Writer view, reset and finish", () => {
  it("view() shows the written bytes in the writer's buffer; reset() starts over in it", () => {
    const w = new Writer(16);
    w.u8(1).u16(0x0203);
    const v1 = w.view();
    expect(toHex(v1)).toBe("010203");
    w.reset();
    expect(w.length).toBe(0);
    expect(w.view().length).toBe(0);
    w.u8(0xaa);
    const v2 = w.view();
    expect(toHex(v2)).toBe("aa");
    expect(v2.buffer).toBe(v1.buffer); // the buffer is reused
    expect(v1[0]).toBe(0xaa); // ...so the old view sees the new write
  });

  it("finish() on a writer that is not full returns an exact-size copy", () => {
    const w = new Writer(16);
    w.u32(0x01020304);
    const out = w.finish();
    expect(toHex(out)).toBe("01020304");
    expect(out.length).toBe(4);
    expect(out.buffer.byteLength).toBe(4);
    expect(out.buffer).not.toBe(w.view().buffer);
    w.reset().u32(0xffffffff);
    expect(toHex(out)).toBe("01020304");
  });

  it("finish() on an exactly full writer hands over its buffer and lets go of it", () => {
    const w = new Writer(4);
    w.u32(0x01020304);
    const view = w.view();
    const out = w.finish();
    expect(toHex(out)).toBe("01020304");
    expect(out.buffer).toBe(view.buffer); // no copy
    expect(w.length).toBe(0);
    expect(w.view().length).toBe(0);
    expect(w.view().buffer).not.toBe(out.buffer);
  });

  it("an exactly full writer can be used again after finish() without changing the returned bytes", async () => {
    // Run in a worker with a deadline: if growing the released (empty) buffer never ends, this
    // test fails instead of hanging the run. The worker evaluates the Writer class's own source;
    // the methods used here reference no imports.
    const src = `
      const { parentPort } = require("node:worker_threads");
      const Writer = (${Writer.toString()});
      try {
        const w = new Writer(4);
        w.u32(0x01020304);
        const out = w.finish();
        const before = Array.from(out);
        w.u32(0xa1a2a3a4).u8(0xb1);
        const again = w.finish();
        w.reset().u32(0xc1c2c3c4);
        parentPort.postMessage({ ok: true, before, after: Array.from(out), again: Array.from(again) });
      } catch (e) {
        parentPort.postMessage({ ok: false, error: String(e) });
      }
    `;
    const worker = new Worker(src, { eval: true });
    type Result = { ok: true; before: number[]; after: number[]; again: number[] } | { ok: false; error: string } | "timeout";
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race<Result>([
      new Promise<Result>((resolve, reject) => {
        worker.once("message", resolve);
        worker.once("error", reject);
      }),
      new Promise<Result>((resolve) => (timer = setTimeout(() => resolve("timeout"), 2000))),
    ]).finally(() => {
      clearTimeout(timer);
      void worker.terminate();
    });
    expect(result, "writing after finish() of an exactly full Writer did not finish within 2 s").not.toBe("timeout");
    expect(result).toEqual({ ok: true, before: [1, 2, 3, 4], after: [1, 2, 3, 4], again: [0xa1, 0xa2, 0xa3, 0xa4, 0xb1] });
  });
});

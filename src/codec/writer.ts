/**
 * Growable writer for the TLS presentation language of RFC 9420 §2.1.
 *
 * Variable-size vectors are written in place: one header byte is reserved, the body is written,
 * and if the body turns out longer than 63 bytes it is moved right by 1 or 3 bytes to make room
 * for the wider header (protobuf-es fork/join, without a second buffer).
 * @module
 */
import { UsageError } from "../errors.js";
import { MAX_VARINT, varintSize } from "./varint.js";

export class Writer {
  private buf: Uint8Array;
  private pos = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(initialCapacity);
  }

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let cap = Math.max(this.buf.length * 2, 16);
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.buf[this.pos++] = (v >>> 24) & 0xff;
    this.buf[this.pos++] = (v >>> 16) & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u64(v: bigint | number): this {
    const b = BigInt(v);
    if (b < 0n || b > 0xffffffffffffffffn) throw new UsageError("codec_range", `uint64 out of range: ${b}`);
    this.u32(Number(b >> 32n));
    this.u32(Number(b & 0xffffffffn));
    return this;
  }

  /** Raw bytes with no length prefix (fixed-size arrays, or pre-encoded structs). */
  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** RFC 9420 §2.1.2 minimal varint. */
  varint(n: number): this {
    if (!Number.isInteger(n) || n < 0 || n > MAX_VARINT) {
      throw new UsageError("codec_range", `varint out of range: ${n}`);
    }
    const size = varintSize(n);
    this.ensure(size);
    this.putVarint(this.pos, n, size);
    this.pos += size;
    return this;
  }

  private putVarint(at: number, n: number, size: 1 | 2 | 4): void {
    const b = this.buf;
    if (size === 1) {
      b[at] = n;
    } else if (size === 2) {
      b[at] = 0x40 | (n >>> 8);
      b[at + 1] = n & 0xff;
    } else {
      b[at] = 0x80 | (n >>> 24);
      b[at + 1] = (n >>> 16) & 0xff;
      b[at + 2] = (n >>> 8) & 0xff;
      b[at + 3] = n & 0xff;
    }
  }

  /** `opaque data<V>`. */
  opaque(b: Uint8Array): this {
    this.varint(b.length);
    return this.bytes(b);
  }

  /** A variable-size vector whose body is written by `body`. */
  vector(body: (w: this) => void): this {
    this.ensure(1);
    const start = this.pos;
    this.pos += 1;
    body(this);
    const len = this.pos - start - 1;
    if (len > MAX_VARINT) throw new UsageError("codec_range", `vector of ${len} bytes is too long`);
    const size = varintSize(len);
    if (size > 1) {
      const extra = size - 1;
      this.ensure(extra);
      this.buf.copyWithin(start + size, start + 1, this.pos);
      this.pos += extra;
    }
    this.putVarint(start, len, size);
    return this;
  }

  /** `T items<V>` from an array. */
  array<T>(items: readonly T[], writeItem: (w: this, item: T) => void): this {
    return this.vector((w) => {
      for (const it of items) writeItem(w, it);
    });
  }

  /** `optional<T>`. */
  optional<T>(v: T | null | undefined, writeItem: (w: this, item: T) => void): this {
    if (v === null || v === undefined) return this.u8(0);
    this.u8(1);
    writeItem(this, v);
    return this;
  }

  /** `n` zero bytes (padding), without allocating them first. */
  zeros(n: number): this {
    if (!Number.isInteger(n) || n < 0) throw new UsageError("codec_range", `zero padding length must be a non-negative integer, got ${n}`);
    this.ensure(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }

  /**
   * The written bytes, sized exactly: the writer's own buffer when it is exactly full (the
   * writer then lets go of it), else a copy.
   */
  finish(): Uint8Array {
    if (this.pos === this.buf.length) {
      const out = this.buf;
      this.buf = new Uint8Array(0);
      this.pos = 0;
      return out;
    }
    return this.buf.slice(0, this.pos);
  }

  /**
   * The written bytes as a view into the writer's buffer, valid until the next write or
   * {@link reset}: for input that is consumed at once (say, hashed) and need not be kept.
   */
  view(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** Start over, keeping the buffer (a scratch writer reused for many small encodings). */
  reset(): this {
    this.pos = 0;
    return this;
  }
}

/** Encode with a fresh writer. */
export function encode<T>(v: T, write: (w: Writer, v: T) => void, sizeHint = 256): Uint8Array {
  const w = new Writer(sizeHint);
  write(w, v);
  return w.finish();
}

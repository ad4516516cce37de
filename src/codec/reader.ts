/**
 * Strict, bounds-checked reader for the TLS presentation language of RFC 9420 §2.1.
 *
 * Every read checks bounds first; varint lengths must be minimal and never use the `11` prefix;
 * a vector's items must consume its declared length exactly; `finish()` rejects trailing bytes.
 * Errors are {@link CodecError}s that name the field path (`welcome.secrets[2].kem_output`) and
 * the offset. The reader never allocates according to a claimed length before checking that the
 * bytes are really there, so hostile length headers cannot exhaust memory.
 * @module
 */
import { CodecError } from "../errors.js";

export interface ReaderOptions {
  /** Largest accepted single vector body in bytes (default 64 MiB). */
  readonly maxVectorBytes?: number;
  /** Largest number of items in one vector (default 1,048,576). */
  readonly maxVectorItems?: number;
  /**
   * Return byte fields as views into the input instead of copies (default false). Only for an
   * input the caller owns and never modifies afterwards (say, a private copy of a 3 MB ratchet
   * tree): 10,000 leaves then cost one buffer instead of 50,000 small ones. Every decoded value
   * keeps the whole input alive.
   */
  readonly shareInput?: boolean;
}

/** Structures larger than this are not interned (they rarely repeat and are costly to compare). */
const MAX_INTERNED_SPAN = 256;
/** Distinct values kept per intern key (a hostile tree of all-different lists cannot grow it further). */
const MAX_INTERNED_PER_KEY = 4096;
/** Values kept per hash value within a key. */
const MAX_BUCKET = 4;

/** A structure read by {@link Reader.interned}: where its bytes were and what they decoded to. */
interface InternedEntry {
  readonly start: number;
  readonly length: number;
  readonly value: unknown;
}

const DEFAULT_MAX_VECTOR_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_VECTOR_ITEMS = 1 << 20;

export class Reader {
  private readonly buf: Uint8Array;
  private pos: number;
  /** End of the readable region; shrinks while inside a vector. */
  private end: number;
  private readonly path: string[] = [];
  private readonly maxVectorBytes: number;
  private readonly maxVectorItems: number;
  private readonly shareInput: boolean;
  private interns: Map<string, Map<number, InternedEntry[]>> | undefined;
  private internCounts: Map<string, number> | undefined;

  constructor(buf: Uint8Array, options: ReaderOptions = {}) {
    if (!(buf instanceof Uint8Array)) throw new TypeError(`"buf" expected Uint8Array, got ${typeof buf}`);
    this.buf = buf;
    this.pos = 0;
    this.end = buf.length;
    this.maxVectorBytes = options.maxVectorBytes ?? DEFAULT_MAX_VECTOR_BYTES;
    this.maxVectorItems = options.maxVectorItems ?? DEFAULT_MAX_VECTOR_ITEMS;
    this.shareInput = options.shareInput ?? false;
  }

  /** Whether byte fields are views into the input ({@link ReaderOptions.shareInput}). */
  get sharesInput(): boolean {
    return this.shareInput;
  }

  /** `buf[from, to)`, copied unless the reader shares its input. */
  private take(from: number, to: number): Uint8Array {
    return this.shareInput ? this.buf.subarray(from, to) : this.buf.slice(from, to);
  }

  /**
   * The bytes read since `start` (an earlier {@link offset}), copied unless the reader shares its
   * input: the exact encoding of what was read there, for callers that keep it to avoid
   * re-encoding (the codec is canonical, so re-encoding would give the same bytes).
   */
  readSince(start: number): Uint8Array {
    if (!Number.isInteger(start) || start < 0 || start > this.pos) throw new RangeError(`"start" expected an offset in [0, ${this.pos}], got ${start}`);
    return this.take(start, this.pos);
  }

  /**
   * Read the structure of `span` bytes here with `read`; when the same bytes were already read by
   * this reader under the same `key`, skip them and return that same value instead. Values are
   * frozen (shallowly) and shared, so `read` must return an immutable value whose decoding depends
   * only on its own bytes. A 10,000-leaf tree whose leaves repeat a few capability lists then
   * holds a few arrays instead of 50,000. `span` is a hint: when it is not the structure's true
   * length, the value is read normally and not interned.
   */
  interned<T extends object>(key: string, span: number, read: (r: Reader) => T): T {
    const start = this.pos;
    if (!(span > 0 && span <= this.end - start && span <= MAX_INTERNED_SPAN)) return read(this);
    const b = this.buf;
    // FNV-1a over the span.
    let h = 0x811c9dc5;
    for (let i = start; i < start + span; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    let table = this.interns?.get(key);
    const bucket = table?.get(h);
    if (bucket !== undefined) {
      for (const e of bucket) {
        if (e.length !== span) continue;
        let same = true;
        for (let i = 0; i < span; i++) {
          if (b[start + i] !== b[e.start + i]) {
            same = false;
            break;
          }
        }
        if (same) {
          this.pos = start + span;
          return e.value as T;
        }
      }
    }
    const value = read(this);
    if (this.pos - start !== span) return value;
    if (table === undefined) {
      table = new Map();
      (this.interns ??= new Map()).set(key, table);
    }
    // Bounded: at most MAX_INTERNED_PER_KEY values per key and MAX_BUCKET per hash, so inputs
    // crafted to collide under FNV-1a cannot make lookups scan long lists.
    const count = this.internCounts?.get(key) ?? 0;
    if (count < MAX_INTERNED_PER_KEY && (bucket === undefined || bucket.length < MAX_BUCKET)) {
      Object.freeze(value);
      const entry: InternedEntry = { start, length: span, value };
      if (bucket === undefined) table.set(h, [entry]);
      else bucket.push(entry);
      (this.internCounts ??= new Map()).set(key, count + 1);
    }
    return value;
  }

  /**
   * The total length of the `count` vectors (`<V>` length prefix and body) starting here, or -1
   * when they are not all well-formed and in bounds (the normal read then reports why).
   * Moves nothing.
   */
  peekVectorsSpan(count: number): number {
    let p = this.pos;
    for (let k = 0; k < count; k++) {
      if (p >= this.end) return -1;
      const first = this.buf[p]!;
      const prefix = first >> 6;
      if (prefix === 3) return -1;
      const size = 1 << prefix;
      if (p + size > this.end) return -1;
      let v = first & 0x3f;
      for (let i = 1; i < size; i++) v = v * 256 + this.buf[p + i]!;
      p += size + v;
      if (p > this.end) return -1;
    }
    return p - this.pos;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** The dotted field path at this point, for error messages. */
  fieldPath(): string {
    let s = "";
    for (const part of this.path) s += part.startsWith("[") || s === "" ? part : `.${part}`;
    return s;
  }

  /** Throw a {@link CodecError} at the current offset and field. */
  fail(code: string, message: string): never {
    throw new CodecError(code, message, this.pos, this.fieldPath());
  }

  /** Run `fn` with `name` pushed on the field path. */
  field<T>(name: string, fn: () => T): T {
    const depth = this.path.length;
    this.path.push(name);
    try {
      return fn();
    } finally {
      this.path.length = depth;
    }
  }

  private need(n: number): void {
    if (n > this.end - this.pos) {
      this.fail("unexpected_eof", `need ${n} byte(s), ${this.end - this.pos} left`);
    }
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  u32(): number {
    this.need(4);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  u64(): bigint {
    const hi = this.u32();
    const lo = this.u32();
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** `n` raw bytes (a fixed-size array), copied unless the reader shares its input. */
  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.take(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** RFC 9420 §2.1.2 varint: minimal encodings only, prefix `11` rejected. */
  varint(): number {
    this.need(1);
    const first = this.buf[this.pos]!;
    const prefix = first >> 6;
    if (prefix === 3) this.fail("invalid_varint_prefix", "varint prefix 0b11 is reserved");
    const size = 1 << prefix; // 1, 2 or 4
    this.need(size);
    let v = first & 0x3f;
    for (let i = 1; i < size; i++) v = v * 256 + this.buf[this.pos + i]!;
    // RFC 9420 §2.1.2: "values using more bits than necessary MUST be treated as malformed"
    if ((size === 2 && v <= 0x3f) || (size === 4 && v <= 0x3fff)) {
      this.fail("non_minimal_varint", `varint ${v} encoded in ${size} bytes`);
    }
    this.pos += size;
    return v;
  }

  private vectorLength(): number {
    const len = this.varint();
    if (len > this.maxVectorBytes) this.fail("vector_too_large", `vector of ${len} bytes exceeds the cap of ${this.maxVectorBytes}`);
    this.need(len);
    return len;
  }

  /** `opaque data<V>`: a varint length then that many bytes, copied unless the reader shares its input. */
  opaque(): Uint8Array {
    const len = this.vectorLength();
    const out = this.take(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  /** `T items<V>`: items must consume the declared length exactly. */
  vector<T>(readItem: (r: Reader, index: number) => T): T[] {
    const len = this.vectorLength();
    const savedEnd = this.end;
    const stop = this.pos + len;
    this.end = stop;
    const items: T[] = [];
    while (this.pos < stop) {
      if (items.length >= this.maxVectorItems) this.fail("vector_too_many_items", `more than ${this.maxVectorItems} items`);
      const i = items.length;
      this.path.push(`[${i}]`);
      items.push(readItem(this, i));
      this.path.pop();
    }
    this.end = savedEnd;
    return items;
  }

  /** `opaque data<V>` checked and skipped, nothing allocated. */
  skipOpaque(): void {
    const len = this.vectorLength(); // (not `this.pos += ...`: that would read pos before the header)
    this.pos += len;
  }

  /**
   * `T items<V>` checked like {@link vector} (every item with `checkItem`, the declared length
   * consumed exactly) without collecting the items; returns how many there are.
   */
  skipVector(checkItem: (r: Reader) => void): number {
    const len = this.vectorLength();
    const savedEnd = this.end;
    const stop = this.pos + len;
    this.end = stop;
    let count = 0;
    while (this.pos < stop) {
      if (count >= this.maxVectorItems) this.fail("vector_too_many_items", `more than ${this.maxVectorItems} items`);
      this.path.push(`[${count}]`);
      checkItem(this);
      this.path.pop();
      count++;
    }
    this.end = savedEnd;
    return count;
  }

  /** Read exactly `len` bytes as a sub-structure with `fn`, which must consume them all. */
  sized<T>(len: number, fn: (r: Reader) => T): T {
    this.need(len);
    const savedEnd = this.end;
    const stop = this.pos + len;
    this.end = stop;
    const v = fn(this);
    if (this.pos !== stop) this.fail("trailing_bytes", `${stop - this.pos} unread byte(s) in a sized structure`);
    this.end = savedEnd;
    return v;
  }

  /** `optional<T>`: presence byte 0 or 1, anything else is malformed. */
  optional<T>(readItem: (r: Reader) => T): T | null {
    const present = this.u8();
    if (present === 0) return null;
    if (present !== 1) {
      this.pos--;
      this.fail("invalid_optional", `optional presence byte must be 0 or 1, got ${present}`);
    }
    return readItem(this);
  }

  /** Reject anything left over. */
  finish(): void {
    if (this.pos !== this.buf.length) {
      this.fail("trailing_bytes", `${this.buf.length - this.pos} trailing byte(s)`);
    }
  }
}

/**
 * Decode a whole buffer with `read`, requiring it to consume every byte. Any non-codec exception
 * from a decoder (there should be none) is wrapped, so callers see only {@link CodecError}.
 */
export function decode<T>(buf: Uint8Array, read: (r: Reader) => T, what: string, options?: ReaderOptions): T {
  const r = new Reader(buf, options);
  try {
    const v = r.field(what, () => read(r));
    r.finish();
    return v;
  } catch (e) {
    if (e instanceof CodecError) throw e;
    if (e instanceof Error && "code" in e) throw e;
    throw new CodecError("malformed", `malformed ${what}: ${e instanceof Error ? e.message : String(e)}`, r.offset, r.fieldPath(), { cause: e });
  }
}

/** Reader/Writer unit tests: RFC 9420 §2.1 presentation language, strictness, error paths. */
import { describe, expect, it } from "vitest";
import { decode, Reader } from "../../src/codec/reader.js";
import { encode, Writer } from "../../src/codec/writer.js";
import { UsageError } from "../../src/errors.js";
import { decodeWelcome, encodeWelcome } from "../../src/mls/messages/welcome.js";
import { fromHex, toHex } from "../../src/util/bytes.js";
import { codecError } from "../helpers/codec-error.js";


const varintHex = (n: number): string => toHex(new Writer().varint(n).finish());
const readVarint = (hex: string): number => decode(fromHex(hex), (r) => r.varint(), "v");

describe("varint (RFC 9420 §2.1.2)", () => {
  const boundaries: [number, string][] = [
    [0, "00"],
    [0x3f, "3f"],
    [0x40, "4040"],
    [0x3fff, "7fff"],
    [0x4000, "80004000"],
    [0x3fffffff, "bfffffff"],
  ];
  for (const [n, hex] of boundaries) {
    it(`${n.toString(16)} <-> ${hex}`, () => {
      expect(varintHex(n)).toBe(hex);
      expect(readVarint(hex)).toBe(n);
    });
  }

  it("rejects non-minimal encodings", () => {
    for (const hex of ["4000", "403f", "80000000", "80003fff", "4001"]) {
      expect(codecError(() => readVarint(hex)).code).toBe("codec.non_minimal_varint");
    }
  });

  it("rejects the 0b11 prefix", () => {
    for (const hex of ["c0", "c0000000", "ffffffff"]) {
      const e = codecError(() => readVarint(hex));
      expect(e.code).toBe("codec.invalid_varint_prefix");
      expect(e.offset).toBe(0);
    }
  });

  it("rejects a truncated varint", () => {
    expect(codecError(() => readVarint("40")).code).toBe("codec.unexpected_eof");
    expect(codecError(() => readVarint("800000")).code).toBe("codec.unexpected_eof");
  });

  it("refuses to write values outside 0..2^30-1", () => {
    for (const n of [-1, 0x40000000, 1.5, Number.NaN]) expect(() => new Writer().varint(n)).toThrow(UsageError);
  });
});

describe("fixed-width integers", () => {
  it("are big-endian and round-trip", () => {
    const bytes = new Writer(1).u8(0xab).u16(0x1234).u32(0xdeadbeef).u64(0x0102030405060708n).finish();
    expect(toHex(bytes)).toBe("ab" + "1234" + "deadbeef" + "0102030405060708");
    const r = new Reader(bytes);
    expect([r.u8(), r.u16(), r.u32(), r.u64()]).toEqual([0xab, 0x1234, 0xdeadbeef, 0x0102030405060708n]);
    r.finish();
  });

  it("u64 covers the full range and refuses out-of-range values", () => {
    expect(decode(new Writer().u64(0xffffffffffffffffn).finish(), (r) => r.u64(), "x")).toBe(0xffffffffffffffffn);
    expect(() => new Writer().u64(-1n)).toThrow(UsageError);
    expect(() => new Writer().u64(1n << 64n)).toThrow(UsageError);
  });
});

describe("strictness", () => {
  it("rejects trailing bytes", () => {
    const e = codecError(() => decode(fromHex("0102"), (r) => r.u8(), "one"));
    expect(e.code).toBe("codec.trailing_bytes");
    expect(e.offset).toBe(1);
  });

  it("truncation errors name the field path and the offset", () => {
    const welcome = {
      cipherSuite: 1,
      secrets: [{ newMember: new Uint8Array(16), encryptedGroupSecrets: { kemOutput: new Uint8Array(60), ciphertext: new Uint8Array(1) } }],
      encryptedGroupInfo: new Uint8Array(10),
    };
    const bytes = encodeWelcome(welcome);
    expect(decodeWelcome(bytes)).toEqual(welcome);
    // Cut the buffer inside the last field.
    let e = codecError(() => decodeWelcome(bytes.subarray(0, bytes.length - 3)));
    expect(e.code).toBe("codec.unexpected_eof");
    expect(e.field).toBe("Welcome.encrypted_group_info");
    expect(e.offset).toBe(bytes.length - 10);
    // Make kem_output claim 63 bytes where its vector has 62 left: 2 (suite) + 2 (secrets header) + 17 (new_member).
    const bad = bytes.slice();
    expect(bad[21]).toBe(60);
    bad[21] = 63;
    e = codecError(() => decodeWelcome(bad));
    expect(e.code).toBe("codec.unexpected_eof");
    expect(e.field).toBe("Welcome.secrets[0].encrypted_group_secrets.kem_output");
    expect(e.offset).toBe(22);
    expect(e.message).toContain("Welcome.secrets[0].encrypted_group_secrets.kem_output");
  });

  it("an item may not run past the end of its vector", () => {
    // A 3-byte vector of uint16 with more bytes after it: the second u16 would cross the vector end.
    const e = codecError(() => decode(fromHex("03000100020000"), (r) => r.field("list", () => r.vector(() => r.u16())), "x"));
    expect(e.code).toBe("codec.unexpected_eof");
    expect(e.field).toBe("x.list[1]");
    expect(e.offset).toBe(3);
  });

  it("a vector may not claim more bytes than its parent has", () => {
    // The outer vector is 2 bytes long; the inner opaque claims 5.
    const e = codecError(() => decode(fromHex("02050102030405"), (r) => r.vector(() => r.opaque()), "x"));
    expect(e.code).toBe("codec.unexpected_eof");
  });

  it("optional presence byte must be 0 or 1", () => {
    expect(decode(fromHex("00"), (r) => r.optional((r) => r.u8()), "o")).toBeNull();
    expect(decode(fromHex("0107"), (r) => r.optional((r) => r.u8()), "o")).toBe(7);
    const e = codecError(() => decode(fromHex("0207"), (r) => r.optional((r) => r.u8()), "o"));
    expect(e.code).toBe("codec.invalid_optional");
    expect(e.offset).toBe(0);
  });

  it("sized() must consume exactly its bytes", () => {
    expect(decode(fromHex("0102"), (r) => r.sized(2, (r) => r.u16()), "s")).toBe(0x0102);
    expect(codecError(() => decode(fromHex("0102"), (r) => r.sized(2, (r) => r.u8()), "s")).code).toBe("codec.trailing_bytes");
  });

  it("caps vector size before allocating", () => {
    const bytes = new Writer().opaque(new Uint8Array(100)).finish();
    expect(codecError(() => new Reader(bytes, { maxVectorBytes: 99 }).opaque()).code).toBe("codec.vector_too_large");
    // A huge claimed length with no body behind it fails as EOF, not as an allocation.
    expect(codecError(() => new Reader(fromHex("bfffffff"), { maxVectorBytes: 1 << 30 }).opaque()).code).toBe("codec.unexpected_eof");
  });
});

describe("writer vectors", () => {
  it("nested vectors that need header widening re-encode correctly", () => {
    // outer<V> = [ inner<V> of 100 bytes, inner<V> of 3 bytes, inner<V> of 20000 bytes ]
    const inner = [new Uint8Array(100).fill(1), new Uint8Array(3).fill(2), new Uint8Array(20000).fill(3)];
    const write = (w: Writer, v: Uint8Array[]): void => {
      w.vector((w) => {
        for (const b of v) w.vector((w) => w.bytes(b));
      });
    };
    const bytes = encode(inner, write, 1);
    // 2+100, 1+3, 4+20000 = 20110 inside the outer header (4 bytes since > 0x3fff).
    expect(bytes.length).toBe(4 + 20110);
    expect(toHex(bytes.subarray(0, 6))).toBe("80004e8e" + "4064");
    expect(toHex(bytes.subarray(106, 108))).toBe("0302");
    expect(toHex(bytes.subarray(110, 114))).toBe("80004e20");
    const back = decode(bytes, (r) => r.vector((r) => r.opaque()), "nested");
    expect(back).toEqual(inner);
    expect(toHex(encode(back, write))).toBe(toHex(bytes));
  });

  it("array() and optional() match the hand-written layout", () => {
    const bytes = new Writer().array([1, 2], (w, v) => w.u16(v)).optional(null, (w, v: number) => w.u8(v)).optional(9, (w, v) => w.u8(v)).finish();
    expect(toHex(bytes)).toBe("0400010002" + "00" + "0109");
  });
});

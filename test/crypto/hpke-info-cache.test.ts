/**
 * The HPKE info_hash memo (src/crypto/info-hash-cache.ts) and the EncryptContext memo of
 * labeled.ts: results are always those of the current bytes, whoever reuses or overwrites a
 * buffer between calls (RFC 9180 §5.1 KeySchedule, RFC 9420 §5.1.3 EncryptWithLabel). Both
 * providers; plus the native provider's pooled randomBytes.
 */
import { describe, expect, it } from "vitest";
import { decryptWithLabel, encryptContext, encryptWithLabel } from "../../src/crypto/labeled.js";
import { InfoHashCache, jsBytesEqual } from "../../src/crypto/info-hash-cache.js";
import { nativeProvider } from "../../src/crypto/native/index.js";
import { CryptoError } from "../../src/errors.js";
import { toHex, utf8 } from "../../src/util/bytes.js";
import { PROVIDERS } from "../helpers/providers.js";

async function rejectsHpke(p: Promise<unknown>): Promise<void> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(CryptoError);
  expect((e as CryptoError).code).toBe("crypto.hpke");
}

describe("InfoHashCache", () => {
  it("derives once per unchanged array and again after the bytes change", () => {
    const cache = new InfoHashCache();
    let calls = 0;
    const derive = (b: Uint8Array) => (calls++, Uint8Array.of(b[0]!, b.length));
    const info = new Uint8Array(100).fill(7);
    expect([...cache.get(info, derive)]).toEqual([7, 100]);
    expect([...cache.get(info, derive)]).toEqual([7, 100]);
    expect(calls).toBe(1);
    info[0] = 9;
    expect([...cache.get(info, derive)]).toEqual([9, 100]);
    expect(calls).toBe(2);
    // An equal but distinct array is another entry.
    expect([...cache.get(info.slice(), derive)]).toEqual([9, 100]);
    expect(calls).toBe(3);
  });

  it("jsBytesEqual compares aligned and unaligned views of any length", () => {
    const big = new Uint8Array(1000).map((_, i) => i & 0xff);
    for (const [off, len] of [[0, 0], [0, 1], [0, 63], [0, 64], [0, 999], [1, 100], [3, 500], [4, 256]] as const) {
      const a = big.subarray(off, off + len);
      const b = new Uint8Array(len + 8).subarray(off % 4, (off % 4) + len);
      b.set(a);
      expect(jsBytesEqual(a, b)).toBe(true);
      if (len > 0) {
        b[len - 1] = b[len - 1]! ^ 1;
        expect(jsBytesEqual(a, b)).toBe(false);
      }
    }
    expect(jsBytesEqual(new Uint8Array(64), new Uint8Array(65))).toBe(false);
  });
});

for (const p of PROVIDERS) {
  describe(`${p.name}: sealing under a reused or overwritten info`, () => {
    for (const id of [1, 2] as const) {
      const cs = p.suite(id);
      it(`suite ${id}: each seal follows the bytes info holds at the time`, async () => {
        const kp = await cs.hpkeKeyPair();
        const aad = new Uint8Array(0);
        const info = new Uint8Array(5000).fill(1);
        const before = info.slice();
        const a = await cs.hpkeSeal(kp.publicKey, info, aad, utf8("one"));
        const b = await cs.hpkeSeal(kp.publicKey, info, aad, utf8("two"));
        info[4999] = 2; // same array, new last byte
        const c = await cs.hpkeSeal(kp.publicKey, info, aad, utf8("three"));
        expect(toHex(await cs.hpkeOpen(kp.privateKey, a.kemOutput, before, aad, a.ciphertext))).toBe(toHex(utf8("one")));
        expect(toHex(await cs.hpkeOpen(kp.privateKey, b.kemOutput, before, aad, b.ciphertext))).toBe(toHex(utf8("two")));
        expect(toHex(await cs.hpkeOpen(kp.privateKey, c.kemOutput, info, aad, c.ciphertext))).toBe(toHex(utf8("three")));
        await rejectsHpke(cs.hpkeOpen(kp.privateKey, c.kemOutput, before, aad, c.ciphertext));
      });
    }

    it("EncryptWithLabel with an overwritten context uses the new context", async () => {
      const cs = p.suite(1);
      const kp = await cs.hpkeKeyPair();
      const ctx = utf8("group context, version 1");
      const first = await encryptWithLabel(cs, kp.publicKey, "UpdatePathNode", ctx, utf8("s1"));
      const old = ctx.slice();
      ctx[ctx.length - 1] = 0x32; // "... version 2"
      const second = await encryptWithLabel(cs, kp.publicKey, "UpdatePathNode", ctx, utf8("s2"));
      expect(toHex(await decryptWithLabel(cs, kp.privateKey, "UpdatePathNode", old, first.kemOutput, first.ciphertext))).toBe(toHex(utf8("s1")));
      expect(toHex(await decryptWithLabel(cs, kp.privateKey, "UpdatePathNode", ctx, second.kemOutput, second.ciphertext))).toBe(toHex(utf8("s2")));
      await rejectsHpke(decryptWithLabel(cs, kp.privateKey, "UpdatePathNode", old, second.kemOutput, second.ciphertext));
      await rejectsHpke(decryptWithLabel(cs, kp.privateKey, "Welcome", ctx, second.kemOutput, second.ciphertext));
    });
  });
}

describe("encryptContext", () => {
  it("is the RFC 9420 §5.1.3 EncryptContext, one array per (label, unchanged context)", () => {
    const ctx = utf8("abc");
    const e = encryptContext("Welcome", ctx);
    // opaque label<V> = "MLS 1.0 Welcome" (15 bytes), opaque context<V> = "abc"
    expect(toHex(e)).toBe("0f" + toHex(utf8("MLS 1.0 Welcome")) + "03" + toHex(ctx));
    expect(encryptContext("Welcome", ctx)).toBe(e);
    expect(encryptContext("UpdatePathNode", ctx)).not.toBe(e);
    ctx[0] = 0x78;
    const e2 = encryptContext("Welcome", ctx);
    expect(e2).not.toBe(e);
    expect(toHex(e2.subarray(e2.length - 3))).toBe(toHex(utf8("xbc")));
    const long = new Uint8Array(70_000).fill(5);
    const el = encryptContext("Welcome", long);
    expect(toHex(el.subarray(0, 20))).toBe("0f" + toHex(utf8("MLS 1.0 Welcome")) + "80011170"); // 4-byte varint 70000
    expect(el.length).toBe(1 + 15 + 4 + 70_000);
  });
});

describe("native randomBytes", () => {
  it("serves fresh bytes of every requested size, small ones from a pool", () => {
    const cs = nativeProvider.suite(1);
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const n = [4, 12, 16, 32, 64, 65, 200][i % 7]!;
      const b = cs.randomBytes(n);
      expect(b.length).toBe(n);
      expect(b.byteOffset).toBe(0);
      expect(b.buffer.byteLength).toBe(n); // a copy, not a view of the pool
      const hex = toHex(b);
      expect(seen.has(hex)).toBe(false);
      seen.add(hex);
    }
    expect(cs.randomBytes(0).length).toBe(0);
    expect(() => cs.randomBytes(-1)).toThrow(/non-negative/);
  });
});

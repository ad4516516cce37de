/**
 * The native provider (node:crypto) checked against independent implementations: hpke-js for
 * HPKE (RFC 9180), @noble/curves for signatures, @noble/ciphers for AEAD, @noble/hashes for
 * hash/HMAC/HKDF. The official vectors run in crypto-basics.test.ts.
 */
import { randomBytes } from "node:crypto";
import { gcm } from "@noble/ciphers/aes.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { ed25519 } from "@noble/curves/ed25519.js";
import { ed448 } from "@noble/curves/ed448.js";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { expand as nobleExpand, extract as nobleExtract } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { CipherSuite as HpkeJsSuite } from "hpke-js";
import { describe, expect, it } from "vitest";
import { ALL_SUITE_IDS, SUITES, type CipherSuite, type HashName, type SignatureName } from "../../src/crypto/cipher-suite.js";
import { nativeProvider } from "../../src/crypto/native/index.js";
import { CryptoError, UsageError } from "../../src/errors.js";
import { fromHex, toHex, utf8 } from "../../src/util/bytes.js";

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const u8 = (b: ArrayBuffer): Uint8Array => new Uint8Array(b);

const NOBLE_HASH = { "SHA-256": sha256, "SHA-384": sha384, "SHA-512": sha512 } as const satisfies Record<HashName, unknown>;

/** hpke-js suite with the same RFC 9180 identifiers. */
function hpkeJs(cs: CipherSuite): HpkeJsSuite {
  const { kemId, kdfId, aeadId } = cs.params;
  return new HpkeJsSuite({ kem: kemId as never, kdf: kdfId as never, aead: aeadId as never });
}

/** Byte-flip helper for tamper tests. */
function flip(b: Uint8Array, i: number): Uint8Array {
  const c = b.slice();
  c[i] = c[i]! ^ 0x01;
  return c;
}

async function expectCode(p: Promise<unknown> | (() => unknown), cls: typeof CryptoError | typeof UsageError, code: string): Promise<void> {
  let err: unknown;
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(cls);
  expect((err as CryptoError).code).toBe(code);
}

describe("nativeProvider", () => {
  it("is named native and supports exactly suites 1..7", () => {
    expect(nativeProvider.name).toBe("native");
    for (const id of ALL_SUITE_IDS) expect(nativeProvider.supports(id)).toBe(true);
    for (const id of [0, 8, 0xffff, 1.5, -1]) expect(nativeProvider.supports(id)).toBe(false);
  });

  it("caches one CipherSuite per id and rejects unknown ids with UsageError", async () => {
    for (const id of ALL_SUITE_IDS) {
      const cs = nativeProvider.suite(id);
      expect(nativeProvider.suite(id)).toBe(cs);
      expect(cs.params).toBe(SUITES[id]);
      expect(cs.provider).toBe("native");
    }
    await expectCode(() => nativeProvider.suite(0), UsageError, "usage.unsupported_cipher_suite");
    await expectCode(() => nativeProvider.suite(8), UsageError, "usage.unsupported_cipher_suite");
  });

  it("randomBytes returns plain Uint8Arrays of the requested length", () => {
    const cs = nativeProvider.suite(1);
    const a = cs.randomBytes(32);
    expect(a.constructor).toBe(Uint8Array);
    expect(a.length).toBe(32);
    expect(toHex(a)).not.toBe(toHex(cs.randomBytes(32)));
    expect(cs.randomBytes(0).length).toBe(0);
  });

  it("HKDF matches RFC 5869 test case A.1 (SHA-256)", () => {
    const cs = nativeProvider.suite(1);
    const prk = cs.kdfExtract(fromHex("000102030405060708090a0b0c"), new Uint8Array(22).fill(0x0b));
    expect(toHex(prk)).toBe("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
    const okm = cs.kdfExpand(prk, fromHex("f0f1f2f3f4f5f6f7f8f9"), 42);
    expect(toHex(okm)).toBe("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  });
});

describe.each(ALL_SUITE_IDS.map((id) => [id, SUITES[id].name] as const))("suite %i (%s)", (id) => {
  const cs = nativeProvider.suite(id);
  const { Nh, Nk, Nn, Nsk, Npk } = cs.params;
  const H = NOBLE_HASH[cs.params.hash];

  describe("hash, MAC, KDF", () => {
    it("hash and mac agree with @noble/hashes", () => {
      for (const len of [0, 1, 64, 1000]) {
        const data = rnd(len);
        const key = rnd(len % 2 === 0 ? Nh : 200);
        expect(toHex(cs.hash(data))).toBe(toHex(H(data)));
        expect(toHex(cs.mac(key, data))).toBe(toHex(hmac(H, key, data)));
      }
    });

    it("kdfExtract/kdfExpand agree with @noble/hashes HKDF (empty salt = Nh zeros, multi-block)", () => {
      const ikm = rnd(Nh);
      expect(toHex(cs.kdfExtract(new Uint8Array(0), ikm))).toBe(toHex(nobleExtract(H, ikm, new Uint8Array(Nh))));
      expect(toHex(cs.kdfExtract(new Uint8Array(0), ikm))).toBe(toHex(cs.kdfExtract(new Uint8Array(Nh), ikm)));
      const salt = rnd(17);
      const prk = cs.kdfExtract(salt, ikm);
      expect(toHex(prk)).toBe(toHex(nobleExtract(H, ikm, salt)));
      const info = rnd(40);
      for (const L of [1, Nh - 1, Nh, Nh + 1, 3 * Nh + 5, 255 * Nh]) {
        expect(toHex(cs.kdfExpand(prk, info, L))).toBe(toHex(nobleExpand(H, prk, info, L)));
      }
      expect(cs.kdfExpand(prk, info, 0).length).toBe(0);
    });

    it("kdfExpand rejects lengths above 255*Nh", async () => {
      await expectCode(() => cs.kdfExpand(rnd(Nh), new Uint8Array(0), 255 * Nh + 1), UsageError, "usage.invalid_length");
    });
  });

  describe("AEAD", () => {
    const noble = (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array) =>
      cs.params.aead === "ChaCha20Poly1305" ? chacha20poly1305(key, nonce, aad) : gcm(key, nonce, aad);

    it("interoperates with @noble/ciphers both ways (large plaintexts are sealed in 64 KiB chunks)", () => {
      for (const len of [0, 1, 16, 1000, 65_535, 65_536, 65_537, 200_003]) {
        const key = rnd(Nk);
        const nonce = rnd(Nn);
        const aad = rnd(len % 7);
        const pt = rnd(len);
        const ct = cs.aeadSeal(key, nonce, aad, pt);
        expect(ct.length).toBe(len + 16);
        expect(toHex(ct)).toBe(toHex(noble(key, nonce, aad).encrypt(pt)));
        expect(toHex(cs.aeadOpen(key, nonce, aad, ct))).toBe(toHex(pt));
        expect(toHex(noble(key, nonce, aad).decrypt(ct))).toBe(toHex(pt));
      }
    });

    it("throws CryptoError crypto.aead on any tampering or truncation", async () => {
      const key = rnd(Nk);
      const nonce = rnd(Nn);
      const aad = utf8("aad");
      const ct = cs.aeadSeal(key, nonce, aad, utf8("hello world"));
      const bad: [Uint8Array, Uint8Array, Uint8Array, Uint8Array][] = [
        [key, nonce, aad, flip(ct, 0)],
        [key, nonce, aad, flip(ct, ct.length - 1)],
        [key, nonce, utf8("aaD"), ct],
        [key, flip(nonce, 3), aad, ct],
        [flip(key, 5), nonce, aad, ct],
        [key, nonce, aad, ct.subarray(0, 15)],
        [key, nonce, aad, ct.subarray(0, ct.length - 1)],
        [key, nonce, aad, new Uint8Array(0)],
      ];
      for (const [k, n, a, c] of bad) await expectCode(() => cs.aeadOpen(k, n, a, c), CryptoError, "crypto.aead");
    });

    it("rejects wrong key/nonce lengths with UsageError", async () => {
      await expectCode(() => cs.aeadSeal(rnd(Nk + 1), rnd(Nn), new Uint8Array(0), new Uint8Array(1)), UsageError, "usage.invalid_key_length");
      await expectCode(() => cs.aeadSeal(rnd(Nk), rnd(Nn - 1), new Uint8Array(0), new Uint8Array(1)), UsageError, "usage.invalid_nonce_length");
      await expectCode(() => cs.aeadOpen(rnd(Nk - 1), rnd(Nn), new Uint8Array(0), rnd(20)), UsageError, "usage.invalid_key_length");
    });
  });

  describe(`signatures (${cs.params.signature})`, () => {
    const ref = nobleSig(cs.params.signature);

    it("native sign → noble verify, noble sign → native verify, same public key", () => {
      for (let i = 0; i < 3; i++) {
        const { privateKey, publicKey } = cs.signatureKeyPair();
        expect(toHex(ref.publicKey(privateKey))).toBe(toHex(publicKey));
        expect(toHex(cs.signaturePublicKey(privateKey))).toBe(toHex(publicKey));
        const msg = rnd(i * 50);
        const sig = cs.sign(privateKey, msg);
        expect(ref.verify(publicKey, msg, sig)).toBe(true);
        expect(cs.verify(publicKey, msg, sig)).toBe(true);

        const sk2 = ref.randomSecretKey();
        const pk2 = ref.publicKey(sk2);
        expect(toHex(cs.signaturePublicKey(sk2))).toBe(toHex(pk2));
        const sig2 = ref.sign(sk2, msg);
        expect(cs.verify(pk2, msg, sig2)).toBe(true);
        expect(cs.verify(pk2, flip(msg.length > 0 ? msg : new Uint8Array(1), 0), sig2)).toBe(false);
      }
    });

    it("verify returns false (never throws) on garbage", () => {
      const { privateKey, publicKey } = cs.signatureKeyPair();
      const msg = utf8("message");
      const sig = cs.sign(privateKey, msg);
      const other = cs.signatureKeyPair().publicKey;
      const cases: [Uint8Array, Uint8Array][] = [
        [publicKey, flip(sig, sig.length - 1)],
        [publicKey, flip(sig, 0)],
        [publicKey, sig.subarray(0, sig.length - 1)],
        [publicKey, new Uint8Array(0)],
        [publicKey, rnd(sig.length)],
        [publicKey, new Uint8Array(sig.length)],
        [other, sig],
        [publicKey.subarray(1), sig],
        [new Uint8Array(0), sig],
        [rnd(publicKey.length), sig],
        [new Uint8Array(publicKey.length), sig],
        [new Uint8Array(publicKey.length).fill(0xff), sig],
        [flip(publicKey, publicKey.length - 1), sig],
      ];
      if (publicKey[0] === 0x04) {
        // compressed-point prefix with the rest of the point, and a point off the curve
        const compressed = publicKey.slice();
        compressed[0] = 0x02;
        cases.push([compressed, sig], [compressed.subarray(0, 1 + (publicKey.length - 1) / 2), sig]);
      }
      for (const [pk, s] of cases) expect(cs.verify(pk, msg, s)).toBe(false);
      expect(cs.verify(publicKey, msg, sig)).toBe(true);
    });

    it("the private-key cache follows the bytes, not the array object", () => {
      const a = cs.signatureKeyPair();
      const b = cs.signatureKeyPair();
      const sk = a.privateKey.slice();
      expect(toHex(cs.signaturePublicKey(sk))).toBe(toHex(a.publicKey));
      sk.set(b.privateKey); // same array object, new content
      expect(toHex(cs.signaturePublicKey(sk))).toBe(toHex(b.publicKey));
      const msg = utf8("x");
      expect(cs.verify(b.publicKey, msg, cs.sign(sk, msg))).toBe(true);
    });

    it("rejects malformed private keys with UsageError", async () => {
      await expectCode(() => cs.sign(new Uint8Array(0), utf8("x")), UsageError, "usage.invalid_key_length");
      await expectCode(() => cs.sign(rnd(ref.Nsk + 1), utf8("x")), UsageError, "usage.invalid_key_length");
      if (ref.ecdsa) {
        await expectCode(() => cs.sign(new Uint8Array(ref.Nsk), utf8("x")), UsageError, "usage.invalid_private_key");
        await expectCode(() => cs.sign(new Uint8Array(ref.Nsk).fill(0xff), utf8("x")), UsageError, "usage.invalid_private_key");
      }
    });
  });

  describe(`HPKE (${cs.params.kem})`, () => {
    const ref = hpkeJs(cs);

    it("hpkeKeyPair gives serialized keys of the right sizes and hpkePublicKey(priv) = pub", async () => {
      for (let i = 0; i < 3; i++) {
        const kp = await cs.hpkeKeyPair();
        expect(kp.privateKey.length).toBe(Nsk);
        expect(kp.publicKey.length).toBe(Npk);
        expect(toHex(await cs.hpkePublicKey(kp.privateKey))).toBe(toHex(kp.publicKey));
        const theirs = await ref.kem.deserializePrivateKey(kp.privateKey);
        expect(toHex(u8(await ref.kem.serializePrivateKey(theirs)))).toBe(toHex(kp.privateKey));
      }
    });

    it("DeriveKeyPair matches hpke-js for random IKMs", async () => {
      for (const len of [Nsk, Nsk, 32, 64, 100]) {
        const ikm = rnd(len);
        const mine = await cs.hpkeDeriveKeyPair(ikm);
        const theirs = await ref.kem.deriveKeyPair(ikm);
        expect(toHex(mine.privateKey)).toBe(toHex(u8(await ref.kem.serializePrivateKey(theirs.privateKey))));
        expect(toHex(mine.publicKey)).toBe(toHex(u8(await ref.kem.serializePublicKey(theirs.publicKey))));
        expect(toHex(await cs.hpkePublicKey(mine.privateKey))).toBe(toHex(mine.publicKey));
      }
    });

    it("native seal → hpke-js open", async () => {
      const kp = await cs.hpkeKeyPair();
      const recipientKey = await ref.kem.deserializePrivateKey(kp.privateKey);
      for (const len of [0, 1, 100]) {
        const info = rnd(13);
        const aad = rnd(len % 5);
        const pt = rnd(len);
        const { kemOutput, ciphertext } = await cs.hpkeSeal(kp.publicKey, info, aad, pt);
        expect(kemOutput.length).toBe(cs.params.Nenc);
        const opened = await ref.open({ recipientKey, enc: kemOutput, info }, ciphertext, aad);
        expect(toHex(u8(opened))).toBe(toHex(pt));
        expect(toHex(await cs.hpkeOpen(kp.privateKey, kemOutput, info, aad, ciphertext))).toBe(toHex(pt));
      }
    });

    it("hpke-js seal → native open", async () => {
      const kp = await cs.hpkeDeriveKeyPair(rnd(Nsk));
      const recipientPublicKey = await ref.kem.deserializePublicKey(kp.publicKey);
      for (const len of [0, 1, 100]) {
        const info = rnd(7);
        const aad = rnd(len % 3);
        const pt = rnd(len);
        const { enc, ct } = await ref.seal({ recipientPublicKey, info }, pt, aad);
        expect(u8(ct).length).toBe(len + 16);
        expect(toHex(await cs.hpkeOpen(kp.privateKey, u8(enc), info, aad, u8(ct)))).toBe(toHex(pt));
      }
    });

    it("exporter agrees with hpke-js in both directions", async () => {
      const kp = await cs.hpkeKeyPair();
      const info = utf8("external init");
      for (const L of [Nh, 1, 2 * Nh + 3]) {
        const ctx = rnd(L % 9);
        const mine = await cs.hpkeExportSender(kp.publicKey, info, ctx, L);
        expect(mine.secret.length).toBe(L);
        const recipientKey = await ref.kem.deserializePrivateKey(kp.privateKey);
        const r = await ref.createRecipientContext({ recipientKey, enc: mine.kemOutput, info });
        expect(toHex(u8(await r.export(ctx, L)))).toBe(toHex(mine.secret));
        expect(toHex(await cs.hpkeExportReceiver(kp.privateKey, mine.kemOutput, info, ctx, L))).toBe(toHex(mine.secret));

        const s = await ref.createSenderContext({ recipientPublicKey: await ref.kem.deserializePublicKey(kp.publicKey), info });
        const theirs = u8(await s.export(ctx, L));
        expect(toHex(await cs.hpkeExportReceiver(kp.privateKey, u8(s.enc), info, ctx, L))).toBe(toHex(theirs));
      }
    });

    it("open failures are CryptoError crypto.hpke", async () => {
      const kp = await cs.hpkeKeyPair();
      const other = await cs.hpkeKeyPair();
      const info = utf8("info");
      const aad = utf8("aad");
      const { kemOutput, ciphertext } = await cs.hpkeSeal(kp.publicKey, info, aad, utf8("secret"));
      const open = (sk: Uint8Array, enc: Uint8Array, i: Uint8Array, a: Uint8Array, ct: Uint8Array) =>
        expectCode(cs.hpkeOpen(sk, enc, i, a, ct), CryptoError, "crypto.hpke");
      await open(kp.privateKey, kemOutput, info, aad, flip(ciphertext, 0));
      await open(kp.privateKey, kemOutput, info, aad, ciphertext.subarray(0, 10));
      await open(kp.privateKey, kemOutput, utf8("infx"), aad, ciphertext);
      await open(kp.privateKey, kemOutput, info, utf8("aaD"), ciphertext);
      await open(other.privateKey, kemOutput, info, aad, ciphertext);
      await open(kp.privateKey, flip(kemOutput, kemOutput.length - 1), info, aad, ciphertext);
      await open(kp.privateKey, kemOutput.subarray(0, kemOutput.length - 1), info, aad, ciphertext);
      await open(kp.privateKey, new Uint8Array(0), info, aad, ciphertext);
      await open(kp.privateKey, new Uint8Array(Npk), info, aad, ciphertext); // X: low order (all-zero DH); NIST: not a point
      if (kemOutput[0] === 0x04) {
        const compressed = kemOutput.slice();
        compressed[0] = 0x02;
        await open(kp.privateKey, compressed, info, aad, ciphertext);
      }
      await expectCode(cs.hpkeExportReceiver(kp.privateKey, new Uint8Array(3), info, new Uint8Array(0), 32), CryptoError, "crypto.hpke");
      expect(toHex(await cs.hpkeOpen(kp.privateKey, kemOutput, info, aad, ciphertext))).toBe(toHex(utf8("secret")));
    });

    it("sealing to an invalid public key is CryptoError crypto.hpke", async () => {
      const pt = utf8("x");
      const e = new Uint8Array(0);
      const bad: Uint8Array[] = [new Uint8Array(0), new Uint8Array(Npk - 1), new Uint8Array(Npk), new Uint8Array(Npk + 1)];
      // All-0xff is a valid (non-canonical) X25519/X448 u-coordinate (RFC 7748 §5), but no NIST point.
      if (cs.params.kem.startsWith("P-")) bad.push(new Uint8Array(Npk).fill(0xff), cs.randomBytes(Npk));
      for (const pk of bad) {
        await expectCode(cs.hpkeSeal(pk, e, e, pt), CryptoError, "crypto.hpke");
        await expectCode(cs.hpkeExportSender(pk, e, e, 16), CryptoError, "crypto.hpke");
      }
      if (cs.params.kem === "X25519") {
        // RFC 7748 low-order point u = 1 and the order-8 point: all-zero DH output.
        for (const hex of ["0100000000000000000000000000000000000000000000000000000000000000", "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"]) {
          await expectCode(cs.hpkeSeal(fromHex(hex), e, e, pt), CryptoError, "crypto.hpke");
        }
      }
    });

    it("malformed own private keys are UsageError", async () => {
      await expectCode(cs.hpkePublicKey(new Uint8Array(Nsk + 1)), UsageError, "usage.invalid_key_length");
      const kp = await cs.hpkeKeyPair();
      const { kemOutput, ciphertext } = await cs.hpkeSeal(kp.publicKey, new Uint8Array(0), new Uint8Array(0), utf8("x"));
      await expectCode(cs.hpkeOpen(new Uint8Array(0), kemOutput, new Uint8Array(0), new Uint8Array(0), ciphertext), UsageError, "usage.invalid_key_length");
      if (cs.params.kem.startsWith("P-")) {
        await expectCode(cs.hpkePublicKey(new Uint8Array(Nsk)), UsageError, "usage.invalid_private_key");
      }
    });
  });
});

interface RefSig {
  readonly Nsk: number;
  readonly ecdsa: boolean;
  randomSecretKey(): Uint8Array;
  publicKey(sk: Uint8Array): Uint8Array;
  sign(sk: Uint8Array, msg: Uint8Array): Uint8Array;
  verify(pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean;
}

/** @noble/curves v2 as the reference: pure EdDSA; ECDSA prehashed with the curve hash, DER. */
function nobleSig(name: SignatureName): RefSig {
  switch (name) {
    case "Ed25519":
    case "Ed448": {
      const c = name === "Ed25519" ? ed25519 : ed448;
      return {
        Nsk: name === "Ed25519" ? 32 : 57,
        ecdsa: false,
        randomSecretKey: () => c.utils.randomSecretKey(),
        publicKey: (sk) => c.getPublicKey(sk),
        sign: (sk, msg) => c.sign(msg, sk),
        verify: (pk, msg, sig) => c.verify(sig, msg, pk, { zip215: false }),
      };
    }
    default: {
      const c = name === "ECDSA-P256-SHA256" ? p256 : name === "ECDSA-P384-SHA384" ? p384 : p521;
      return {
        Nsk: c.lengths.secretKey ?? 0,
        ecdsa: true,
        randomSecretKey: () => c.utils.randomSecretKey(),
        publicKey: (sk) => c.getPublicKey(sk, false),
        sign: (sk, msg) => c.sign(msg, sk, { prehash: true, format: "der" }),
        // OpenSSL emits high-S signatures half of the time; both are valid ECDSA.
        verify: (pk, msg, sig) => c.verify(sig, msg, pk, { prehash: true, format: "der", lowS: false }),
      };
    }
  }
}

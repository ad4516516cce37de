/**
 * Negative and property tests of the portable provider for all seven suites: tampering, malformed
 * keys and signatures, HPKE failures, determinism, key caching and the provider boundary.
 */
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { describe, expect, it } from "vitest";
import { ALL_SUITE_IDS } from "../../src/crypto/cipher-suite.js";
import { portableProvider } from "../../src/crypto/portable/index.js";
import { CryptoError, UsageError } from "../../src/errors.js";
import { bytesEqual, concat, toHex, utf8 } from "../../src/util/bytes.js";

const flip = (b: Uint8Array, i: number, bit = 0x01): Uint8Array => {
  const c = b.slice();
  c[i] = c[i]! ^ bit;
  return c;
};

const rejectCode = async (p: Promise<unknown>, code: string): Promise<void> => {
  await expect(p).rejects.toBeInstanceOf(CryptoError);
  await expect(p).rejects.toMatchObject({ code });
};

const throwsCode = (f: () => unknown, cls: new (...a: never[]) => Error, code: string): void => {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(cls);
  expect(err).toMatchObject({ code });
};

describe("portable provider: suite lookup", () => {
  it("returns one cached CipherSuite per id with matching params", () => {
    for (const id of ALL_SUITE_IDS) {
      const cs = portableProvider.suite(id);
      expect(portableProvider.supports(id)).toBe(true);
      expect(portableProvider.suite(id)).toBe(cs);
      expect(cs.params.id).toBe(id);
      expect(cs.provider).toBe("portable");
    }
    expect(portableProvider.name).toBe("portable");
  });

  it.each([0, 8, 0xffff, -1, 1.5, Number.NaN])("rejects suite id %s with usage.unsupported_cipher_suite", (id) => {
    expect(portableProvider.supports(id)).toBe(false);
    throwsCode(() => portableProvider.suite(id), UsageError, "usage.unsupported_cipher_suite");
  });
});

for (const id of ALL_SUITE_IDS) {
  const cs = portableProvider.suite(id);
  const { Nk, Nn, Nh, Npk, Nenc } = cs.params;

  describe(`portable suite ${id} (${cs.params.name})`, () => {
    describe("hash / KDF", () => {
      it("hash and MAC have Nh-byte output; kdfExpand bounds are enforced", () => {
        expect(cs.hash(utf8("abc")).length).toBe(Nh);
        expect(cs.mac(cs.randomBytes(Nh), utf8("abc")).length).toBe(Nh);
        const prk = cs.kdfExtract(new Uint8Array(0), cs.randomBytes(Nh));
        expect(prk.length).toBe(Nh);
        expect(cs.kdfExpand(prk, utf8("info"), 255 * Nh).length).toBe(255 * Nh);
        throwsCode(() => cs.kdfExpand(prk, utf8("info"), 255 * Nh + 1), UsageError, "usage.invalid_length");
      });

      it("randomBytes returns fresh bytes of the requested length", () => {
        const a = cs.randomBytes(32);
        expect(a.length).toBe(32);
        expect(bytesEqual(a, cs.randomBytes(32))).toBe(false);
      });
    });

    describe("AEAD", () => {
      const key = cs.randomBytes(Nk);
      const nonce = cs.randomBytes(Nn);
      const aad = utf8("aad");
      const pt = utf8("attack at dawn");
      const ct = cs.aeadSeal(key, nonce, aad, pt);

      it("round-trips and appends a 16-byte tag", () => {
        expect(ct.length).toBe(pt.length + 16);
        expect(toHex(cs.aeadOpen(key, nonce, aad, ct))).toBe(toHex(pt));
      });

      it("rejects every kind of tampering with crypto.aead", () => {
        const bad: Array<[Uint8Array, Uint8Array, Uint8Array, Uint8Array]> = [
          [key, nonce, aad, flip(ct, 0)],
          [key, nonce, aad, flip(ct, ct.length - 1, 0x80)],
          [key, nonce, utf8("aae"), ct],
          [key, flip(nonce, 0), aad, ct],
          [flip(key, Nk - 1), nonce, aad, ct],
          [key, nonce, aad, ct.subarray(0, ct.length - 1)],
          [key, nonce, aad, ct.subarray(0, 15)],
          [key, nonce, aad, new Uint8Array(0)],
        ];
        for (const [k, n, a, c] of bad) throwsCode(() => cs.aeadOpen(k, n, a, c), CryptoError, "crypto.aead");
      });

      it("rejects wrong key and nonce lengths with UsageError", () => {
        throwsCode(() => cs.aeadSeal(key.subarray(1), nonce, aad, pt), UsageError, "usage.invalid_key_length");
        throwsCode(() => cs.aeadSeal(key, concat(nonce, new Uint8Array(1)), aad, pt), UsageError, "usage.invalid_nonce_length");
        throwsCode(() => cs.aeadOpen(concat(key, key), nonce, aad, ct), UsageError, "usage.invalid_key_length");
        throwsCode(() => cs.aeadOpen(key, nonce.subarray(2), aad, ct), UsageError, "usage.invalid_nonce_length");
      });
    });

    describe("signatures", () => {
      const { privateKey, publicKey } = cs.signatureKeyPair();
      const msg = utf8("signed content");
      const sig = cs.sign(privateKey, msg);

      it("derives the key pair's public key and verifies its own signature", () => {
        expect(toHex(cs.signaturePublicKey(privateKey))).toBe(toHex(publicKey));
        expect(cs.verify(publicKey, msg, sig)).toBe(true);
        expect(cs.verify(publicKey, utf8("signed contenT"), sig)).toBe(false);
      });

      it("returns false for flipped signature bits", () => {
        for (const i of [0, 1, Math.floor(sig.length / 2), sig.length - 1]) {
          for (const bit of [0x01, 0x80]) expect(cs.verify(publicKey, msg, flip(sig, i, bit))).toBe(false);
        }
      });

      it("returns false for truncated, extended or empty signatures", () => {
        expect(cs.verify(publicKey, msg, sig.subarray(0, sig.length - 1))).toBe(false);
        expect(cs.verify(publicKey, msg, sig.subarray(0, 8))).toBe(false);
        expect(cs.verify(publicKey, msg, concat(sig, new Uint8Array([0])))).toBe(false);
        expect(cs.verify(publicKey, msg, new Uint8Array(0))).toBe(false);
      });

      it("returns false for garbage or mismatched public keys", () => {
        const garbage = [
          new Uint8Array(0),
          new Uint8Array(publicKey.length),
          new Uint8Array(publicKey.length).fill(0xff),
          cs.randomBytes(publicKey.length),
          publicKey.subarray(1),
          concat(publicKey, new Uint8Array([1])),
          flip(publicKey, publicKey.length - 1),
          cs.signatureKeyPair().publicKey,
        ];
        for (const pk of garbage) expect(cs.verify(pk, msg, sig)).toBe(false);
      });

      it("rejects a wrong-length private key with UsageError", () => {
        throwsCode(() => cs.sign(concat(privateKey, privateKey), msg), UsageError, "usage.invalid_key_length");
        throwsCode(() => cs.signaturePublicKey(new Uint8Array(0)), UsageError, "usage.invalid_key_length");
      });
    });

    describe("HPKE", () => {
      const info = utf8("info");
      const aad = utf8("aad");
      const pt = utf8("group secrets");

      it("DeriveKeyPair is deterministic, and hpkePublicKey matches", async () => {
        const ikm = cs.randomBytes(Nh);
        const a = await cs.hpkeDeriveKeyPair(ikm);
        const b = await cs.hpkeDeriveKeyPair(ikm.slice());
        expect(toHex(a.privateKey)).toBe(toHex(b.privateKey));
        expect(toHex(a.publicKey)).toBe(toHex(b.publicKey));
        expect(a.publicKey.length).toBe(Npk);
        expect(a.privateKey.length).toBe(cs.params.Nsk);
        expect(toHex(await cs.hpkePublicKey(a.privateKey))).toBe(toHex(a.publicKey));
        const c = await cs.hpkeDeriveKeyPair(flip(ikm, 0));
        expect(toHex(c.publicKey)).not.toBe(toHex(a.publicKey));
      });

      it("hpkeKeyPair's public key matches hpkePublicKey and seal/open round-trips", async () => {
        const kp = await cs.hpkeKeyPair();
        expect(toHex(await cs.hpkePublicKey(kp.privateKey))).toBe(toHex(kp.publicKey));
        const sealed = await cs.hpkeSeal(kp.publicKey, info, aad, pt);
        expect(sealed.kemOutput.length).toBe(Nenc);
        expect(toHex(await cs.hpkeOpen(kp.privateKey, sealed.kemOutput, info, aad, sealed.ciphertext))).toBe(toHex(pt));
      });

      it("open fails with crypto.hpke for a wrong key, wrong info/aad, or tampered input", async () => {
        const kp = await cs.hpkeKeyPair();
        const other = await cs.hpkeKeyPair();
        const { kemOutput, ciphertext } = await cs.hpkeSeal(kp.publicKey, info, aad, pt);
        await rejectCode(cs.hpkeOpen(other.privateKey, kemOutput, info, aad, ciphertext), "crypto.hpke");
        await rejectCode(cs.hpkeOpen(kp.privateKey, kemOutput, utf8("infO"), aad, ciphertext), "crypto.hpke");
        await rejectCode(cs.hpkeOpen(kp.privateKey, kemOutput, info, utf8("aaD"), ciphertext), "crypto.hpke");
        await rejectCode(cs.hpkeOpen(kp.privateKey, kemOutput, info, aad, flip(ciphertext, 0)), "crypto.hpke");
        await rejectCode(cs.hpkeOpen(kp.privateKey, flip(kemOutput, Nenc - 1), info, aad, ciphertext), "crypto.hpke");
        await rejectCode(cs.hpkeOpen(kp.privateKey, kemOutput.subarray(1), info, aad, ciphertext), "crypto.hpke");
        await rejectCode(cs.hpkeOpen(kp.privateKey.subarray(0, 3), kemOutput, info, aad, ciphertext), "crypto.hpke");
      });

      it("seal fails with crypto.hpke for a malformed public key", async () => {
        const kp = await cs.hpkeKeyPair();
        await rejectCode(cs.hpkeSeal(kp.publicKey.subarray(1), info, aad, pt), "crypto.hpke");
        if (cs.params.kem.startsWith("P-")) {
          // Not a point on the curve.
          await rejectCode(cs.hpkeSeal(flip(kp.publicKey, Npk - 1), info, aad, pt), "crypto.hpke");
          await rejectCode(cs.hpkeSeal(new Uint8Array(Npk), info, aad, pt), "crypto.hpke");
        } else {
          // RFC 9180 §7.1.4: the all-zero X25519/X448 DH output must be rejected.
          await rejectCode(cs.hpkeSeal(new Uint8Array(Npk), info, aad, pt), "crypto.hpke");
        }
      });

      it("sender and receiver exports agree; context and key change the secret", async () => {
        const kp = await cs.hpkeKeyPair();
        const ctx = utf8("MLS 1.0 external init secret");
        const sent = await cs.hpkeExportSender(kp.publicKey, info, ctx, Nh);
        expect(sent.secret.length).toBe(Nh);
        expect(sent.kemOutput.length).toBe(Nenc);
        const got = await cs.hpkeExportReceiver(kp.privateKey, sent.kemOutput, info, ctx, Nh);
        expect(toHex(got)).toBe(toHex(sent.secret));
        const otherCtx = await cs.hpkeExportReceiver(kp.privateKey, sent.kemOutput, info, utf8("other"), Nh);
        expect(toHex(otherCtx)).not.toBe(toHex(sent.secret));
        const other = await cs.hpkeKeyPair();
        const wrongKey = await cs.hpkeExportReceiver(other.privateKey, sent.kemOutput, info, ctx, Nh);
        expect(toHex(wrongKey)).not.toBe(toHex(sent.secret));
        await rejectCode(cs.hpkeExportReceiver(kp.privateKey, sent.kemOutput.subarray(2), info, ctx, Nh), "crypto.hpke");
      });

      it("never serves a stale cached key when the caller reuses a buffer", async () => {
        const a = await cs.hpkeKeyPair();
        const b = await cs.hpkeKeyPair();
        const buf = a.privateKey.slice();
        const toA = await cs.hpkeSeal(a.publicKey, info, aad, pt);
        expect(toHex(await cs.hpkeOpen(buf, toA.kemOutput, info, aad, toA.ciphertext))).toBe(toHex(pt));
        buf.set(b.privateKey);
        const toB = await cs.hpkeSeal(b.publicKey, info, aad, pt);
        expect(toHex(await cs.hpkeOpen(buf, toB.kemOutput, info, aad, toB.ciphertext))).toBe(toHex(pt));
        await rejectCode(cs.hpkeOpen(buf, toA.kemOutput, info, aad, toA.ciphertext), "crypto.hpke");
      });

      it("rejects a wrong-length private key in hpkePublicKey with UsageError", async () => {
        await expect(cs.hpkePublicKey(new Uint8Array(cs.params.Nsk + 1))).rejects.toBeInstanceOf(UsageError);
      });
    });
  });
}

describe("NIST curves: interoperability details", () => {
  const curves = { 2: p256, 5: p521, 7: p384 } as const;

  it.each([2, 5, 7] as const)("suite %s accepts a high-S ECDSA signature (as OpenSSL emits)", (id) => {
    const cs = portableProvider.suite(id);
    const curve = curves[id];
    const { privateKey, publicKey } = cs.signatureKeyPair();
    const msg = utf8("high-S");
    const low = curve.Signature.fromBytes(cs.sign(privateKey, msg), "der");
    const high = new curve.Signature(low.r, curve.Point.CURVE().n - low.s);
    expect(cs.verify(publicKey, msg, high.toBytes("der"))).toBe(true);
  });

  it("suite 5 accepts P-521 private keys without their leading zero byte", async () => {
    const cs = portableProvider.suite(5);
    const full = concat(new Uint8Array(1), cs.randomBytes(65));
    const short = full.subarray(1);
    const pub = cs.signaturePublicKey(full);
    expect(toHex(cs.signaturePublicKey(short))).toBe(toHex(pub));
    expect(cs.verify(pub, utf8("m"), cs.sign(short, utf8("m")))).toBe(true);

    const hpkePub = await cs.hpkePublicKey(full);
    expect(toHex(await cs.hpkePublicKey(short))).toBe(toHex(hpkePub));
    const sealed = await cs.hpkeSeal(hpkePub, utf8("i"), utf8("a"), utf8("p"));
    expect(toHex(await cs.hpkeOpen(short, sealed.kemOutput, utf8("i"), utf8("a"), sealed.ciphertext))).toBe(toHex(utf8("p")));
  });
});

import { createHmac, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hmac } from "../../src/crypto/native/hmac.js";

const ALGS = ["sha256", "sha384", "sha512"] as const;

describe("native one-shot HMAC (RFC 2104) matches node:crypto createHmac", () => {
  for (const alg of ALGS) {
    it(`${alg}: keys shorter than, equal to and longer than the block; messages 0..1100 bytes in 1..3 parts`, () => {
      const block = alg === "sha256" ? 64 : 128;
      for (const keyLen of [0, 1, 32, block - 1, block, block + 1, 300]) {
        for (const msgLen of [0, 1, 17, 63, 64, 65, 200, 1023, 1024, 1025, 1100]) {
          const key = new Uint8Array(randomBytes(keyLen));
          const msg = new Uint8Array(randomBytes(msgLen));
          const want = createHmac(alg, key).update(msg).digest();
          expect(Buffer.from(hmac(alg, key, msg))).toEqual(want);
          const a = Math.floor(msgLen / 3);
          const b = Math.floor((2 * msgLen) / 3);
          expect(Buffer.from(hmac(alg, key, msg.subarray(0, a), msg.subarray(a, b), msg.subarray(b)))).toEqual(want);
        }
      }
    });
  }

  it("leaves the caller's key and message untouched and returns a fresh array each time", () => {
    const key = new Uint8Array(randomBytes(200)); // longer than the block: hashed internally
    const keyCopy = key.slice();
    const msg = new Uint8Array(randomBytes(50));
    const msgCopy = msg.slice();
    const a = hmac("sha256", key, msg);
    const b = hmac("sha256", key, msg);
    expect(key).toEqual(keyCopy);
    expect(msg).toEqual(msgCopy);
    expect(a).toEqual(b);
    expect(a.buffer).not.toBe(b.buffer);
    a.fill(0);
    expect(b).toEqual(new Uint8Array(createHmac("sha256", key).update(msg).digest()));
  });

  it("RFC 4231 test case 2 (HMAC-SHA-256, key \"Jefe\")", () => {
    const out = hmac("sha256", new TextEncoder().encode("Jefe"), new TextEncoder().encode("what do ya want "), new TextEncoder().encode("for nothing?"));
    expect(Buffer.from(out).toString("hex")).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  });
});

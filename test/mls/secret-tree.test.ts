/** RFC 9420 §9 secret tree and §6.3.2 sender-data key, against secret-tree.json, plus §9.2 limits. */
import { describe, expect, it } from "vitest";
import { UsageError, ValidationError } from "../../src/errors.js";
import { deriveSecret } from "../../src/crypto/labeled.js";
import { deriveSenderDataKey, SecretTree, type RatchetKey, type RatchetType } from "../../src/mls/schedule/secret-tree.js";
import { toLeafIndex } from "../../src/mls/tree/tree-math.js";
import { toHex } from "../../src/util/bytes.js";
import { PROVIDERS } from "../helpers/providers.js";
import { describeVectors, h } from "../helpers/vectors.js";

interface LeafGeneration {
  generation: number;
  handshake_key: string;
  handshake_nonce: string;
  application_key: string;
  application_nonce: string;
}

interface SecretTreeCase {
  cipher_suite: number;
  sender_data: { sender_data_secret: string; ciphertext: string; key: string; nonce: string };
  encryption_secret: string;
  leaves: LeafGeneration[][];
}

const TYPES: readonly RatchetType[] = ["handshake", "application"];
const hex = (k: RatchetKey): { key: string; nonce: string } => ({ key: toHex(k.key), nonce: toHex(k.nonce) });
const want = (g: LeafGeneration, t: RatchetType): { key: string; nonce: string } =>
  t === "handshake" ? { key: g.handshake_key, nonce: g.handshake_nonce } : { key: g.application_key, nonce: g.application_nonce };

describeVectors<SecretTreeCase>("secret-tree", (cases) => {
  for (const p of PROVIDERS) {
    describe(p.name, () => {
      for (const c of cases) {
        it(`suite ${c.cipher_suite}, ${c.leaves.length} leaves`, () => {
          const cs = p.suite(c.cipher_suite);
          const sd = deriveSenderDataKey(cs, h(c.sender_data.sender_data_secret), h(c.sender_data.ciphertext));
          expect(toHex(sd.key)).toBe(c.sender_data.key);
          expect(toHex(sd.nonce)).toBe(c.sender_data.nonce);

          const n = c.leaves.length;
          // Receiver: jump straight to each listed generation; leaves taken in reverse order so
          // the lazy derivation starts from different frontiers.
          const receiver = new SecretTree(cs, h(c.encryption_secret), n);
          for (let i = n - 1; i >= 0; i--) {
            for (const g of c.leaves[i]!) {
              for (const t of TYPES) {
                const got = receiver.withDecryptionKey(toLeafIndex(i), t, g.generation, hex);
                expect(got, `leaf ${i} ${t} generation ${g.generation}`).toEqual(want(g, t));
              }
            }
          }
          // Sender: step the ratchet one generation at a time.
          const sender = new SecretTree(cs, h(c.encryption_secret), n);
          for (const [i, gens] of c.leaves.entries()) {
            for (const t of TYPES) {
              for (const g of gens) {
                let got: { key: string; nonce: string } | undefined;
                while (sender.nextGeneration(toLeafIndex(i), t) <= g.generation) {
                  got = sender.withEncryptionKey(toLeafIndex(i), t, (k) => (k.generation === g.generation ? hex(k) : undefined));
                }
                expect(got, `leaf ${i} ${t} generation ${g.generation} (sender)`).toEqual(want(g, t));
              }
            }
          }
          expect(receiver.storedNodeCount).toBe(0);
          expect(sender.storedNodeCount).toBe(0);
        });
      }
    });
  }
});

describe("secret tree limits and deletion (RFC 9420 §9.2)", () => {
  for (const p of PROVIDERS) {
    describe(p.name, () => {
      const cs = p.suite(1);
      const secret = deriveSecret(cs, new Uint8Array(32), "test encryption secret");
      const L0 = toLeafIndex(0);
      const L3 = toLeafIndex(3);
      const copy = (k: RatchetKey): RatchetKey => ({ generation: k.generation, key: k.key.slice(), nonce: k.nonce.slice() });
      const code = (f: () => unknown): string => {
        try {
          f();
        } catch (e) {
          if (e instanceof ValidationError || e instanceof UsageError) return e.code;
          throw e;
        }
        return "no error";
      };

      it("sender and receiver derive the same keys", () => {
        const a = new SecretTree(cs, secret, 4);
        const b = new SecretTree(cs, secret, 4);
        for (let g = 0; g < 3; g++) {
          const sent = a.withEncryptionKey(L3, "application", copy);
          expect(sent.generation).toBe(g);
          expect(b.withDecryptionKey(L3, "application", g, copy)).toEqual(sent);
        }
        // Handshake and application ratchets differ.
        const hs = a.withEncryptionKey(L3, "handshake", copy);
        expect(toHex(hs.key)).not.toBe(toHex(b.withDecryptionKey(L3, "application", 3, copy).key));
      });

      it("rejects a generation further ahead than maxForwardDistance", () => {
        const t = new SecretTree(cs, secret, 4, { maxForwardDistance: 10 });
        expect(code(() => t.withDecryptionKey(L0, "application", 11, copy))).toBe("valid.generation_too_far");
        expect(t.nextGeneration(L0, "application")).toBe(0);
        expect(t.withDecryptionKey(L0, "application", 10, copy).generation).toBe(10);
        // next is now 11: 22 skips 11 generations, 21 skips 10.
        expect(code(() => t.withDecryptionKey(L0, "application", 22, copy))).toBe("valid.generation_too_far");
        expect(t.withDecryptionKey(L0, "application", 21, copy).generation).toBe(21);
      });

      it("rejects a reused generation, for receiving and for our own sent keys", () => {
        const t = new SecretTree(cs, secret, 4);
        t.withDecryptionKey(L0, "handshake", 3, copy);
        expect(code(() => t.withDecryptionKey(L0, "handshake", 3, copy))).toBe("valid.key_reused");
        const k = t.withEncryptionKey(L3, "handshake", copy);
        expect(code(() => t.withDecryptionKey(L3, "handshake", k.generation, copy))).toBe("valid.key_reused");
      });

      it("keeps at most maxPastKeys skipped keys and drops the oldest", () => {
        const t = new SecretTree(cs, secret, 4, { maxPastKeys: 2 });
        const ref = new SecretTree(cs, secret, 4, { maxPastKeys: 100 });
        const expected = Array.from({ length: 10 }, (_, g) => ref.withDecryptionKey(L0, "application", g, copy));
        t.withDecryptionKey(L0, "application", 5, copy); // skips 0..4, keeps 3 and 4
        expect(t._pastKeyCount(L0, "application")).toBe(2);
        expect(code(() => t.withDecryptionKey(L0, "application", 2, copy))).toBe("valid.generation_too_old");
        expect(code(() => t.withDecryptionKey(L0, "application", 0, copy))).toBe("valid.generation_too_old");
        expect(t.withDecryptionKey(L0, "application", 4, copy)).toEqual(expected[4]);
        t.withDecryptionKey(L0, "application", 8, copy); // skips 6, 7: keeps 6, 7 and drops 3
        expect(t._pastKeyCount(L0, "application")).toBe(2);
        expect(code(() => t.withDecryptionKey(L0, "application", 3, copy))).toBe("valid.generation_too_old");
        expect(code(() => t.withDecryptionKey(L0, "application", 4, copy))).toBe("valid.key_reused");
        expect(t.withDecryptionKey(L0, "application", 7, copy)).toEqual(expected[7]);
        expect(t.withDecryptionKey(L0, "application", 6, copy)).toEqual(expected[6]);
        expect(code(() => t.withDecryptionKey(L0, "application", 6, copy))).toBe("valid.key_reused");
        expect(t._pastKeyCount(L0, "application")).toBe(0);
      });

      it("with maxPastKeys 0 nothing skipped is kept", () => {
        const t = new SecretTree(cs, secret, 4, { maxPastKeys: 0 });
        t.withDecryptionKey(L0, "application", 3, copy);
        expect(t._pastKeyCount(L0, "application")).toBe(0);
        expect(code(() => t.withDecryptionKey(L0, "application", 2, copy))).toBe("valid.generation_too_old");
      });

      it("a failed use keeps the key (a forged message cannot burn it)", () => {
        const t = new SecretTree(cs, secret, 4);
        expect(() =>
          t.withDecryptionKey(L0, "application", 2, () => {
            throw new Error("tag mismatch");
          }),
        ).toThrow("tag mismatch");
        expect(t.withDecryptionKey(L0, "application", 2, copy).generation).toBe(2);
        expect(code(() => t.withDecryptionKey(L0, "application", 2, copy))).toBe("valid.key_reused");
      });

      it("wipes used keys and deletes consumed node secrets", () => {
        const t = new SecretTree(cs, secret, 8);
        expect(t.storedNodeCount).toBe(1); // only the root (encryption_secret)
        let seen: RatchetKey | undefined;
        t.withDecryptionKey(L0, "application", 0, (k) => {
          expect(k.key.some((b) => b !== 0)).toBe(true);
          seen = k;
        });
        expect(seen!.key.every((b) => b === 0)).toBe(true);
        expect(seen!.nonce.every((b) => b === 0)).toBe(true);
        // Path 7 -> 3 -> 1 -> 0 consumed; the frontier is the copath 2, 5, 11.
        expect(t.storedNodeCount).toBe(3);
        let sent: RatchetKey | undefined;
        t.withEncryptionKey(L0, "handshake", (k) => {
          sent = k;
        });
        expect(sent!.key.every((b) => b === 0)).toBe(true);
        for (let i = 1; i < 8; i++) t.nextGeneration(toLeafIndex(i), "handshake");
        expect(t.storedNodeCount).toBe(0);
        // The caller's encryption secret is copied, not consumed by the tree.
        expect(secret.some((b) => b !== 0)).toBe(true);
      });

      it("rejects a leaf outside the tree, a bad generation and use after destroy", () => {
        const t = new SecretTree(cs, secret, 4);
        expect(code(() => t.withDecryptionKey(toLeafIndex(4), "application", 0, copy))).toBe("valid.leaf_index_out_of_range");
        expect(code(() => t.withDecryptionKey(L0, "application", -1, copy))).toBe("valid.bad_generation");
        expect(code(() => t.withDecryptionKey(L0, "application", 2 ** 32, copy))).toBe("valid.bad_generation");
        expect(() => new SecretTree(cs, secret, 3)).toThrow(RangeError);
        expect(() => new SecretTree(cs, secret, 0)).toThrow(RangeError);
        expect(() => new SecretTree(cs, secret.subarray(1), 4)).toThrow(RangeError);
        expect(() => new SecretTree(cs, secret, 4, { maxPastKeys: -1 })).toThrow(RangeError);
        t.destroy();
        expect(code(() => t.withEncryptionKey(L0, "application", copy))).toBe("usage.secret_tree_destroyed");
      });
    });
  }
});

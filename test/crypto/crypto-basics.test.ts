/**
 * RFC 9420 §5.1.2, §5.1.3, §5.2, §8, §9 labeled operations against crypto-basics.json, under
 * every crypto provider.
 */
import { describe, expect, it } from "vitest";
import {
  decryptWithLabel,
  deriveSecret,
  deriveTreeSecret,
  encryptWithLabel,
  expandWithLabel,
  refHash,
  signWithLabel,
  verifyWithLabel,
} from "../../src/crypto/labeled.js";
import { toHex, utf8 } from "../../src/util/bytes.js";
import { PROVIDERS } from "../helpers/providers.js";
import { describeVectors, h } from "../helpers/vectors.js";

interface CryptoBasicsCase {
  cipher_suite: number;
  ref_hash: { label: string; value: string; out: string };
  expand_with_label: { secret: string; label: string; context: string; length: number; out: string };
  derive_secret: { secret: string; label: string; out: string };
  derive_tree_secret: { secret: string; label: string; generation: number; length: number; out: string };
  sign_with_label: { priv: string; pub: string; content: string; label: string; signature: string };
  encrypt_with_label: { priv: string; pub: string; label: string; context: string; plaintext: string; kem_output: string; ciphertext: string };
}

describeVectors<CryptoBasicsCase>("crypto-basics", (cases) => {
  for (const p of PROVIDERS) {
    describe(p.name, () => {
      for (const c of cases) {
        describe(`suite ${c.cipher_suite}`, () => {
          const cs = p.suite(c.cipher_suite);

          it("ref_hash (§5.2)", () => {
            const v = c.ref_hash;
            expect(toHex(refHash(cs, v.label, h(v.value)))).toBe(v.out);
          });

          it("expand_with_label (§8)", () => {
            const v = c.expand_with_label;
            expect(toHex(expandWithLabel(cs, h(v.secret), v.label, h(v.context), v.length))).toBe(v.out);
          });

          it("derive_secret (§8)", () => {
            const v = c.derive_secret;
            expect(toHex(deriveSecret(cs, h(v.secret), v.label))).toBe(v.out);
          });

          it("derive_tree_secret (§9)", () => {
            const v = c.derive_tree_secret;
            expect(toHex(deriveTreeSecret(cs, h(v.secret), v.label, v.generation, v.length))).toBe(v.out);
          });

          it("sign_with_label (§5.1.2)", () => {
            const v = c.sign_with_label;
            const priv = h(v.priv);
            const pub = h(v.pub);
            const content = h(v.content);
            expect(toHex(cs.signaturePublicKey(priv))).toBe(v.pub);
            expect(verifyWithLabel(cs, pub, v.label, content, h(v.signature))).toBe(true);
            // The label is bound into the signature.
            expect(verifyWithLabel(cs, pub, `${v.label}x`, content, h(v.signature))).toBe(false);

            const fresh = signWithLabel(cs, priv, v.label, content);
            expect(verifyWithLabel(cs, pub, v.label, content, fresh)).toBe(true);
            expect(verifyWithLabel(cs, pub, v.label, utf8("other content"), fresh)).toBe(false);
          });

          it("encrypt_with_label (§5.1.3)", async () => {
            const v = c.encrypt_with_label;
            const priv = h(v.priv);
            const pub = h(v.pub);
            const context = h(v.context);
            expect(toHex(await cs.hpkePublicKey(priv))).toBe(v.pub);
            const opened = await decryptWithLabel(cs, priv, v.label, context, h(v.kem_output), h(v.ciphertext));
            expect(toHex(opened)).toBe(v.plaintext);

            const sealed = await encryptWithLabel(cs, pub, v.label, context, h(v.plaintext));
            expect(sealed.kemOutput.length).toBe(cs.params.Nenc);
            const reopened = await decryptWithLabel(cs, priv, v.label, context, sealed.kemOutput, sealed.ciphertext);
            expect(toHex(reopened)).toBe(v.plaintext);
            // A different label gives a different HPKE info: decryption must fail.
            await expect(decryptWithLabel(cs, priv, `${v.label}x`, context, sealed.kemOutput, sealed.ciphertext)).rejects.toMatchObject({
              code: "crypto.hpke",
            });
          });
        });
      }
    });
  }
});

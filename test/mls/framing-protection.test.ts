/**
 * Message protection beyond the vectors: tampering, replay, blank senders, out-of-order delivery,
 * padding policy. Both providers, suite 1 and 3 (AES-GCM and ChaCha20-Poly1305).
 */
import { describe, expect, it } from "vitest";
import type { CipherSuite } from "../../src/crypto/cipher-suite.js";
import { CryptoError, ValidationError } from "../../src/errors.js";
import { contentTypes, senderTypes, wireFormats } from "../../src/mls/core/protocol.js";
import { signFramedContent, verifyFramedContentSignature } from "../../src/mls/framing/content-auth.js";
import type { FramedContent } from "../../src/mls/framing/framed-content.js";
import {
  padToMultipleOf,
  protectPrivateMessage,
  unprotectPrivateMessage,
} from "../../src/mls/framing/private-message-protection.js";
import { protectPublicMessage, unprotectPublicMessage } from "../../src/mls/framing/public-message-protection.js";
import { encodeGroupContext } from "../../src/mls/schedule/group-context.js";
import { SecretTree } from "../../src/mls/schedule/secret-tree.js";
import { utf8 } from "../../src/util/bytes.js";
import { PROVIDERS } from "../helpers/providers.js";

function fixture(cs: CipherSuite) {
  const { Nh } = cs.params;
  const groupId = cs.randomBytes(16);
  const groupContext = encodeGroupContext({
    version: 1,
    cipherSuite: cs.params.id,
    groupId,
    epoch: 3n,
    treeHash: cs.randomBytes(Nh),
    confirmedTranscriptHash: cs.randomBytes(Nh),
    extensions: [],
  });
  const encryptionSecret = cs.randomBytes(Nh);
  const senderDataSecret = cs.randomBytes(Nh);
  const membershipKey = cs.randomBytes(Nh);
  const sig = cs.signatureKeyPair();
  const tree = () => new SecretTree(cs, encryptionSecret, 4);
  const content = (text: string, sender = 2): FramedContent => ({
    groupId,
    epoch: 3n,
    sender: { senderType: senderTypes.member, leafIndex: sender },
    authenticatedData: new Uint8Array(0),
    contentType: contentTypes.application,
    applicationData: utf8(text),
  });
  const sign = (fc: FramedContent, wireFormat: 1 | 2 = wireFormats.mls_private_message) =>
    signFramedContent({ cs, signaturePrivateKey: sig.privateKey, wireFormat, content: fc, groupContext });
  return { groupId, groupContext, senderDataSecret, membershipKey, sig, tree, content, sign };
}

const members = (l: number) => l === 0 || l === 2;

for (const p of PROVIDERS) {
  for (const suite of [1, 3]) {
    describe(`${p.name} suite ${suite}`, () => {
      const cs = p.suite(suite);

      it("a flipped ciphertext bit fails with crypto.aead and does not burn the key", () => {
        const f = fixture(cs);
        const sender = f.tree();
        const receiver = f.tree();
        const pm = protectPrivateMessage({ cs, secretTree: sender, senderDataSecret: f.senderDataSecret, content: f.sign(f.content("hi")) });
        const bad = pm.ciphertext.slice();
        bad[bad.length - 1]! ^= 0x01;
        expect(() =>
          unprotectPrivateMessage({ cs, secretTree: receiver, senderDataSecret: f.senderDataSecret, message: { ...pm, ciphertext: bad }, isMemberLeaf: members }),
        ).toThrow(CryptoError);
        const ok = unprotectPrivateMessage({ cs, secretTree: receiver, senderDataSecret: f.senderDataSecret, message: pm, isMemberLeaf: members });
        expect(ok.content.content.contentType).toBe(contentTypes.application);
      });

      it("a changed group id, epoch or authenticated data breaks the AAD", () => {
        const f = fixture(cs);
        const pm = protectPrivateMessage({ cs, secretTree: f.tree(), senderDataSecret: f.senderDataSecret, content: f.sign(f.content("hi")) });
        for (const m of [{ ...pm, epoch: 4n }, { ...pm, authenticatedData: new Uint8Array([9]) }, { ...pm, groupId: cs.randomBytes(16) }]) {
          expect(() => unprotectPrivateMessage({ cs, secretTree: f.tree(), senderDataSecret: f.senderDataSecret, message: m, isMemberLeaf: members })).toThrow(CryptoError);
        }
      });

      it("a sender leaf that is blank is rejected (RFC 9420 §6.3.2)", () => {
        const f = fixture(cs);
        const pm = protectPrivateMessage({ cs, secretTree: f.tree(), senderDataSecret: f.senderDataSecret, content: f.sign(f.content("hi", 2)) });
        const err = (() => {
          try {
            unprotectPrivateMessage({ cs, secretTree: f.tree(), senderDataSecret: f.senderDataSecret, message: pm, isMemberLeaf: (l) => l === 0 });
          } catch (e) {
            return e;
          }
          return null;
        })();
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).code).toBe("valid.sender_not_member");
      });

      it("out-of-order delivery within the window decrypts every message once", () => {
        const f = fixture(cs);
        const sender = f.tree();
        const receiver = f.tree();
        const msgs = Array.from({ length: 5 }, (_, i) =>
          protectPrivateMessage({ cs, secretTree: sender, senderDataSecret: f.senderDataSecret, content: f.sign(f.content(`m${i}`)) }),
        );
        const seen: number[] = [];
        for (const i of [4, 0, 3, 1, 2]) {
          const r = unprotectPrivateMessage({ cs, secretTree: receiver, senderDataSecret: f.senderDataSecret, message: msgs[i]!, isMemberLeaf: members });
          verifyFramedContentSignature(cs, f.sig.publicKey, r.content, f.groupContext);
          seen.push(r.generation);
        }
        expect(seen).toEqual([4, 0, 3, 1, 2]);
        expect(() => unprotectPrivateMessage({ cs, secretTree: receiver, senderDataSecret: f.senderDataSecret, message: msgs[2]!, isMemberLeaf: members })).toThrow(
          ValidationError,
        );
      });

      it("padding policy hides the length and is stripped on receipt", () => {
        const f = fixture(cs);
        const lens = new Set<number>();
        const receiver = f.tree();
        const sender = f.tree();
        for (const text of ["a", "abcdefgh", "x".repeat(30)]) {
          const pm = protectPrivateMessage({ cs, secretTree: sender, senderDataSecret: f.senderDataSecret, content: f.sign(f.content(text)), padding: padToMultipleOf(256) });
          lens.add(pm.ciphertext.length);
          const r = unprotectPrivateMessage({ cs, secretTree: receiver, senderDataSecret: f.senderDataSecret, message: pm, isMemberLeaf: members });
          const c = r.content.content;
          if (c.contentType !== contentTypes.application) throw new Error("expected application data");
          expect(new TextDecoder().decode(c.applicationData)).toBe(text);
        }
        expect(lens.size).toBe(1);
      });

      it("a tampered PublicMessage fails its membership tag; a forged signature fails verification", () => {
        const f = fixture(cs);
        const fc: FramedContent = { ...f.content("x", 0), contentType: contentTypes.proposal, proposal: { proposalType: 3, remove: { removed: 2 } } } as FramedContent;
        const ac = f.sign(fc, wireFormats.mls_public_message);
        const pm = protectPublicMessage(cs, ac, f.membershipKey, f.groupContext);
        const tampered = { ...pm, content: { ...pm.content, authenticatedData: new Uint8Array([1]) } };
        expect(() => unprotectPublicMessage(cs, tampered, f.membershipKey, f.groupContext)).toThrow(CryptoError);
        const { membershipTag: _t, ...noTag } = pm;
        void _t;
        expect(() => unprotectPublicMessage(cs, noTag, f.membershipKey, f.groupContext)).toThrow(ValidationError);
        const other = cs.signatureKeyPair();
        const ac2 = unprotectPublicMessage(cs, pm, f.membershipKey, f.groupContext);
        expect(() => verifyFramedContentSignature(cs, other.publicKey, ac2, f.groupContext)).toThrow(CryptoError);
        verifyFramedContentSignature(cs, f.sig.publicKey, ac2, f.groupContext);
      });
    });
  }
}

/**
 * welcome.json (RFC 9420 §12.4.3.1, §12.4.3): the vector has a Welcome, the joiner's KeyPackage
 * and init key, and the signer's public key, but no tree. Checked: our EncryptedGroupSecrets are
 * found by KeyPackageRef and decrypt, the GroupInfo decrypts with the welcome key, its signature
 * verifies with signer_pub, and its confirmation tag verifies with the confirmation key from the
 * key schedule run from joiner_secret. Then a fresh Welcome built from the same GroupInfo and
 * secrets is opened again (round trip of buildWelcome).
 */
import { describe, expect, it } from "vitest";
import { CryptoError, ValidationError } from "../../src/errors.js";
import { wireFormats } from "../../src/mls/core/protocol.js";
import { decodeMlsMessage } from "../../src/mls/framing/mls-message.js";
import { openWelcome, buildWelcome, verifyGroupInfoSignature, NO_EXTERNAL_PSKS } from "../../src/mls/group/index.js";
import { keyPackageRef } from "../../src/mls/messages/key-package-ops.js";
import type { KeyPackage } from "../../src/mls/messages/key-package.js";
import type { Welcome } from "../../src/mls/messages/welcome.js";
import { encodeGroupContext } from "../../src/mls/schedule/group-context.js";
import { deriveWelcomeSecret, keyScheduleFromJoiner } from "../../src/mls/schedule/key-schedule.js";
import { verifyConfirmationTag } from "../../src/mls/schedule/transcript-hash.js";
import { PROVIDERS } from "../helpers/providers.js";
import { describeVectors, h } from "../helpers/vectors.js";

interface Case {
  cipher_suite: number;
  init_priv: string;
  signer_pub: string;
  key_package: string;
  welcome: string;
}

function unwrap(c: Case): { kp: KeyPackage; welcome: Welcome } {
  const kpm = decodeMlsMessage(h(c.key_package));
  const wm = decodeMlsMessage(h(c.welcome));
  if (kpm.wireFormat !== wireFormats.mls_key_package || wm.wireFormat !== wireFormats.mls_welcome) throw new Error("unexpected wire formats");
  return { kp: kpm.keyPackage, welcome: wm.welcome };
}

const noPsks = { external: [NO_EXTERNAL_PSKS], resumption: () => null };

describeVectors<Case>("welcome", (cases) => {
  for (const p of PROVIDERS) {
    describe(p.name, () => {
      for (const c of cases) {
        it(`suite ${c.cipher_suite}`, async () => {
          const cs = p.suite(c.cipher_suite);
          const { kp, welcome } = unwrap(c);
          expect(welcome.secrets.some((s) => Buffer.from(s.newMember).equals(Buffer.from(keyPackageRef(cs, kp))))).toBe(true);

          const opened = await openWelcome({ cs, welcome, keyPackage: kp, initPrivateKey: h(c.init_priv), psks: noPsks });
          const gi = opened.groupInfo;
          expect(gi.groupContext.cipherSuite).toBe(c.cipher_suite);
          expect(opened.groupSecrets.psks).toEqual([]);
          verifyGroupInfoSignature(cs, gi, h(c.signer_pub));
          // RFC 9420 §12.4.3.1: the confirmation tag verifies with the key schedule run from joiner_secret.
          const { epochSecrets } = keyScheduleFromJoiner(cs, opened.groupSecrets.joinerSecret, opened.pskSecret, encodeGroupContext(gi.groupContext));
          verifyConfirmationTag(cs, epochSecrets.confirmationKey, gi.groupContext.confirmedTranscriptHash, gi.confirmationTag);

          // A tampered signature and a wrong signer key are rejected.
          const bad = { ...gi, signature: gi.signature.map((b, i) => (i === 0 ? b ^ 1 : b)) };
          expect(() => verifyGroupInfoSignature(cs, bad, h(c.signer_pub))).toThrow(CryptoError);
          expect(() => verifyGroupInfoSignature(cs, gi, cs.signaturePublicKey(cs.signatureKeyPair().privateKey))).toThrow(CryptoError);

          // Round trip: a fresh Welcome for the same KeyPackage opens to the same GroupInfo.
          const welcomeSecret = deriveWelcomeSecret(cs, opened.groupSecrets.joinerSecret, opened.pskSecret);
          const fresh = await buildWelcome({
            cs,
            groupInfo: gi,
            joinerSecret: opened.groupSecrets.joinerSecret,
            welcomeSecret,
            psks: [],
            recipients: [{ keyPackage: kp, pathSecret: opened.groupSecrets.pathSecret }],
          });
          const again = await openWelcome({ cs, welcome: fresh, keyPackage: kp, initPrivateKey: h(c.init_priv), psks: noPsks });
          expect(again.groupInfo).toEqual(gi);
          expect(again.groupSecrets.joinerSecret).toEqual(opened.groupSecrets.joinerSecret);

          // A Welcome without our KeyPackageRef is not for us.
          const other: Welcome = { ...welcome, secrets: welcome.secrets.map((s) => ({ ...s, newMember: new Uint8Array(s.newMember.length) })) };
          await expect(openWelcome({ cs, welcome: other, keyPackage: kp, initPrivateKey: h(c.init_priv), psks: noPsks })).rejects.toThrow(ValidationError);
        });
      }
    });
  }
});

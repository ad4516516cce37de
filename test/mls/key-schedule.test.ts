/** RFC 9420 §8 key schedule, §8.1 GroupContext, §8.3 external_pub, §8.5 exporter, against key-schedule.json. */
import { describe, expect, it } from "vitest";
import { protocolVersions } from "../../src/mls/core/protocol.js";
import { decodeGroupContext, encodeGroupContext, type GroupContext } from "../../src/mls/schedule/group-context.js";
import {
  deriveExternalKeyPair,
  deriveExternalPub,
  deriveJoinerSecret,
  deriveWelcomeKey,
  deriveWelcomeSecret,
  keyScheduleFromJoiner,
  mlsExporter,
  runKeySchedule,
  wipeEpochSecrets,
  zeroSecret,
  type ExporterSecret,
} from "../../src/mls/schedule/key-schedule.js";
import { expandWithLabel } from "../../src/crypto/labeled.js";
import { EMPTY, toHex, utf8 } from "../../src/util/bytes.js";
import { PROVIDERS } from "../helpers/providers.js";
import { describeVectors, h } from "../helpers/vectors.js";

interface KeyScheduleEpoch {
  tree_hash: string;
  commit_secret: string;
  psk_secret: string;
  confirmed_transcript_hash: string;
  group_context: string;
  joiner_secret: string;
  welcome_secret: string;
  init_secret: string;
  sender_data_secret: string;
  encryption_secret: string;
  exporter_secret: string;
  epoch_authenticator: string;
  external_secret: string;
  confirmation_key: string;
  membership_key: string;
  resumption_psk: string;
  external_pub: string;
  exporter: { label: string; context: string; length: number; secret: string };
}

interface KeyScheduleCase {
  cipher_suite: number;
  group_id: string;
  initial_init_secret: string;
  epochs: KeyScheduleEpoch[];
}

describeVectors<KeyScheduleCase>("key-schedule", (cases) => {
  for (const p of PROVIDERS) {
    describe(p.name, () => {
      for (const c of cases) {
        it(`suite ${c.cipher_suite}, ${c.epochs.length} epochs`, async () => {
          const cs = p.suite(c.cipher_suite);
          let initSecret: Uint8Array = h(c.initial_init_secret);
          for (const [n, e] of c.epochs.entries()) {
            const ctx: GroupContext = {
              version: protocolVersions.mls10,
              cipherSuite: c.cipher_suite,
              groupId: h(c.group_id),
              epoch: BigInt(n),
              treeHash: h(e.tree_hash),
              confirmedTranscriptHash: h(e.confirmed_transcript_hash),
              extensions: [],
            };
            const gc = encodeGroupContext(ctx);
            expect(toHex(gc), `epoch ${n} group_context`).toBe(e.group_context);
            expect(decodeGroupContext(gc)).toEqual(ctx);

            const out = runKeySchedule(cs, { initSecret, commitSecret: h(e.commit_secret), pskSecret: h(e.psk_secret), groupContext: gc });
            const s = out.epochSecrets;
            const got = {
              joiner_secret: toHex(out.joinerSecret),
              welcome_secret: toHex(out.welcomeSecret),
              init_secret: toHex(s.initSecret),
              sender_data_secret: toHex(s.senderDataSecret),
              encryption_secret: toHex(s.encryptionSecret),
              exporter_secret: toHex(s.exporterSecret),
              epoch_authenticator: toHex(s.epochAuthenticator),
              external_secret: toHex(s.externalSecret),
              confirmation_key: toHex(s.confirmationKey),
              membership_key: toHex(s.membershipKey),
              resumption_psk: toHex(s.resumptionPsk),
            };
            const want = {
              joiner_secret: e.joiner_secret,
              welcome_secret: e.welcome_secret,
              init_secret: e.init_secret,
              sender_data_secret: e.sender_data_secret,
              encryption_secret: e.encryption_secret,
              exporter_secret: e.exporter_secret,
              epoch_authenticator: e.epoch_authenticator,
              external_secret: e.external_secret,
              confirmation_key: e.confirmation_key,
              membership_key: e.membership_key,
              resumption_psk: e.resumption_psk,
            };
            expect(got, `epoch ${n}`).toEqual(want);

            // The joiner's path from joiner_secret (Welcome) gives the same epoch.
            const joined = keyScheduleFromJoiner(cs, h(e.joiner_secret), h(e.psk_secret), gc);
            expect(toHex(joined.welcomeSecret)).toBe(e.welcome_secret);
            expect(toHex(joined.epochSecrets.epochAuthenticator)).toBe(e.epoch_authenticator);
            expect(toHex(deriveWelcomeSecret(cs, h(e.joiner_secret), h(e.psk_secret)))).toBe(e.welcome_secret);
            expect(toHex(deriveJoinerSecret(cs, initSecret, h(e.commit_secret), gc))).toBe(e.joiner_secret);

            expect(toHex(await deriveExternalPub(cs, s.externalSecret)), `epoch ${n} external_pub`).toBe(e.external_pub);
            const kp = await deriveExternalKeyPair(cs, s.externalSecret);
            expect(toHex(await cs.hpkePublicKey(kp.privateKey))).toBe(e.external_pub);

            const x = e.exporter;
            expect(toHex(mlsExporter(cs, s.exporterSecret, x.label, h(x.context), x.length)), `epoch ${n} exporter`).toBe(x.secret);

            // §12.4.3.1 welcome key and nonce.
            const wk = deriveWelcomeKey(cs, out.welcomeSecret);
            expect(toHex(wk.key)).toBe(toHex(expandWithLabel(cs, h(e.welcome_secret), "key", EMPTY, cs.params.Nk)));
            expect(toHex(wk.nonce)).toBe(toHex(expandWithLabel(cs, h(e.welcome_secret), "nonce", EMPTY, cs.params.Nn)));
            expect(wk.key.length).toBe(cs.params.Nk);
            expect(wk.nonce.length).toBe(cs.params.Nn);

            initSecret = s.initSecret.slice();
            wipeEpochSecrets(s);
            expect(s.exporterSecret.every((b) => b === 0)).toBe(true);
          }
        });
      }
    });
  }
});

describe("key schedule details", () => {
  for (const p of PROVIDERS) {
    it(`${p.name}: exporter output length and label separation; the all-zero PSK default`, () => {
      const cs = p.suite(1);
      const secret = new Uint8Array(32).fill(7) as ExporterSecret;
      expect(mlsExporter(cs, secret, "example", utf8("ctx"), 16).length).toBe(16);
      expect(toHex(mlsExporter(cs, secret, "example", utf8("ctx"), 32))).not.toBe(toHex(mlsExporter(cs, secret, "example2", utf8("ctx"), 32)));
      const gc = new Uint8Array([1, 2, 3]);
      const a = runKeySchedule(cs, { initSecret: zeroSecret(cs), commitSecret: zeroSecret(cs), groupContext: gc });
      const b = runKeySchedule(cs, { initSecret: zeroSecret(cs), commitSecret: zeroSecret(cs), pskSecret: zeroSecret(cs), groupContext: gc });
      expect(toHex(a.epochSecrets.epochAuthenticator)).toBe(toHex(b.epochSecrets.epochAuthenticator));
    });
  }
});

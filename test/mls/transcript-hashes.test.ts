/** RFC 9420 §8.2 transcript hashes and §6.1 confirmation_tag, against transcript-hashes.json. */
import { describe, expect, it } from "vitest";
import { Reader } from "../../src/codec/reader.js";
import { varintSize } from "../../src/codec/varint.js";
import { CryptoError } from "../../src/errors.js";
import { decodeAuthenticatedContent, encodeConfirmedTranscriptHashInput } from "../../src/mls/framing/framed-content.js";
import type { ConfirmationKey } from "../../src/mls/schedule/key-schedule.js";
import {
  confirmationTag,
  confirmedTranscriptHash,
  interimTranscriptHash,
  verifyConfirmationTag,
} from "../../src/mls/schedule/transcript-hash.js";
import { bytesEqual, toHex } from "../../src/util/bytes.js";
import { PROVIDERS } from "../helpers/providers.js";
import { describeVectors, h } from "../helpers/vectors.js";

interface TranscriptCase {
  cipher_suite: number;
  confirmation_key: string;
  authenticated_content: string;
  interim_transcript_hash_before: string;
  confirmed_transcript_hash_after: string;
  interim_transcript_hash_after: string;
}

/**
 * AuthenticatedContent of a commit ends with `MAC confirmation_tag` (opaque<V>), and a MAC is
 * KDF.Nh bytes long (HMAC), so the tag is the last Nh bytes behind its varint length header.
 */
function splitTrailingTag(ac: Uint8Array, nh: number): { head: Uint8Array; tag: Uint8Array } {
  const start = ac.length - nh - varintSize(nh);
  const r = new Reader(ac.subarray(start));
  const tag = r.opaque();
  r.finish();
  return { head: ac.subarray(0, start), tag };
}

describeVectors<TranscriptCase>("transcript-hashes", (cases) => {
  for (const p of PROVIDERS) {
    describe(p.name, () => {
      for (const c of cases) {
        it(`suite ${c.cipher_suite}`, () => {
          const cs = p.suite(c.cipher_suite);
          const acBytes = h(c.authenticated_content);
          const ac = decodeAuthenticatedContent(acBytes);
          const tag = ac.auth.confirmationTag;
          if (tag === undefined) throw new Error("vector commit has no confirmation_tag");
          const input = encodeConfirmedTranscriptHashInput(ac);
          // ConfirmedTranscriptHashInput is the AuthenticatedContent minus its trailing tag.
          const split = splitTrailingTag(acBytes, cs.params.Nh);
          expect(toHex(split.tag)).toBe(toHex(tag));
          expect(toHex(input)).toBe(toHex(split.head));

          const confirmed = confirmedTranscriptHash(cs, h(c.interim_transcript_hash_before), input);
          expect(toHex(confirmed)).toBe(c.confirmed_transcript_hash_after);

          const key = h(c.confirmation_key) as ConfirmationKey;
          expect(toHex(confirmationTag(cs, key, confirmed))).toBe(toHex(tag));
          expect(() => verifyConfirmationTag(cs, key, confirmed, tag)).not.toThrow();
          const bad = tag.slice();
          bad[0]! ^= 1;
          expect(() => verifyConfirmationTag(cs, key, confirmed, bad)).toThrow(CryptoError);
          expect(() => verifyConfirmationTag(cs, key, confirmed, tag.subarray(1))).toThrow(CryptoError);

          const interim = interimTranscriptHash(cs, confirmed, tag);
          expect(toHex(interim)).toBe(c.interim_transcript_hash_after);
          expect(bytesEqual(interim, confirmed)).toBe(false);
        });
      }
    });
  }
});

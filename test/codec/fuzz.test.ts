/**
 * Fuzzing every wire-struct decoder with fast-check. For random bytes and for mutated valid
 * encodings (bit flips, byte overwrites, truncation, extension, insertion, deletion):
 *   - the decoder either returns or throws a CodecError, never another exception (nor the
 *     `codec.malformed` that `decode()` wraps stray exceptions in);
 *   - whenever it returns, re-encoding gives back exactly the input (the codec is canonical);
 *   - it finishes quickly.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CodecError } from "../../src/errors.js";
import { decodeApplicationId, encodeApplicationId } from "../../src/mls/core/application-id.js";
import { decodeCapabilities, encodeCapabilities } from "../../src/mls/core/capabilities.js";
import { decodeCredential, encodeCredential } from "../../src/mls/core/credential.js";
import { decodeExternalPub, encodeExternalPub } from "../../src/mls/core/external-pub.js";
import { decodeExternalSenders, encodeExternalSenders } from "../../src/mls/core/external-senders.js";
import { decodeHpkeCiphertext, encodeHpkeCiphertext } from "../../src/mls/core/hpke-ciphertext.js";
import { decodeLifetime, encodeLifetime } from "../../src/mls/core/lifetime.js";
import { contentTypes } from "../../src/mls/core/protocol.js";
import { decodeRequiredCapabilities, encodeRequiredCapabilities } from "../../src/mls/core/required-capabilities.js";
import {
  decodeAuthenticatedContent,
  decodeFramedContent,
  encodeAuthenticatedContent,
  encodeFramedContent,
} from "../../src/mls/framing/framed-content.js";
import { decodeMlsMessage, encodeMlsMessage } from "../../src/mls/framing/mls-message.js";
import {
  decodePrivateContentAad,
  decodePrivateMessage,
  decodePrivateMessageContent,
  decodeSenderData,
  decodeSenderDataAad,
  encodePrivateContentAad,
  encodePrivateMessage,
  encodePrivateMessageContent,
  encodeSenderData,
  encodeSenderDataAad,
} from "../../src/mls/framing/private-message.js";
import { decodePublicMessage, encodePublicMessage } from "../../src/mls/framing/public-message.js";
import { decodeSender, encodeSender } from "../../src/mls/framing/sender.js";
import { decodeCommit, encodeCommit } from "../../src/mls/messages/commit.js";
import { decodeGroupInfo, encodeGroupInfo } from "../../src/mls/messages/group-info.js";
import { decodeKeyPackage, encodeKeyPackage } from "../../src/mls/messages/key-package.js";
import {
  decodeAdd,
  decodeExternalInit,
  decodeGroupContextExtensions,
  decodePreSharedKey,
  decodeProposal,
  decodeReInit,
  decodeRemove,
  decodeUpdate,
  encodeAdd,
  encodeExternalInit,
  encodeGroupContextExtensions,
  encodePreSharedKey,
  encodeProposal,
  encodeReInit,
  encodeRemove,
  encodeUpdate,
} from "../../src/mls/messages/proposal.js";
import { decodeGroupSecrets, decodeWelcome, encodeGroupSecrets, encodeWelcome } from "../../src/mls/messages/welcome.js";
import { decodeLeafNode, encodeLeafNode } from "../../src/mls/tree/leaf-node.js";
import { decodeParentNode, encodeParentNode } from "../../src/mls/tree/parent-node.js";
import { decodeRatchetTree, encodeRatchetTree } from "../../src/mls/tree/ratchet-tree.js";
import { decodeUpdatePath, encodeUpdatePath } from "../../src/mls/tree/update-path.js";
import { concat, toHex } from "../../src/util/bytes.js";
import { samplesOf, type SampleKind } from "./samples.js";

/** Decode then re-encode; the two halves are typed together so each row stays honest. */
interface Target {
  readonly kind: SampleKind;
  readonly roundTrip: (bytes: Uint8Array) => Uint8Array;
}

const t = <T>(kind: SampleKind, dec: (b: Uint8Array) => T, enc: (v: T) => Uint8Array): Target => ({ kind, roundTrip: (b) => enc(dec(b)) });

const pmc = (ct: number) => (b: Uint8Array) => decodePrivateMessageContent(b, ct);

const TARGETS: readonly Target[] = [
  t("Credential", decodeCredential, encodeCredential),
  t("Capabilities", decodeCapabilities, encodeCapabilities),
  t("Lifetime", decodeLifetime, encodeLifetime),
  t("HpkeCiphertext", decodeHpkeCiphertext, encodeHpkeCiphertext),
  t("RequiredCapabilities", decodeRequiredCapabilities, encodeRequiredCapabilities),
  t("ExternalSenders", decodeExternalSenders, encodeExternalSenders),
  t("ApplicationId", decodeApplicationId, encodeApplicationId),
  t("ExternalPub", decodeExternalPub, encodeExternalPub),
  t("LeafNode", decodeLeafNode, encodeLeafNode),
  t("ParentNode", decodeParentNode, encodeParentNode),
  t("RatchetTree", decodeRatchetTree, encodeRatchetTree),
  t("UpdatePath", decodeUpdatePath, encodeUpdatePath),
  t("KeyPackage", decodeKeyPackage, encodeKeyPackage),
  t("Add", decodeAdd, encodeAdd),
  t("Update", decodeUpdate, encodeUpdate),
  t("Remove", decodeRemove, encodeRemove),
  t("PreSharedKey", decodePreSharedKey, encodePreSharedKey),
  t("ReInit", decodeReInit, encodeReInit),
  t("ExternalInit", decodeExternalInit, encodeExternalInit),
  t("GroupContextExtensions", decodeGroupContextExtensions, encodeGroupContextExtensions),
  t("Proposal", decodeProposal, encodeProposal),
  t("Commit", decodeCommit, encodeCommit),
  t("GroupSecrets", decodeGroupSecrets, encodeGroupSecrets),
  t("Welcome", decodeWelcome, encodeWelcome),
  t("GroupInfo", decodeGroupInfo, encodeGroupInfo),
  t("Sender", decodeSender, encodeSender),
  t("FramedContent", decodeFramedContent, encodeFramedContent),
  t("AuthenticatedContent", decodeAuthenticatedContent, encodeAuthenticatedContent),
  t("PublicMessage", decodePublicMessage, encodePublicMessage),
  t("PrivateMessage", decodePrivateMessage, encodePrivateMessage),
  t("SenderData", decodeSenderData, encodeSenderData),
  t("SenderDataAAD", decodeSenderDataAad, encodeSenderDataAad),
  t("PrivateContentAAD", decodePrivateContentAad, encodePrivateContentAad),
  t("PrivateMessageContent/application", pmc(contentTypes.application), encodePrivateMessageContent),
  t("PrivateMessageContent/proposal", pmc(contentTypes.proposal), encodePrivateMessageContent),
  t("PrivateMessageContent/commit", pmc(contentTypes.commit), encodePrivateMessageContent),
  t("MLSMessage", decodeMlsMessage, encodeMlsMessage),
];

/**
 * Hang detector, not a speed check: inputs are at most a few KB and a linear decoder needs well
 * under 1 ms, so only a loop that does not terminate can take this long.
 */
const MAX_MS_PER_INPUT = 5_000;
const RANDOM_RUNS = 200;
const MUTATION_RUNS = 500;

/** Either decodes and re-encodes to the same bytes, or throws a CodecError. */
function check(target: Target, input: Uint8Array): void {
  const t0 = performance.now();
  let out: Uint8Array;
  try {
    out = target.roundTrip(input);
  } catch (e) {
    // `decode()` wraps a stray non-codec exception as codec.malformed: that is a decoder bug too.
    if (!(e instanceof CodecError) || e.code === "codec.malformed") {
      throw new Error(`${target.kind}: unexpected ${String(e)} for input ${toHex(input)}`, { cause: e });
    }
    return;
  } finally {
    const ms = performance.now() - t0;
    if (ms > MAX_MS_PER_INPUT) throw new Error(`${target.kind}: decoding ${input.length} bytes took ${ms.toFixed(0)} ms`);
  }
  if (toHex(out) !== toHex(input)) {
    throw new Error(`${target.kind}: re-encoding differs\n in:  ${toHex(input)}\n out: ${toHex(out)}`);
  }
}

type Mutation =
  | { readonly kind: "flip"; readonly at: number; readonly bit: number }
  | { readonly kind: "set"; readonly at: number; readonly value: number }
  | { readonly kind: "truncate"; readonly at: number }
  | { readonly kind: "extend"; readonly bytes: Uint8Array }
  | { readonly kind: "insert"; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: "delete"; readonly at: number; readonly count: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  // Small values hit enum selectors, presence bytes and varint prefixes.
  fc.record({
    kind: fc.constant("set" as const),
    at: fc.nat(),
    value: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.constantFrom(0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xff)),
  }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("extend" as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 4 }) }),
);

function mutate(input: Uint8Array, m: Mutation): Uint8Array {
  const n = input.length;
  const pos = (at: number, max: number): number => (max <= 0 ? 0 : at % max);
  switch (m.kind) {
    case "flip": {
      if (n === 0) return input;
      const out = input.slice();
      out[pos(m.at, n)]! ^= 1 << m.bit;
      return out;
    }
    case "set": {
      if (n === 0) return input;
      const out = input.slice();
      out[pos(m.at, n)] = m.value;
      return out;
    }
    case "truncate":
      return input.slice(0, pos(m.at, n));
    case "extend": {
      const out = new Uint8Array(n + m.bytes.length);
      out.set(input);
      out.set(m.bytes, n);
      return out;
    }
    case "insert": {
      const at = pos(m.at, n + 1);
      const out = new Uint8Array(n + m.bytes.length);
      out.set(input.subarray(0, at));
      out.set(m.bytes, at);
      out.set(input.subarray(at), at + m.bytes.length);
      return out;
    }
    case "delete": {
      const at = pos(m.at, n);
      return concat(input.subarray(0, at), input.subarray(Math.min(n, at + m.count)));
    }
  }
}

describe("wire-struct decoders under fuzzing", () => {
  for (const target of TARGETS) {
    describe(target.kind, () => {
      const samples = samplesOf(target.kind);

      it(`valid samples round-trip (${samples.length})`, () => {
        for (const s of samples) expect(toHex(target.roundTrip(s))).toBe(toHex(s));
      });

      it("random bytes: decode or CodecError, canonical when decoded", () => {
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => check(target, bytes)),
          { numRuns: RANDOM_RUNS },
        );
      });

      it("mutated valid encodings: decode or CodecError, canonical when decoded", () => {
        const arb = fc.tuple(fc.integer({ min: 0, max: samples.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 3 }));
        fc.assert(
          fc.property(arb, ([i, ms]) => check(target, ms.reduce(mutate, samples[i]!))),
          { numRuns: MUTATION_RUNS },
        );
      });
    });
  }
});

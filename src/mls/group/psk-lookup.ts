/**
 * Finding the secrets named by PreSharedKeyIDs (RFC 9420 §8.4) when a Commit or a Welcome uses
 * PSKs, and checking the PSK rules of §12.1.4 and §12.4.3.1:
 *
 * - external PSKs come from the application ({@link ExternalPskStore});
 * - resumption PSKs (§8.6) of this group come from the epochs the state keeps; those of other
 *   groups (ReInit §11.2, branching §11.3) from a caller-supplied {@link ResumptionPskSource}.
 *
 * A PSK that cannot be found makes the Commit or Welcome unprocessable (§12.4.2 "Verify that all
 * PreSharedKey proposals in the proposals vector are available"; §12.4.3.1 "return an error").
 * @module
 */
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { ValidationError } from "../../errors.js";
import { bytesEqual, toHex } from "../../util/bytes.js";
import { pskTypes, resumptionPskUsages, type PreSharedKeyId, type ResumptionPskUsage } from "../core/pre-shared-key-id.js";
import { derivePskSecret, type PskInput } from "../schedule/psk.js";
import type { ExternalPskStore } from "./group-config.js";

/** Resumption PSKs of any group the client was in: `resumption_psk` of (group_id, epoch), or null. */
export type ResumptionPskSource = (groupId: Uint8Array, epoch: bigint) => Uint8Array | null;

export interface PskLookup {
  readonly external: readonly ExternalPskStore[];
  readonly resumption: ResumptionPskSource;
}

/** A short printable name of a PSK id for error messages (no secrets in it). */
function describe(id: PreSharedKeyId): string {
  return id.psktype === pskTypes.external ? `external PSK ${toHex(id.pskId).slice(0, 32)}` : `resumption PSK of epoch ${id.pskEpoch}`;
}

/** The secrets of `ids`, in order, ready for {@link derivePskSecret}. Throws `valid.psk_not_available`. */
export function lookupPsks(ids: readonly PreSharedKeyId[], lookup: PskLookup, rfc: string): PskInput[] {
  return ids.map((id) => {
    let psk: Uint8Array | null = null;
    if (id.psktype === pskTypes.external) {
      for (const s of lookup.external) {
        psk = s.get(id.pskId);
        if (psk !== null) break;
      }
    } else {
      psk = lookup.resumption(id.pskGroupId, id.pskEpoch);
    }
    if (psk === null) throw new ValidationError("psk_not_available", `${describe(id)} is not available`, rfc);
    return { id, psk };
  });
}

/** psk_secret for `ids` (the all-zero secret for none), RFC 9420 §8.4. */
export function pskSecretFor(cs: CipherSuite, ids: readonly PreSharedKeyId[], lookup: PskLookup, rfc: string): Uint8Array {
  return derivePskSecret(cs, lookupPsks(ids, lookup, rfc));
}

/** A resumption PSK source over one group's kept epochs. */
export function ownGroupResumption(groupId: Uint8Array, get: (epoch: bigint) => Uint8Array | null, fallback?: ResumptionPskSource): ResumptionPskSource {
  return (g, e) => (bytesEqual(g, groupId) ? get(e) : null) ?? (fallback ? fallback(g, e) : null);
}

/**
 * RFC 9420 §12.1.4 checks of one PreSharedKeyID in a PreSharedKey proposal: psk_nonce of length
 * KDF.Nh, and no resumption PSK of usage reinit or branch outside ReInit/branching.
 * `resumptionUsage` names the operation the proposal is part of (the first Commit of a group
 * created by ReInit, §11.2, or branching, §11.3), whose usage is then allowed.
 */
export function checkPskProposalId(cs: CipherSuite, id: PreSharedKeyId, resumptionUsage?: ResumptionPskUsage): void {
  if (id.pskNonce.length !== cs.params.Nh) {
    throw new ValidationError("psk_nonce_length", `psk_nonce has ${id.pskNonce.length} bytes, expected KDF.Nh = ${cs.params.Nh}`, "RFC 9420 §12.1.4");
  }
  if (id.psktype === pskTypes.resumption && id.usage !== resumptionPskUsages.application && id.usage !== resumptionUsage) {
    throw new ValidationError("psk_usage", "a PreSharedKey proposal may not carry a reinit or branch resumption PSK", "RFC 9420 §12.1.4");
  }
}

/** A fresh psk_nonce (RFC 9420 §8.4: "a fresh random value of length KDF.Nh"). */
export function freshPskNonce(cs: CipherSuite): Uint8Array {
  return cs.randomBytes(cs.params.Nh);
}

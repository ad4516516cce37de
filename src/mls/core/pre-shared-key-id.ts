/**
 * PreSharedKeyID (RFC 9420 §8.4): names one PSK injected into the key schedule, either an
 * external PSK known by id or the resumption PSK of an earlier epoch of some group.
 * Used by the PreSharedKey proposal (§12.1.4), GroupSecrets (§12.4.3.1) and the PSK chaining in
 * mls/schedule/psk.ts.
 * @module
 */
import type { Reader } from "../../codec/reader.js";
import type { Writer } from "../../codec/writer.js";

/**
 * RFC 9420 §8.4:
 *   enum {
 *     reserved(0),
 *     external(1),
 *     resumption(2),
 *     (255)
 *   } PSKType;
 */
export const pskTypes = {
  external: 1,
  resumption: 2,
} as const;

export type PskTypeName = keyof typeof pskTypes;
export type PskType = (typeof pskTypes)[PskTypeName];

/**
 * RFC 9420 §8.4:
 *   enum {
 *     reserved(0),
 *     application(1),
 *     reinit(2),
 *     branch(3),
 *     (255)
 *   } ResumptionPSKUsage;
 */
export const resumptionPskUsages = {
  application: 1,
  reinit: 2,
  branch: 3,
} as const;

export type ResumptionPskUsageName = keyof typeof resumptionPskUsages;
export type ResumptionPskUsage = (typeof resumptionPskUsages)[ResumptionPskUsageName];

/** The `external` arm of {@link PreSharedKeyId}. */
export interface ExternalPreSharedKeyId {
  readonly psktype: typeof pskTypes.external;
  readonly pskId: Uint8Array;
  readonly pskNonce: Uint8Array;
}

/** The `resumption` arm of {@link PreSharedKeyId}. */
export interface ResumptionPreSharedKeyId {
  readonly psktype: typeof pskTypes.resumption;
  readonly usage: ResumptionPskUsage;
  readonly pskGroupId: Uint8Array;
  readonly pskEpoch: bigint;
  readonly pskNonce: Uint8Array;
}

/**
 * RFC 9420 §8.4:
 *   struct {
 *     PSKType psktype;
 *     select (PreSharedKeyID.psktype) {
 *       case external:
 *         opaque psk_id<V>;
 *
 *       case resumption:
 *         ResumptionPSKUsage usage;
 *         opaque psk_group_id<V>;
 *         uint64 psk_epoch;
 *     };
 *     opaque psk_nonce<V>;
 *   } PreSharedKeyID;
 */
export type PreSharedKeyId = ExternalPreSharedKeyId | ResumptionPreSharedKeyId;

function isResumptionPskUsage(n: number): n is ResumptionPskUsage {
  return n === 1 || n === 2 || n === 3;
}

export function readPreSharedKeyId(r: Reader): PreSharedKeyId {
  const psktype = r.field("psktype", () => r.u8());
  switch (psktype) {
    case pskTypes.external: {
      const pskId = r.field("psk_id", () => r.opaque());
      const pskNonce = r.field("psk_nonce", () => r.opaque());
      return { psktype, pskId, pskNonce };
    }
    case pskTypes.resumption: {
      const usage = r.field("usage", () => {
        const u = r.u8();
        if (!isResumptionPskUsage(u)) r.fail("bad_enum", `unknown ResumptionPSKUsage ${u}`);
        return u;
      });
      const pskGroupId = r.field("psk_group_id", () => r.opaque());
      const pskEpoch = r.field("psk_epoch", () => r.u64());
      const pskNonce = r.field("psk_nonce", () => r.opaque());
      return { psktype, usage, pskGroupId, pskEpoch, pskNonce };
    }
    default:
      // The select arm decides the layout: an unknown PSKType makes the rest undecodable.
      return r.field("psktype", () => r.fail("bad_enum", `unknown PSKType ${psktype}`));
  }
}

export function writePreSharedKeyId(w: Writer, v: PreSharedKeyId): void {
  w.u8(v.psktype);
  switch (v.psktype) {
    case pskTypes.external:
      w.opaque(v.pskId);
      break;
    case pskTypes.resumption:
      w.u8(v.usage).opaque(v.pskGroupId).u64(v.pskEpoch);
      break;
  }
  w.opaque(v.pskNonce);
}

/**
 * GREASE for MLS (RFC 9420 §13.5, after RFC 8701): reserved code points that a sender sprinkles
 * into extensible lists so that receivers which wrongly reject unknown values fail early.
 *
 * Where GREASE may appear (RFC 9420 §13.5): LeafNode.capabilities.{cipher_suites, extensions,
 * proposals, credentials}, LeafNode.extensions, KeyPackage.extensions, GroupInfo.extensions.
 * It MUST NOT appear in Proposal.proposal_type, Credential.credential_type, GroupContext.extensions
 * or GroupContextExtensions.extensions.
 *
 * Receivers MUST NOT special-case these values: validation treats them like any other unknown
 * value. The only GREASE-aware operations here are for the sender (choosing values) and for a
 * client's view of its own capabilities, which MUST NOT contain GREASE (§13.5, last paragraph).
 * @module
 */
import type { Extension } from "./extension.js";

/**
 * RFC 9420 §13.5: "The following values are reserved in each registry: 0x0A0A, 0x1A1A, 0x2A2A,
 * 0x3A3A, 0x4A4A, 0x5A5A, 0x6A6A, 0x7A7A, 0x8A8A, 0x9A9A, 0xAAAA, 0xBABA, 0xCACA, 0xDADA, and
 * 0xEAEA." (0xFAFA is private use, not GREASE.)
 */
export const GREASE_VALUES: readonly number[] = Object.freeze(Array.from({ length: 15 }, (_, i) => (i << 12) | 0x0a00 | (i << 4) | 0x0a));

/** True for one of the fifteen reserved GREASE values (RFC 9420 §13.5). */
export function isGrease(value: number): boolean {
  return (value & 0x0f0f) === 0x0a0a && value >>> 8 === (value & 0xff) && value <= 0xeaea;
}

/** A source of random bytes, e.g. `cs.randomBytes` (mls/ has no randomness of its own). */
export type RandomBytes = (n: number) => Uint8Array;

/** `count` distinct GREASE values chosen at random (RFC 9420 §13.5 "a random selection"). */
export function randomGreaseValues(random: RandomBytes, count: number): number[] {
  const n = Math.max(0, Math.min(count, GREASE_VALUES.length));
  const pool = GREASE_VALUES.slice();
  const out: number[] = [];
  const r = random(n);
  for (let i = 0; i < n; i++) {
    // Partial Fisher-Yates; the modulo bias over 15 values is irrelevant for GREASE.
    const j = i + (r[i]! % (pool.length - i));
    const picked = pool[j]!;
    pool[j] = pool[i]!;
    pool[i] = picked;
    out.push(picked);
  }
  return out;
}

/**
 * A GREASE extension for KeyPackage or GroupInfo extensions: RFC 9420 §13.5 "the extension_data
 * for GREASE extensions MAY have any contents selected by the sender ... a randomly sized amount
 * of random data". Here 0..15 random bytes.
 */
export function greaseExtension(random: RandomBytes, extensionType?: number): Extension {
  const type = extensionType ?? randomGreaseValues(random, 1)[0]!;
  const length = random(1)[0]! & 0x0f;
  return { extensionType: type, extensionData: random(length) };
}

/** The list without GREASE values: a client's own capabilities MUST NOT contain them (RFC 9420 §13.5). */
export function withoutGrease(values: readonly number[]): number[] {
  return values.filter((v) => !isGrease(v));
}

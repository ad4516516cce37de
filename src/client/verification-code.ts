/**
 * A verification code members compare out of band (XEP "Authentication Service Compromise",
 * RFC 9750 §8.4.3.1): derived from the epoch_authenticator (RFC 9420 §8.7), so two members show
 * the same code exactly when they are in the same epoch of the same group. A compromised server
 * that split the group or added a ghost device shows different codes on the two sides.
 *
 * Format: 6 groups of 5 decimal digits ("01234 56789 …"), 30 digits ≈ 99.7 bits. Group i is the
 * big-endian number in octets 5i..5i+4 of the authenticator, reduced mod 100000 (the bias of
 * 2^40 mod 10^5 is below 10^-7 per group).
 * @module
 */
import { UsageError } from "../errors.js";

export const VERIFICATION_GROUPS = 6;
export const VERIFICATION_DIGITS = 5;
const BYTES_PER_GROUP = 5;

export function verificationCode(epochAuthenticator: Uint8Array, groups = VERIFICATION_GROUPS): string {
  if (!Number.isInteger(groups) || groups < 1) throw new UsageError("bad_groups", `"groups" must be a positive integer, got ${groups}`);
  if (epochAuthenticator.length < groups * BYTES_PER_GROUP) {
    throw new UsageError("short_authenticator", `an epoch authenticator of ${epochAuthenticator.length} octets is too short for ${groups} groups`);
  }
  const out: string[] = [];
  for (let g = 0; g < groups; g++) {
    let n = 0;
    for (let i = 0; i < BYTES_PER_GROUP; i++) n = n * 256 + epochAuthenticator[g * BYTES_PER_GROUP + i]!;
    out.push(String(n % 10 ** VERIFICATION_DIGITS).padStart(VERIFICATION_DIGITS, "0"));
  }
  return out.join(" ");
}

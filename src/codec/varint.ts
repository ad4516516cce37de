/**
 * RFC 9420 §2.1.2 variable-size vector length headers.
 *
 *   prefix 00 -> 1 byte,  6-bit value  (0 .. 63)
 *   prefix 01 -> 2 bytes, 14-bit value (64 .. 16383)
 *   prefix 10 -> 4 bytes, 30-bit value (16384 .. 2^30-1)
 *   prefix 11 -> invalid
 *
 * "values using more bits than necessary MUST be treated as malformed" (§2.1.2): the decoder
 * rejects non-minimal encodings.
 * @module
 */

/** Largest length a varint header can carry: 2^30 - 1. */
export const MAX_VARINT = 0x3fffffff;

/** Number of header bytes needed for `n` (boundaries 0x3f, 0x3fff, 0x3fffffff are inclusive). */
export function varintSize(n: number): 1 | 2 | 4 {
  if (n <= 0x3f) return 1;
  if (n <= 0x3fff) return 2;
  return 4;
}

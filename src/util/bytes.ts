/**
 * Byte helpers shared by every layer. Depends on nothing.
 * @module
 */

export type Bytes = Uint8Array;

export const EMPTY: Bytes = new Uint8Array(0);

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function toHex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!];
  return s;
}

export function fromHex(hex: string): Bytes {
  if (hex.length % 2 !== 0) throw new RangeError(`"hex" expected even length, got length=${hex.length}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const v = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    if (Number.isNaN(v)) throw new RangeError(`"hex" has a non-hex character near index ${2 * i}`);
    out[i] = v;
  }
  return out;
}

export function concat(...parts: readonly Uint8Array[]): Bytes {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Plain (not constant-time) equality, for public values only. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Constant-time comparison for MACs and tags. The length check comes first (lengths are public);
 * the loop then touches every byte whatever the content.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Overwrite a secret buffer with zeros once it is no longer needed (RFC 9420 §9.2). */
export function wipe(...bufs: (Uint8Array | undefined)[]): void {
  for (const b of bufs) if (b) b.fill(0);
}

export function utf8(s: string): Bytes {
  return new TextEncoder().encode(s);
}

export function fromUtf8(b: Uint8Array): string {
  return new TextDecoder("utf-8", { fatal: true }).decode(b);
}

export function xor(a: Uint8Array, b: Uint8Array): Bytes {
  if (a.length !== b.length) throw new RangeError(`xor: length mismatch ${a.length} != ${b.length}`);
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

export function toBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
}

/** Strict base64 decoding: rejects characters outside the alphabet and bad padding. */
export function fromBase64(s: string): Bytes {
  const t = s.replace(/\s+/g, "");
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(t)) {
    throw new RangeError("invalid base64");
  }
  const buf = Buffer.from(t, "base64");
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

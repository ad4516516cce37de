/**
 * Labeled operations of RFC 9420, generic over any {@link CipherSuite}.
 * @module
 */
import { MAX_VARINT, varintSize } from "../codec/varint.js";
import { Writer } from "../codec/writer.js";
import { UsageError } from "../errors.js";
import { utf8 } from "../util/bytes.js";
import type { CipherSuite, HpkeSealed } from "./cipher-suite.js";
import { jsBytesEqual } from "./info-hash-cache.js";

const MLS_PREFIX = "MLS 1.0 ";
/** EncryptWithLabel seals with an empty aad (RFC 9420 §5.1.3); shared, never written. */
const NO_AAD = new Uint8Array(0);

/**
 * `opaque label<V>` with label = "MLS 1.0 " + Label, encoded once per Label (labels are a small
 * fixed set). Every labeled structure below starts with it (after KDFLabel's uint16 length).
 */
const labelCache = new Map<string, Uint8Array>();
function opaqueLabel(label: string): Uint8Array {
  let b = labelCache.get(label);
  if (b === undefined) {
    const w = new Writer(16 + label.length);
    w.opaque(utf8(MLS_PREFIX + label));
    b = w.finish();
    labelCache.set(label, b);
  }
  return b;
}

/**
 * `prefix || opaque body<V>` in one exactly-sized array (RFC 9420 §2.1.2 length header). These
 * structures are built for every message key, signature and HPKE seal, so no Writer is used.
 */
function withOpaque(prefix: Uint8Array, body: Uint8Array): Uint8Array {
  const n = body.length;
  if (n > MAX_VARINT) throw new UsageError("codec_range", `vector of ${n} bytes is too long`);
  const h = varintSize(n);
  const out = new Uint8Array(prefix.length + h + n);
  out.set(prefix, 0);
  let o = prefix.length;
  if (h === 1) out[o] = n;
  else if (h === 2) {
    out[o] = 0x40 | (n >>> 8);
    out[o + 1] = n & 0xff;
  } else {
    out[o] = 0x80 | (n >>> 24);
    out[o + 1] = (n >>> 16) & 0xff;
    out[o + 2] = (n >>> 8) & 0xff;
    out[o + 3] = n & 0xff;
  }
  o += h;
  out.set(body, o);
  return out;
}

/** `uint16 length || opaque label<V>`, the constant head of a KDFLabel, by Label and length. */
const kdfLabelHeads = new Map<string, Map<number, Uint8Array>>();
function kdfLabelHead(label: string, length: number): Uint8Array {
  let byLength = kdfLabelHeads.get(label);
  if (byLength === undefined) {
    byLength = new Map();
    kdfLabelHeads.set(label, byLength);
  }
  let head = byLength.get(length);
  if (head === undefined) {
    const l = opaqueLabel(label);
    head = new Uint8Array(2 + l.length);
    head[0] = (length >>> 8) & 0xff; // an invalid length is KDF.Expand's to reject
    head[1] = length & 0xff;
    head.set(l, 2);
    if (Number.isInteger(length) && length >= 0 && length <= 0xffff) byLength.set(length, head);
  }
  return head;
}

/**
 * RFC 9420 §8:
 *   struct {
 *     uint16 length;
 *     opaque label<V>;
 *     opaque context<V>;
 *   } KDFLabel;
 *   ExpandWithLabel(Secret, Label, Context, Length) = KDF.Expand(Secret, KDFLabel, Length)
 */
export function expandWithLabel(cs: CipherSuite, secret: Uint8Array, label: string, context: Uint8Array, length: number): Uint8Array {
  return cs.kdfExpand(secret, withOpaque(kdfLabelHead(label, length), context), length);
}

/** RFC 9420 §8: DeriveSecret(Secret, Label) = ExpandWithLabel(Secret, Label, "", KDF.Nh) */
export function deriveSecret(cs: CipherSuite, secret: Uint8Array, label: string): Uint8Array {
  return expandWithLabel(cs, secret, label, new Uint8Array(0), cs.params.Nh);
}

/** RFC 9420 §9: DeriveTreeSecret(Secret, Label, Generation, Length) = ExpandWithLabel(Secret, Label, uint32 Generation, Length) */
export function deriveTreeSecret(cs: CipherSuite, secret: Uint8Array, label: string, generation: number, length: number): Uint8Array {
  const g = generation >>> 0;
  return expandWithLabel(cs, secret, label, Uint8Array.of(g >>> 24, (g >>> 16) & 0xff, (g >>> 8) & 0xff, g & 0xff), length);
}

/**
 * RFC 9420 §5.1.2:
 *   struct {
 *     opaque label<V>;
 *     opaque content<V>;
 *   } SignContent;
 */
export function encodeSignContent(label: string, content: Uint8Array): Uint8Array {
  return withOpaque(opaqueLabel(label), content);
}

/**
 * SignContent{label, content} (RFC 9420 §5.1.2) with the content written in place by
 * `writeContent` (`contentSizeHint`: about its size): one buffer instead of the content and then a
 * copy of it, which matters for the ~1 MB Commit of a 10,000-member group. Returns a view of the
 * writer's buffer (sized by the hint, so rarely larger than the bytes).
 */
export function signContentWith(label: string, contentSizeHint: number, writeContent: (w: Writer) => void): Uint8Array {
  const prefix = opaqueLabel(label);
  const w = new Writer(prefix.length + 4 + contentSizeHint);
  w.bytes(prefix).vector(writeContent);
  return w.view();
}

export function signWithLabel(cs: CipherSuite, signaturePrivateKey: Uint8Array, label: string, content: Uint8Array): Uint8Array {
  return cs.sign(signaturePrivateKey, encodeSignContent(label, content));
}

export function verifyWithLabel(cs: CipherSuite, signaturePublicKey: Uint8Array, label: string, content: Uint8Array, signature: Uint8Array): boolean {
  return cs.verify(signaturePublicKey, encodeSignContent(label, content), signature);
}

/**
 * RFC 9420 §5.1.3:
 *   struct {
 *     opaque label<V>;
 *     opaque context<V>;
 *   } EncryptContext;
 *   EncryptWithLabel(PublicKey, Label, Context, Plaintext) = SealBase(PublicKey, EncryptContext, "", Plaintext)
 */
function buildEncryptContext(label: string, context: Uint8Array): Uint8Array {
  return withOpaque(opaqueLabel(label), context);
}

/**
 * EncryptContexts by context array and label. An UpdatePath seals every path secret under the same
 * GroupContext (RFC 9420 §7.6), so the same EncryptContext is built once and, being the same array
 * each time, lets the provider reuse its HPKE `info_hash` (./info-hash-cache.ts). An entry
 * is used only while the context array still holds the bytes it was built from (the EncryptContext
 * ends with them); the EncryptContext itself never leaves this module except into HPKE.
 */
const encryptContexts = new WeakMap<Uint8Array, Map<string, { readonly bytes: Uint8Array; readonly contextLength: number }>>();

/** The EncryptContext of (`label`, `context`) (RFC 9420 §5.1.3), cached; do not modify the result. */
export function encryptContext(label: string, context: Uint8Array): Uint8Array {
  let byLabel = encryptContexts.get(context);
  const hit = byLabel?.get(label);
  if (hit !== undefined && hit.contextLength === context.length && jsBytesEqual(hit.bytes.subarray(hit.bytes.length - context.length), context)) {
    return hit.bytes;
  }
  const bytes = buildEncryptContext(label, context);
  if (byLabel === undefined) {
    byLabel = new Map();
    encryptContexts.set(context, byLabel);
  }
  byLabel.set(label, { bytes, contextLength: context.length });
  return bytes;
}

export function encryptWithLabel(cs: CipherSuite, publicKey: Uint8Array, label: string, context: Uint8Array, plaintext: Uint8Array): Promise<HpkeSealed> {
  return cs.hpkeSeal(publicKey, encryptContext(label, context), NO_AAD, plaintext);
}

/**
 * EncryptWithLabel of many plaintexts under one label and context (RFC 9420 §5.1.3), in order:
 * through the suite's batch seal when it has one (see {@link CipherSuite.hpkeSealMany}).
 */
export function encryptWithLabelMany(
  cs: CipherSuite,
  label: string,
  context: Uint8Array,
  items: readonly { readonly publicKey: Uint8Array; readonly plaintext: Uint8Array }[],
): Promise<HpkeSealed[]> {
  const info = encryptContext(label, context);
  if (cs.hpkeSealMany !== undefined) return cs.hpkeSealMany(info, NO_AAD, items);
  return Promise.all(items.map((i) => cs.hpkeSeal(i.publicKey, info, NO_AAD, i.plaintext)));
}

export function decryptWithLabel(
  cs: CipherSuite,
  privateKey: Uint8Array,
  label: string,
  context: Uint8Array,
  kemOutput: Uint8Array,
  ciphertext: Uint8Array,
): Promise<Uint8Array> {
  return cs.hpkeOpen(privateKey, kemOutput, encryptContext(label, context), new Uint8Array(0), ciphertext);
}

/**
 * RFC 9420 §5.2:
 *   struct {
 *     opaque label<V>;
 *     opaque value<V>;
 *   } RefHashInput;
 *   RefHash(label, value) = Hash(RefHashInput)
 * Here `label` is used as given (it already contains "MLS 1.0 ...").
 */
export function refHash(cs: CipherSuite, label: string | Uint8Array, value: Uint8Array): Uint8Array {
  const l = typeof label === "string" ? utf8(label) : label;
  const w = new Writer(8 + l.length + value.length);
  w.opaque(l).opaque(value);
  return cs.hash(w.finish());
}

/** RFC 9420 §5.2: KeyPackageRef = RefHash("MLS 1.0 KeyPackage Reference", KeyPackage) */
export function makeKeyPackageRef(cs: CipherSuite, keyPackageBytes: Uint8Array): Uint8Array {
  return refHash(cs, "MLS 1.0 KeyPackage Reference", keyPackageBytes);
}

/** RFC 9420 §5.2: ProposalRef = RefHash("MLS 1.0 Proposal Reference", AuthenticatedContent) */
export function makeProposalRef(cs: CipherSuite, authenticatedContentBytes: Uint8Array): Uint8Array {
  return refHash(cs, "MLS 1.0 Proposal Reference", authenticatedContentBytes);
}

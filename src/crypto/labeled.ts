/**
 * Labeled operations of RFC 9420, generic over any {@link CipherSuite}.
 * @module
 */
import { Writer } from "../codec/writer.js";
import { utf8 } from "../util/bytes.js";
import type { CipherSuite, HpkeSealed } from "./cipher-suite.js";

const MLS_PREFIX = "MLS 1.0 ";
const labelCache = new Map<string, Uint8Array>();

/** `"MLS 1.0 " + Label` as bytes, cached (labels are a small fixed set). */
function mlsLabel(label: string): Uint8Array {
  let b = labelCache.get(label);
  if (b === undefined) {
    b = utf8(MLS_PREFIX + label);
    labelCache.set(label, b);
  }
  return b;
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
  const w = new Writer(16 + label.length + context.length);
  w.u16(length).opaque(mlsLabel(label)).opaque(context);
  return cs.kdfExpand(secret, w.finish(), length);
}

/** RFC 9420 §8: DeriveSecret(Secret, Label) = ExpandWithLabel(Secret, Label, "", KDF.Nh) */
export function deriveSecret(cs: CipherSuite, secret: Uint8Array, label: string): Uint8Array {
  return expandWithLabel(cs, secret, label, new Uint8Array(0), cs.params.Nh);
}

/** RFC 9420 §9: DeriveTreeSecret(Secret, Label, Generation, Length) = ExpandWithLabel(Secret, Label, uint32 Generation, Length) */
export function deriveTreeSecret(cs: CipherSuite, secret: Uint8Array, label: string, generation: number, length: number): Uint8Array {
  const g = new Uint8Array(4);
  new DataView(g.buffer).setUint32(0, generation >>> 0);
  return expandWithLabel(cs, secret, label, g, length);
}

/**
 * RFC 9420 §5.1.2:
 *   struct {
 *     opaque label<V>;
 *     opaque content<V>;
 *   } SignContent;
 */
function signContent(label: string, content: Uint8Array): Uint8Array {
  const w = new Writer(16 + label.length + content.length);
  w.opaque(mlsLabel(label)).opaque(content);
  return w.finish();
}

export function signWithLabel(cs: CipherSuite, signaturePrivateKey: Uint8Array, label: string, content: Uint8Array): Uint8Array {
  return cs.sign(signaturePrivateKey, signContent(label, content));
}

export function verifyWithLabel(cs: CipherSuite, signaturePublicKey: Uint8Array, label: string, content: Uint8Array, signature: Uint8Array): boolean {
  return cs.verify(signaturePublicKey, signContent(label, content), signature);
}

/**
 * RFC 9420 §5.1.3:
 *   struct {
 *     opaque label<V>;
 *     opaque context<V>;
 *   } EncryptContext;
 *   EncryptWithLabel(PublicKey, Label, Context, Plaintext) = SealBase(PublicKey, EncryptContext, "", Plaintext)
 */
function encryptContext(label: string, context: Uint8Array): Uint8Array {
  const w = new Writer(16 + label.length + context.length);
  w.opaque(mlsLabel(label)).opaque(context);
  return w.finish();
}

export function encryptWithLabel(cs: CipherSuite, publicKey: Uint8Array, label: string, context: Uint8Array, plaintext: Uint8Array): Promise<HpkeSealed> {
  return cs.hpkeSeal(publicKey, encryptContext(label, context), new Uint8Array(0), plaintext);
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

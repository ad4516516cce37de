/**
 * Creating and validating KeyPackages (RFC 9420 §10, §10.1), KeyPackageRef (§5.2) and the
 * last_resort KeyPackage extension (draft-ietf-mls-extensions, type 0x000a). The wire layout and
 * the KeyPackageTBS encoding live in ./key-package.ts.
 *
 * Trust flow: a decoded {@link KeyPackage} is untrusted. {@link validateKeyPackage} is the only
 * way to obtain a {@link ValidatedKeyPackage}; group operations that add members take that type.
 *
 *   bytes ──decodeKeyPackage──▶ KeyPackage ──validateKeyPackage──▶ ValidatedKeyPackage
 * @module
 */
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { makeKeyPackageRef, signWithLabel, verifyWithLabel } from "../../crypto/labeled.js";
import { ValidationError } from "../../errors.js";
import { bytesEqual } from "../../util/bytes.js";
import type { CredentialValidationPurpose } from "../auth/authentication-service.js";
import type { Capabilities } from "../core/capabilities.js";
import {
  buildCapabilities,
  checkNoDuplicateExtensions,
  isDefaultExtensionType,
  withCredentialType,
  withExtensionTypes,
} from "../core/capabilities-ops.js";
import type { Credential } from "../core/credential.js";
import { extensionTypes, findExtension, type Extension } from "../core/extension.js";
import { greaseExtension } from "../core/grease.js";
import type { Lifetime } from "../core/lifetime.js";
import { leafNodeSources, protocolVersions } from "../core/protocol.js";
import { nowSeconds, signLeafNode, validateLeafNode, type LeafNodeValidationOptions } from "../tree/leaf-node-ops.js";
import { encodeKeyPackage, encodeKeyPackageTbs, type KeyPackage, type KeyPackageTbs } from "./key-package.js";

const RFC = "RFC 9420 §10.1";
const TBS_LABEL = "KeyPackageTBS";

declare const validatedKeyPackage: unique symbol;

/** A KeyPackage that passed {@link validateKeyPackage}. Only that function produces one. */
export type ValidatedKeyPackage = KeyPackage & { readonly [validatedKeyPackage]: true };

/** RFC 9420 §5.2 `KeyPackageRef` (a `HashReference`, `opaque<V>`). */
export type KeyPackageRef = Uint8Array;

/** The private halves of a KeyPackage's keys. Keep them secret; wipe them when the package is spent. */
export interface KeyPackagePrivateKeys {
  /** HPKE private key of `init_key` (decrypts the Welcome's GroupSecrets, §12.4.3.1). */
  readonly initPrivateKey: Uint8Array;
  /** HPKE private key of `leaf_node.encryption_key`. */
  readonly encryptionPrivateKey: Uint8Array;
  /** Signature private key of `leaf_node.signature_key`. */
  readonly signaturePrivateKey: Uint8Array;
}

export interface CreatedKeyPackage {
  readonly keyPackage: KeyPackage;
  readonly privateKeys: KeyPackagePrivateKeys;
  readonly ref: KeyPackageRef;
}

/** The default lifetime window around `now`: one hour back (clock skew), 90 days ahead. */
export const DEFAULT_LIFETIME = Object.freeze({ notBeforeOffsetSeconds: 3600, notAfterOffsetSeconds: 90 * 24 * 3600 });

export interface CreateKeyPackageOptions {
  readonly cs: CipherSuite;
  readonly credential: Credential;
  /** Signature private key; generated when absent. The credential must bind its public key. */
  readonly signaturePrivateKey?: Uint8Array;
  /**
   * Advertised capabilities. Default: {@link buildCapabilities} (mls10, all seven suites, basic and
   * x509 credentials) with GREASE values. The credential's type and the types of every
   * non-default extension in `extensions` and `leafExtensions` are added when missing (§7.2, §10).
   */
  readonly capabilities?: Capabilities;
  /** Default: now - 1 h .. now + 90 days ({@link DEFAULT_LIFETIME}). */
  readonly lifetime?: Lifetime;
  /** Seconds since the Unix epoch for the default lifetime. Default: the system clock. */
  readonly now?: number;
  /** KeyPackage.extensions, e.g. {@link lastResortExtension}. */
  readonly extensions?: readonly Extension[];
  /** LeafNode.extensions, e.g. application_id. */
  readonly leafExtensions?: readonly Extension[];
  /** Add GREASE (RFC 9420 §13.5): values in default capabilities and one GREASE KeyPackage extension. Default true. */
  readonly grease?: boolean;
}

/** RFC 9420 §10: `signature = SignWithLabel(signature_priv, "KeyPackageTBS", KeyPackageTBS)`. */
export function signKeyPackage(cs: CipherSuite, signaturePrivateKey: Uint8Array, tbs: KeyPackageTbs): KeyPackage {
  const signature = signWithLabel(cs, signaturePrivateKey, TBS_LABEL, encodeKeyPackageTbs(tbs));
  return { ...tbs, signature };
}

/** RFC 9420 §10.1 "Verify that the signature on the KeyPackage is valid using the public key in leaf_node.credential." */
export function verifyKeyPackageSignature(cs: CipherSuite, kp: KeyPackage): boolean {
  return verifyWithLabel(cs, kp.leafNode.signatureKey, TBS_LABEL, encodeKeyPackageTbs(kp), kp.signature);
}

/** RFC 9420 §5.2: `KeyPackageRef = MakeKeyPackageRef(value) = RefHash("MLS 1.0 KeyPackage Reference", value)`. */
export function keyPackageRef(cs: CipherSuite, kp: KeyPackage): KeyPackageRef {
  return makeKeyPackageRef(cs, encodeKeyPackage(kp));
}

/** The last_resort KeyPackage extension (draft-ietf-mls-extensions): type 0x000a, empty data. */
export function lastResortExtension(): Extension {
  return { extensionType: extensionTypes.last_resort, extensionData: new Uint8Array(0) };
}

/**
 * Is this a last-resort KeyPackage (draft-ietf-mls-extensions: a `last_resort` extension in
 * KeyPackage.extensions)? Such a package may be handed out more than once (RFC 9420 §16.8).
 */
export function isLastResort(kp: KeyPackage): boolean {
  return findExtension(kp.extensions, extensionTypes.last_resort) !== null;
}

/**
 * Creates a KeyPackage (RFC 9420 §10) with fresh init and encryption key pairs (distinct, as
 * §10.1 requires) and returns it with its private keys and KeyPackageRef.
 */
export async function createKeyPackage(opts: CreateKeyPackageOptions): Promise<CreatedKeyPackage> {
  const { cs, credential } = opts;
  const grease = opts.grease ?? true;
  const random = (n: number): Uint8Array => cs.randomBytes(n);

  const signaturePrivateKey = opts.signaturePrivateKey ?? cs.signatureKeyPair().privateKey;
  const signatureKey = cs.signaturePublicKey(signaturePrivateKey);
  const init = await cs.hpkeKeyPair();
  const enc = await cs.hpkeKeyPair();

  // RFC 9420 §13.5: "the creator of a KeyPackage object SHOULD include some random GREASE extensions".
  const extensions = [...(opts.extensions ?? [])];
  if (grease) extensions.push(greaseExtension(random));
  const leafExtensions = [...(opts.leafExtensions ?? [])];

  // RFC 9420 §7.2, §10: the credential type and every non-default extension type used MUST be listed.
  let capabilities = opts.capabilities ?? buildCapabilities({ grease: grease ? random : null });
  capabilities = withCredentialType(capabilities, credential.credentialType);
  capabilities = withExtensionTypes(capabilities, [...extensions, ...leafExtensions].map((e) => e.extensionType));

  const now = Math.floor(opts.now ?? nowSeconds());
  const lifetime = opts.lifetime ?? {
    notBefore: BigInt(Math.max(0, now - DEFAULT_LIFETIME.notBeforeOffsetSeconds)),
    notAfter: BigInt(now + DEFAULT_LIFETIME.notAfterOffsetSeconds),
  };

  const leafNode = signLeafNode(cs, signaturePrivateKey, {
    encryptionKey: enc.publicKey,
    signatureKey,
    credential,
    capabilities,
    // RFC 9420 §10: "The field leaf_node.leaf_node_source of the LeafNode in a KeyPackage MUST be set to key_package."
    leafNodeSource: leafNodeSources.key_package,
    lifetime,
    extensions: leafExtensions,
  });
  const keyPackage = signKeyPackage(cs, signaturePrivateKey, {
    version: protocolVersions.mls10,
    cipherSuite: cs.params.id,
    initKey: init.publicKey,
    leafNode,
    extensions,
  });
  return {
    keyPackage,
    privateKeys: { initPrivateKey: init.privateKey, encryptionPrivateKey: enc.privateKey, signaturePrivateKey },
    ref: keyPackageRef(cs, keyPackage),
  };
}

/** Options of {@link validateKeyPackage}: the leaf-node options minus those fixed by §10.1. */
export interface KeyPackageValidationOptions
  extends Omit<LeafNodeValidationOptions, "expectedSource" | "group" | "replaces" | "purpose"> {
  /**
   * The protocol version the package must carry: the group's, or the enclosing MLSMessage's
   * (RFC 9420 §10). Default mls10. Also used as the group's version for capability checks.
   */
  readonly version?: number;
  readonly purpose?: CredentialValidationPurpose;
}

/**
 * RFC 9420 §10.1 KeyPackage validation. `cs` is the suite the package must use (the group's).
 * Returns the package branded as {@link ValidatedKeyPackage}; throws {@link ValidationError}:
 *
 * - `valid.wrong_protocol_version`, `valid.wrong_cipher_suite` (§10.1 first step)
 * - `valid.malformed_init_key` (§10: init_key is a key of the suite's KEM)
 * - `valid.init_key_equals_encryption_key` (§10.1)
 * - `valid.duplicate_extension`, `valid.extension_not_in_capabilities` (§13.4, §10)
 * - `valid.bad_key_package_signature` (§10.1)
 * - any leaf-node code of `validateLeafNode` with source key_package (§10.1 → §7.3)
 */
export async function validateKeyPackage(cs: CipherSuite, kp: KeyPackage, opts: KeyPackageValidationOptions): Promise<ValidatedKeyPackage> {
  const version = opts.version ?? protocolVersions.mls10;
  // RFC 9420 §10.1 "Verify that the cipher suite and protocol version of the KeyPackage match those in the GroupContext."
  if (kp.version !== version) {
    throw new ValidationError("valid.wrong_protocol_version", `KeyPackage version ${kp.version}, expected ${version}`, RFC);
  }
  if (kp.cipherSuite !== cs.params.id) {
    throw new ValidationError("valid.wrong_cipher_suite", `KeyPackage cipher suite ${kp.cipherSuite}, expected ${cs.params.id}`, RFC);
  }
  // RFC 9420 §10: "The value for init_key MUST be a public key for the asymmetric encryption scheme defined by cipher_suite".
  if (kp.initKey.length !== cs.params.Npk) {
    throw new ValidationError("valid.malformed_init_key", `init_key has ${kp.initKey.length} bytes, suite needs ${cs.params.Npk}`, "RFC 9420 §10");
  }
  // RFC 9420 §10.1 "Verify that the value of leaf_node.encryption_key is different from the value of the init_key field."
  if (bytesEqual(kp.initKey, kp.leafNode.encryptionKey)) {
    throw new ValidationError("valid.init_key_equals_encryption_key", "init_key equals leaf_node.encryption_key", RFC);
  }
  // RFC 9420 §13.4 no duplicate types; §10 "Extensions included in the extensions or
  // leaf_node.extensions fields MUST be included in the leaf_node.capabilities field."
  checkNoDuplicateExtensions(kp.extensions, "KeyPackage.extensions");
  for (const e of kp.extensions) {
    if (!isDefaultExtensionType(e.extensionType) && !kp.leafNode.capabilities.extensions.includes(e.extensionType)) {
      throw new ValidationError("valid.extension_not_in_capabilities", `KeyPackage extension 0x${e.extensionType.toString(16).padStart(4, "0")} is not in capabilities.extensions`, "RFC 9420 §10");
    }
  }
  // RFC 9420 §10: "A KeyPackage object with an invalid signature field MUST be considered malformed."
  if (!verifyKeyPackageSignature(cs, kp)) {
    throw new ValidationError("valid.bad_key_package_signature", "KeyPackage signature does not verify", RFC);
  }
  // RFC 9420 §10.1 "Verify that the leaf_node of the KeyPackage is valid for a KeyPackage according to Section 7.3."
  await validateLeafNode(cs, kp.leafNode, {
    ...opts,
    groupFacts: { ...opts.groupFacts, version },
    expectedSource: leafNodeSources.key_package,
    purpose: opts.purpose ?? "key_package",
  });
  return kp as ValidatedKeyPackage;
}

/**
 * Checks that private keys belong to a KeyPackage: the HPKE public keys of `initPrivateKey` and
 * `encryptionPrivateKey` equal `init_key` and `leaf_node.encryption_key`, and the signature
 * public key of `signaturePrivateKey` equals `leaf_node.signature_key`. Throws
 * `valid.private_key_mismatch` naming the key that differs.
 */
export async function checkKeyPackagePrivateKeys(cs: CipherSuite, kp: KeyPackage, keys: KeyPackagePrivateKeys): Promise<void> {
  const mismatch = (which: string): ValidationError =>
    new ValidationError("valid.private_key_mismatch", `${which} private key does not match the KeyPackage`);
  if (!bytesEqual(await cs.hpkePublicKey(keys.initPrivateKey), kp.initKey)) throw mismatch("init");
  if (!bytesEqual(await cs.hpkePublicKey(keys.encryptionPrivateKey), kp.leafNode.encryptionKey)) throw mismatch("encryption");
  if (!bytesEqual(cs.signaturePublicKey(keys.signaturePrivateKey), kp.leafNode.signatureKey)) throw mismatch("signature");
}


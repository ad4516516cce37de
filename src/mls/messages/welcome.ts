/**
 * Welcome (RFC 9420 §12.4.3.1): the joiner's secrets, each HPKE-encrypted to one new member's
 * KeyPackage init key, and the GroupInfo encrypted under the welcome key. GroupSecrets is the
 * plaintext inside each EncryptedGroupSecrets.
 * @module
 */
import { decode, type Reader } from "../../codec/reader.js";
import { encode, type Writer } from "../../codec/writer.js";
import { readHpkeCiphertext, writeHpkeCiphertext, type HpkeCiphertext } from "../core/hpke-ciphertext.js";
import { readPreSharedKeyId, writePreSharedKeyId, type PreSharedKeyId } from "../core/pre-shared-key-id.js";

/**
 * RFC 9420 §12.4.3.1:
 *   struct {
 *     opaque path_secret<V>;
 *   } PathSecret;
 *
 *   struct {
 *     opaque joiner_secret<V>;
 *     optional<PathSecret> path_secret;
 *     PreSharedKeyID psks<V>;
 *   } GroupSecrets;
 *
 * The single-field PathSecret wrapper is flattened: `pathSecret` is its `path_secret` bytes, or
 * null when absent. Both secrets belong to the caller, who wipes them after use (RFC 9420 §9.2).
 */
export interface GroupSecrets {
  readonly joinerSecret: Uint8Array;
  readonly pathSecret: Uint8Array | null;
  readonly psks: readonly PreSharedKeyId[];
}

export function readGroupSecrets(r: Reader): GroupSecrets {
  const joinerSecret = r.field("joiner_secret", () => r.opaque());
  const pathSecret = r.field("path_secret", () => r.optional((r) => r.field("path_secret", () => r.opaque())));
  const psks = r.field("psks", () => r.vector(readPreSharedKeyId));
  return { joinerSecret, pathSecret, psks };
}

export function writeGroupSecrets(w: Writer, v: GroupSecrets): void {
  w.opaque(v.joinerSecret);
  w.optional(v.pathSecret, (w, s) => w.opaque(s));
  w.array(v.psks, writePreSharedKeyId);
}

export function encodeGroupSecrets(v: GroupSecrets): Uint8Array {
  return encode(v, writeGroupSecrets);
}

export function decodeGroupSecrets(bytes: Uint8Array): GroupSecrets {
  return decode(bytes, readGroupSecrets, "GroupSecrets");
}

/**
 * RFC 9420 §12.4.3.1:
 *   struct {
 *     KeyPackageRef new_member;
 *     HPKECiphertext encrypted_group_secrets;
 *   } EncryptedGroupSecrets;
 *
 * `KeyPackageRef` is a `HashReference`, i.e. `opaque<V>` (RFC 9420 §5.2).
 */
export interface EncryptedGroupSecrets {
  readonly newMember: Uint8Array;
  readonly encryptedGroupSecrets: HpkeCiphertext;
}

export function readEncryptedGroupSecrets(r: Reader): EncryptedGroupSecrets {
  const newMember = r.field("new_member", () => r.opaque());
  const encryptedGroupSecrets = r.field("encrypted_group_secrets", () => readHpkeCiphertext(r));
  return { newMember, encryptedGroupSecrets };
}

export function writeEncryptedGroupSecrets(w: Writer, v: EncryptedGroupSecrets): void {
  w.opaque(v.newMember);
  writeHpkeCiphertext(w, v.encryptedGroupSecrets);
}

/**
 * RFC 9420 §12.4.3.1:
 *   struct {
 *     CipherSuite cipher_suite;
 *     EncryptedGroupSecrets secrets<V>;
 *     opaque encrypted_group_info<V>;
 *   } Welcome;
 */
export interface Welcome {
  readonly cipherSuite: number;
  readonly secrets: readonly EncryptedGroupSecrets[];
  readonly encryptedGroupInfo: Uint8Array;
}

export function readWelcome(r: Reader): Welcome {
  const cipherSuite = r.field("cipher_suite", () => r.u16());
  const secrets = r.field("secrets", () => r.vector(readEncryptedGroupSecrets));
  const encryptedGroupInfo = r.field("encrypted_group_info", () => r.opaque());
  return { cipherSuite, secrets, encryptedGroupInfo };
}

export function writeWelcome(w: Writer, v: Welcome): void {
  w.u16(v.cipherSuite);
  w.array(v.secrets, writeEncryptedGroupSecrets);
  w.opaque(v.encryptedGroupInfo);
}

export function encodeWelcome(v: Welcome): Uint8Array {
  return encode(v, writeWelcome, 1024);
}

export function decodeWelcome(bytes: Uint8Array): Welcome {
  return decode(bytes, readWelcome, "Welcome");
}

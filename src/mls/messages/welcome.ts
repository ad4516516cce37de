/**
 * Welcome (RFC 9420 §12.4.3.1): the joiner's secrets, each HPKE-encrypted to one new member's
 * KeyPackage init key, and the GroupInfo encrypted under the welcome key. GroupSecrets is the
 * plaintext inside each EncryptedGroupSecrets.
 * @module
 */
import { decode, Reader } from "../../codec/reader.js";
import { bytesEqual } from "../../util/bytes.js";
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

/** Welcomes with at least this many entries decode `secrets` on first read (see {@link readWelcome}). */
const LAZY_SECRETS_MIN = 32;

/** The encoded `secrets` vector of Welcomes whose entries are decoded on demand. */
const encodedSecrets = new WeakMap<Welcome, Uint8Array>();

/** EncryptedGroupSecrets checked and skipped (the same rules as {@link readEncryptedGroupSecrets}). */
function skipEncryptedGroupSecrets(r: Reader): void {
  r.field("new_member", () => r.skipOpaque());
  r.field("encrypted_group_secrets", () => {
    r.field("kem_output", () => r.skipOpaque());
    r.field("ciphertext", () => r.skipOpaque());
  });
}

const readSecretsVector = (r: Reader): EncryptedGroupSecrets[] => r.vector(readEncryptedGroupSecrets);

/**
 * The `secrets` vector is checked in full here (every entry well-formed, its length exact), but a
 * Welcome with many entries (a Commit adding 10,000 members) decodes them only when `secrets` is
 * first read: each joiner needs one entry, which {@link findEncryptedGroupSecrets} finds in the
 * bytes. `secrets` is an ordinary enumerable property to callers (spread and deep equality see it).
 */
export function readWelcome(r: Reader): Welcome {
  const cipherSuite = r.field("cipher_suite", () => r.u16());
  const start = r.offset;
  const count = r.field("secrets", () => r.skipVector(skipEncryptedGroupSecrets));
  const vector = r.readSince(start);
  const encryptedGroupInfo = r.field("encrypted_group_info", () => r.opaque());
  // Checked above: decoding the same bytes again cannot fail. Views of `vector`, which is this
  // reader's private copy or shared input the caller does not modify.
  const decodeSecrets = (): EncryptedGroupSecrets[] => decode(vector, readSecretsVector, "secrets", { shareInput: true });
  if (count < LAZY_SECRETS_MIN) return { cipherSuite, secrets: decodeSecrets(), encryptedGroupInfo };
  let secrets: readonly EncryptedGroupSecrets[] | undefined;
  const welcome: Welcome = {
    cipherSuite,
    get secrets(): readonly EncryptedGroupSecrets[] {
      return (secrets ??= decodeSecrets());
    },
    encryptedGroupInfo,
  };
  encodedSecrets.set(welcome, vector);
  return welcome;
}

/**
 * The `new_member` KeyPackageRefs of a Welcome's secrets, in order, without decoding the HPKE
 * ciphertexts of a large one (the Delivery Service routes on these; a client looks for its own).
 */
export function welcomeNewMembers(welcome: Welcome): Uint8Array[] {
  const vector = encodedSecrets.get(welcome);
  if (vector === undefined) return welcome.secrets.map((s) => s.newMember);
  const refs: Uint8Array[] = [];
  new Reader(vector, { shareInput: true }).skipVector((r) => {
    refs.push(r.opaque());
    r.skipOpaque();
    r.skipOpaque();
  });
  return refs;
}

/**
 * RFC 9420 §12.4.3.1: "Identify an entry in the secrets array where the new_member value
 * corresponds to one of this client's KeyPackages". Null when there is none. For a Welcome decoded
 * with many entries, only the matching one is decoded.
 */
export function findEncryptedGroupSecrets(welcome: Welcome, keyPackageRef: Uint8Array): EncryptedGroupSecrets | null {
  const vector = encodedSecrets.get(welcome);
  if (vector === undefined) return welcome.secrets.find((s) => bytesEqual(s.newMember, keyPackageRef)) ?? null;
  const r = new Reader(vector, { shareInput: true });
  let found: EncryptedGroupSecrets | null = null;
  r.skipVector((r) => {
    const at = r.offset;
    const ref = r.opaque(); // a view: nothing copied
    r.skipOpaque();
    r.skipOpaque();
    if (found === null && bytesEqual(ref, keyPackageRef)) found = decode(r.readSince(at), readEncryptedGroupSecrets, "EncryptedGroupSecrets", { shareInput: true });
  });
  return found;
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

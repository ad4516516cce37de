/**
 * The MLS key schedule (RFC 9420 §8), the exporter (§8.5), the external key pair (§8, §8.3) and
 * the Welcome key and nonce (§12.4.3.1).
 *
 * ```
 *                  init_secret_[n-1]
 *                        |
 *  commit_secret --> KDF.Extract
 *                        |
 *            ExpandWithLabel(., "joiner", GroupContext_[n], KDF.Nh)
 *                        |
 *                   joiner_secret
 *                        |
 * psk_secret (or 0) --> KDF.Extract          (the "intermediate" secret)
 *                        |
 *                        +--> DeriveSecret(., "welcome") = welcome_secret
 *                        |
 *            ExpandWithLabel(., "epoch", GroupContext_[n], KDF.Nh)
 *                        |
 *                   epoch_secret
 *                        |
 *                        +--> DeriveSecret(., <label>) = <secret>   (Table 4)
 *                        |
 *                  DeriveSecret(., "init") = init_secret_[n]
 * ```
 *
 * Every secret has its own branded type so that one cannot be passed where another is expected
 * (an ExporterSecret is not a ConfirmationKey). Secrets that may arrive from outside the schedule
 * (init_secret from an external init, commit_secret from TreeKEM, joiner_secret from a Welcome,
 * psk_secret) are accepted as plain bytes.
 *
 * Deletion (RFC 9420 §9.2): the intermediate secret and epoch_secret never leave this module and
 * are wiped once used. Inputs stay owned by the caller, who should wipe them once the new epoch is
 * in place; so should it wipe joiner_secret and welcome_secret once the Welcome is built or read.
 * @module
 */
import type { CipherSuite, KeyPair } from "../../crypto/cipher-suite.js";
import { deriveSecret, expandWithLabel } from "../../crypto/labeled.js";
import { EMPTY, wipe } from "../../util/bytes.js";

declare const secretBrand: unique symbol;

/** A secret of the key schedule, branded with its RFC 9420 name. */
export type ScheduleSecret<Name extends string> = Uint8Array & { readonly [secretBrand]: Name };

export type JoinerSecret = ScheduleSecret<"joiner_secret">;
export type WelcomeSecret = ScheduleSecret<"welcome_secret">;
export type InitSecret = ScheduleSecret<"init_secret">;
export type SenderDataSecret = ScheduleSecret<"sender_data_secret">;
export type EncryptionSecret = ScheduleSecret<"encryption_secret">;
export type ExporterSecret = ScheduleSecret<"exporter_secret">;
export type ExternalSecret = ScheduleSecret<"external_secret">;
export type ConfirmationKey = ScheduleSecret<"confirmation_key">;
export type MembershipKey = ScheduleSecret<"membership_key">;
export type ResumptionPsk = ScheduleSecret<"resumption_psk">;
export type EpochAuthenticator = ScheduleSecret<"epoch_authenticator">;

/** RFC 9420 §8 Table 4: the secrets derived from epoch_secret, plus init_secret_[n]. */
export interface EpochSecrets {
  /** "sender data": keys protecting PrivateMessage sender data (§6.3.2). */
  readonly senderDataSecret: SenderDataSecret;
  /** "encryption": root of the secret tree (§9). */
  readonly encryptionSecret: EncryptionSecret;
  /** "exporter": input of MLS-Exporter (§8.5). */
  readonly exporterSecret: ExporterSecret;
  /** "external": seed of the external HPKE key pair (§8.3). */
  readonly externalSecret: ExternalSecret;
  /** "confirm": key of the Commit confirmation_tag MAC (§6.1, §8.2). */
  readonly confirmationKey: ConfirmationKey;
  /** "membership": key of the PublicMessage membership_tag MAC (§6.2). */
  readonly membershipKey: MembershipKey;
  /** "resumption": the resumption PSK of this epoch (§8.6). */
  readonly resumptionPsk: ResumptionPsk;
  /** "authentication": the epoch authenticator (§8.7). */
  readonly epochAuthenticator: EpochAuthenticator;
  /** DeriveSecret(epoch_secret, "init"): init_secret_[n], the input to the next epoch. */
  readonly initSecret: InitSecret;
}

/** Everything one run of the key schedule produces. */
export interface KeyScheduleOutput {
  readonly joinerSecret: JoinerSecret;
  readonly welcomeSecret: WelcomeSecret;
  readonly epochSecrets: EpochSecrets;
}

/** Inputs of one run of the key schedule (RFC 9420 §8). */
export interface KeyScheduleInput {
  /** init_secret_[n-1], or the init_secret of an external init (§8.3). */
  readonly initSecret: Uint8Array;
  /** The commit_secret of the Commit (§7.4), or {@link zeroSecret} when it has no path. */
  readonly commitSecret: Uint8Array;
  /** psk_secret (§8.4); the all-zero secret when absent. */
  readonly pskSecret?: Uint8Array;
  /** The encoded GroupContext_[n] of the new epoch (§8.1). */
  readonly groupContext: Uint8Array;
}

/** The all-zero byte string of length KDF.Nh, written `0` in RFC 9420 §8. */
export function zeroSecret(cs: CipherSuite): Uint8Array {
  return new Uint8Array(cs.params.Nh);
}

/**
 * RFC 9420 §8:
 *   joiner_secret = ExpandWithLabel(KDF.Extract(init_secret_[n-1], commit_secret), "joiner", GroupContext_[n], KDF.Nh)
 */
export function deriveJoinerSecret(cs: CipherSuite, initSecret: Uint8Array, commitSecret: Uint8Array, groupContext: Uint8Array): JoinerSecret {
  const extracted = cs.kdfExtract(initSecret, commitSecret);
  const joiner = expandWithLabel(cs, extracted, "joiner", groupContext, cs.params.Nh);
  wipe(extracted);
  return joiner as JoinerSecret;
}

/** RFC 9420 §8: the unnamed KDF.Extract(joiner_secret, psk_secret) below joiner_secret. */
function intermediateSecret(cs: CipherSuite, joinerSecret: Uint8Array, pskSecret: Uint8Array | undefined): Uint8Array {
  return cs.kdfExtract(joinerSecret, pskSecret ?? zeroSecret(cs));
}

/** RFC 9420 §8: welcome_secret = DeriveSecret(KDF.Extract(joiner_secret, psk_secret), "welcome") */
export function deriveWelcomeSecret(cs: CipherSuite, joinerSecret: Uint8Array, pskSecret?: Uint8Array): WelcomeSecret {
  const inter = intermediateSecret(cs, joinerSecret, pskSecret);
  const welcome = deriveSecret(cs, inter, "welcome");
  wipe(inter);
  return welcome as WelcomeSecret;
}

/** RFC 9420 §8 Table 4: every epoch-derived secret, then init_secret_[n]. */
function deriveEpochSecrets(cs: CipherSuite, epochSecret: Uint8Array): EpochSecrets {
  const d = (label: string): Uint8Array => deriveSecret(cs, epochSecret, label);
  return {
    senderDataSecret: d("sender data") as SenderDataSecret,
    encryptionSecret: d("encryption") as EncryptionSecret,
    exporterSecret: d("exporter") as ExporterSecret,
    externalSecret: d("external") as ExternalSecret,
    confirmationKey: d("confirm") as ConfirmationKey,
    membershipKey: d("membership") as MembershipKey,
    resumptionPsk: d("resumption") as ResumptionPsk,
    epochAuthenticator: d("authentication") as EpochAuthenticator,
    initSecret: d("init") as InitSecret,
  };
}

/**
 * The key schedule from joiner_secret on, as run by a new member with the joiner_secret of a
 * Welcome (RFC 9420 §12.4.3.1) and by {@link runKeySchedule}.
 */
export function keyScheduleFromJoiner(
  cs: CipherSuite,
  joinerSecret: Uint8Array,
  pskSecret: Uint8Array | undefined,
  groupContext: Uint8Array,
): { readonly welcomeSecret: WelcomeSecret; readonly epochSecrets: EpochSecrets } {
  const inter = intermediateSecret(cs, joinerSecret, pskSecret);
  const welcomeSecret = deriveSecret(cs, inter, "welcome") as WelcomeSecret;
  // RFC 9420 §8: epoch_secret = ExpandWithLabel(., "epoch", GroupContext_[n], KDF.Nh)
  const epochSecret = expandWithLabel(cs, inter, "epoch", groupContext, cs.params.Nh);
  wipe(inter);
  const epochSecrets = deriveEpochSecrets(cs, epochSecret);
  wipe(epochSecret);
  return { welcomeSecret, epochSecrets };
}

/** One full run of the key schedule (RFC 9420 §8), as run by the committer and existing members. */
export function runKeySchedule(cs: CipherSuite, input: KeyScheduleInput): KeyScheduleOutput {
  const joinerSecret = deriveJoinerSecret(cs, input.initSecret, input.commitSecret, input.groupContext);
  const { welcomeSecret, epochSecrets } = keyScheduleFromJoiner(cs, joinerSecret, input.pskSecret, input.groupContext);
  return { joinerSecret, welcomeSecret, epochSecrets };
}

/** Wipe every secret of an epoch (when the epoch is dropped). */
export function wipeEpochSecrets(s: EpochSecrets): void {
  wipe(
    s.senderDataSecret,
    s.encryptionSecret,
    s.exporterSecret,
    s.externalSecret,
    s.confirmationKey,
    s.membershipKey,
    s.resumptionPsk,
    s.epochAuthenticator,
    s.initSecret,
  );
}

/** RFC 9420 §8: external_priv, external_pub = KEM.DeriveKeyPair(external_secret) */
export function deriveExternalKeyPair(cs: CipherSuite, externalSecret: ExternalSecret): Promise<KeyPair> {
  return cs.hpkeDeriveKeyPair(externalSecret);
}

/** RFC 9420 §8: external_pub, the public half of {@link deriveExternalKeyPair}. */
export async function deriveExternalPub(cs: CipherSuite, externalSecret: ExternalSecret): Promise<Uint8Array> {
  const kp = await cs.hpkeDeriveKeyPair(externalSecret);
  wipe(kp.privateKey);
  return kp.publicKey;
}

/**
 * RFC 9420 §8.5:
 *   MLS-Exporter(Label, Context, Length) =
 *     ExpandWithLabel(DeriveSecret(exporter_secret, Label), "exported", Hash(Context), Length)
 * Labels are strings (the §17.8 registry); the mlswg vectors pass theirs as the string itself.
 */
export function mlsExporter(cs: CipherSuite, exporterSecret: ExporterSecret, label: string, context: Uint8Array, length: number): Uint8Array {
  const derived = deriveSecret(cs, exporterSecret, label);
  const out = expandWithLabel(cs, derived, "exported", cs.hash(context), length);
  wipe(derived);
  return out;
}

/** The AEAD key and nonce that encrypt a Welcome's GroupInfo. */
export interface WelcomeKey {
  readonly key: Uint8Array;
  readonly nonce: Uint8Array;
}

/**
 * RFC 9420 §12.4.3.1:
 *   welcome_nonce = ExpandWithLabel(welcome_secret, "nonce", "", AEAD.Nn)
 *   welcome_key = ExpandWithLabel(welcome_secret, "key", "", AEAD.Nk)
 */
export function deriveWelcomeKey(cs: CipherSuite, welcomeSecret: WelcomeSecret): WelcomeKey {
  return {
    key: expandWithLabel(cs, welcomeSecret, "key", EMPTY, cs.params.Nk),
    nonce: expandWithLabel(cs, welcomeSecret, "nonce", EMPTY, cs.params.Nn),
  };
}

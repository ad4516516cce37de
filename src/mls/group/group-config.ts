/**
 * Per-group policy of the member-side state machine: how handshake messages are framed, padding,
 * ratchet limits, how many past epochs stay decryptable, lifetime checks, the Authentication
 * Service, the external PSK store and the clock. One value per group, carried in every
 * {@link GroupState} (functions included, so it is not part of any persisted form).
 *
 * Nothing here is negotiated on the wire; two members of a group may use different configs
 * (e.g. one sends handshakes as PublicMessage, the other as PrivateMessage). Received handshakes
 * are accepted in either wire format; the config decides what this member sends.
 * @module
 */
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { UsageError } from "../../errors.js";
import { toHex } from "../../util/bytes.js";
import type { AuthenticationService } from "../auth/authentication-service.js";
import { DEFAULT_PADDING, type PaddingPolicy } from "../framing/private-message-protection.js";
import { DEFAULT_RATCHET_LIMITS, type RatchetLimits } from "../schedule/secret-tree.js";
import { DEFAULT_CLOCK_SKEW_SECONDS } from "../tree/leaf-node-ops.js";
import type { SignatureCheck } from "../tree/leaf-signature.js";

/** How this member frames its Proposals and Commits (RFC 9420 §6: handshakes MAY be PublicMessage). */
export type HandshakeWireFormat = "public" | "private";

/** Leaf lifetime policy (RFC 9420 §7.3: MUST for leaves we send, RECOMMENDED for received ones). */
export interface LifetimePolicy {
  /** Check the lifetime of the KeyPackages of received Add proposals. Default true. */
  readonly checkReceived: boolean;
  /**
   * Check the lifetimes of the key_package leaves of a tree we join. Default false: a member that
   * joined long ago and never updated still has its KeyPackage leaf, whose lifetime may have
   * ended, and rejecting the whole group for it would lock joiners out (the check is only
   * RECOMMENDED for received leaves, RFC 9420 §7.3).
   */
  readonly checkTreeOnJoin: boolean;
  /** Tolerated clock difference in seconds. Default {@link DEFAULT_CLOCK_SKEW_SECONDS}. */
  readonly clockSkewSeconds: number;
  /** RFC 9420 §7.2 maximum total lifetime; null: no maximum. Default null. */
  readonly maxLifetimeSeconds: number | null;
}

/**
 * External PSKs (RFC 9420 §8.4, `psktype = external`) known to this client, by `psk_id`.
 * `get` returns null when the PSK is unknown (a lookup miss, not a failure).
 */
export interface ExternalPskStore {
  get(pskId: Uint8Array): Uint8Array | null;
}

/** An {@link ExternalPskStore} over a list of `{pskId, psk}` pairs (ids compared bytewise). */
export function externalPskStore(entries: Iterable<{ readonly pskId: Uint8Array; readonly psk: Uint8Array }>): ExternalPskStore {
  const m = new Map<string, Uint8Array>();
  for (const e of entries) m.set(toHex(e.pskId), e.psk);
  return Object.freeze({ get: (id: Uint8Array) => m.get(toHex(id)) ?? null });
}

export const NO_EXTERNAL_PSKS: ExternalPskStore = Object.freeze({ get: () => null });

/**
 * Verifies a batch of signatures, one result per check (true: valid). Used for the LeafNode
 * signatures of a tree we join (RFC 9420 §7.3, §12.4.3.1), one per member: the dominant cost of
 * joining a large group. A verifier other than the default is called before the rest of the tree
 * is checked and its result awaited afterwards, so it can work on other threads meanwhile.
 */
export type SignatureBatchVerifier = (cs: CipherSuite, checks: readonly SignatureCheck[]) => readonly boolean[] | PromiseLike<readonly boolean[]>;

/** The default {@link SignatureBatchVerifier}: one after the other on the calling thread. */
export const verifySignaturesSequentially: SignatureBatchVerifier = (cs, checks) => checks.map((c) => cs.verify(c.publicKey, c.message, c.signature));

export interface GroupConfig {
  /** Framing of the Proposals and Commits this member sends. Default "private". */
  readonly handshakeWireFormat: HandshakeWireFormat;
  /** Padding of PrivateMessage content (RFC 9420 §6.3.1, §15.1). Default: to a multiple of 32 bytes. */
  readonly padding: PaddingPolicy;
  /** Out-of-order limits of every sender ratchet (RFC 9420 §9.2, §15.3). */
  readonly ratchetLimits: RatchetLimits;
  /**
   * How many epochs before the current one stay decryptable for late application messages
   * (their secret trees are kept; RFC 9420 §12.4.2 "keep the secret tree for a short time").
   * Default 3.
   */
  readonly maxPastEpochs: number;
  /** How many epochs' resumption_psk are kept for PSK proposals (RFC 9420 §8.6 "upper limit"). Default 16. */
  readonly maxResumptionPsks: number;
  readonly lifetime: LifetimePolicy;
  /** Validates every credential that enters the group (RFC 9420 §5.3.1). Required. */
  readonly authenticationService: AuthenticationService;
  /** Put the ratchet tree into GroupInfo (Welcome, published GroupInfo) (RFC 9420 §12.4.3.3). Default true. */
  readonly useRatchetTreeExtension: boolean;
  /** External PSKs for Commits and Welcomes that use them (RFC 9420 §8.4). Default: none. */
  readonly externalPsks: ExternalPskStore;
  /**
   * RFC 9420 §12.4: "A group member that has observed one or more valid proposals within an
   * epoch MUST send a Commit message before sending application data." Default true (enforced).
   */
  readonly commitBeforeApplication: boolean;
  /** The clock, in seconds since the Unix epoch. Default: the system clock. */
  readonly now: () => number;
  /**
   * Verifies the leaf signatures of a tree we join. Default {@link verifySignaturesSequentially};
   * `parallelSignatureVerifier()` of src/mls/parallel (Node) spreads them over worker threads.
   */
  readonly verifySignatures: SignatureBatchVerifier;
}

/** Everything but the Authentication Service has a default. */
export type GroupConfigInput = Partial<Omit<GroupConfig, "lifetime" | "ratchetLimits">> & {
  readonly authenticationService: AuthenticationService;
  readonly lifetime?: Partial<LifetimePolicy>;
  readonly ratchetLimits?: Partial<RatchetLimits>;
};

function nonNegativeInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0) throw new UsageError("bad_config", `"${name}" expected a non-negative integer, got ${v}`);
  return v;
}

/** A complete, frozen {@link GroupConfig} from the given options and the defaults. */
export function groupConfig(input: GroupConfigInput): GroupConfig {
  if (input.authenticationService === undefined) throw new UsageError("bad_config", "a GroupConfig needs an authenticationService (RFC 9420 §5.3.1)");
  const wf = input.handshakeWireFormat ?? "private";
  if (wf !== "public" && wf !== "private") throw new UsageError("bad_config", `"handshakeWireFormat" must be "public" or "private", got ${String(wf)}`);
  const limits = { ...DEFAULT_RATCHET_LIMITS, ...input.ratchetLimits };
  nonNegativeInt("ratchetLimits.maxForwardDistance", limits.maxForwardDistance);
  nonNegativeInt("ratchetLimits.maxPastKeys", limits.maxPastKeys);
  const lifetime: LifetimePolicy = Object.freeze({
    checkReceived: input.lifetime?.checkReceived ?? true,
    checkTreeOnJoin: input.lifetime?.checkTreeOnJoin ?? false,
    clockSkewSeconds: nonNegativeInt("lifetime.clockSkewSeconds", input.lifetime?.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS),
    maxLifetimeSeconds: input.lifetime?.maxLifetimeSeconds ?? null,
  });
  return Object.freeze({
    handshakeWireFormat: wf,
    padding: input.padding ?? DEFAULT_PADDING,
    ratchetLimits: Object.freeze(limits),
    maxPastEpochs: nonNegativeInt("maxPastEpochs", input.maxPastEpochs ?? 3),
    maxResumptionPsks: nonNegativeInt("maxResumptionPsks", input.maxResumptionPsks ?? 16),
    lifetime,
    authenticationService: input.authenticationService,
    useRatchetTreeExtension: input.useRatchetTreeExtension ?? true,
    externalPsks: input.externalPsks ?? NO_EXTERNAL_PSKS,
    commitBeforeApplication: input.commitBeforeApplication ?? true,
    now: input.now ?? (() => Math.floor(Date.now() / 1000)),
    verifySignatures: input.verifySignatures ?? verifySignaturesSequentially,
  });
}

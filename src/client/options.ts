/**
 * Options of the client plugin and their defaults.
 * @module
 */
import type { CryptoProvider } from "../crypto/cipher-suite.js";
import { nativeProvider } from "../crypto/native/index.js";
import { portableProvider } from "../crypto/portable/index.js";
import { UsageError } from "../errors.js";
import type { HandshakeWireFormat } from "../mls/group/group-config.js";
import { MemoryStore, type ClientStore } from "./store/client-store.js";

/** Where the plugin reports what it does. Messages never contain key material. */
export interface Logger {
  debug(msg: string, data?: Record<string, unknown>): void;
  info(msg: string, data?: Record<string, unknown>): void;
  warn(msg: string, data?: Record<string, unknown>): void;
  error(msg: string, data?: Record<string, unknown>): void;
}

export const silentLogger: Logger = Object.freeze({ debug() {}, info() {}, warn() {}, error() {} });

export interface MlsOptions {
  /** Stable device id ([A-Za-z0-9_-]{1,64}). Default: the one stored, else the bound resource. */
  readonly deviceId?: string;
  /** JID of the Delivery Service of our server. Default: discovered (disco#items of our domain). */
  readonly deliveryService?: string;
  /** MLS cipher suite for new groups and KeyPackages. Default 1 (MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519). */
  readonly cipherSuite?: number;
  /** Crypto provider: "native" (node:crypto, default), "portable" (noble + hpke-js) or a provider. */
  readonly crypto?: "native" | "portable" | CryptoProvider;
  /**
   * Spread large batches over worker threads: the member signatures checked when joining a big
   * room, the HPKE seals of a Commit's path. A number is the thread count, `false` none. Default:
   * the shared pool (cores - 1 threads, started on the first batch of 32 or more) with the
   * native provider, none with others.
   */
  readonly workers?: boolean | number;
  /** Persistent state. Default: a MemoryStore (state is lost when the process ends). */
  readonly store?: ClientStore;
  /** Ordinary KeyPackages kept published. Default 10 (the XEP recommends 10 to 100). */
  readonly keyPackagePoolSize?: number;
  /** Publish more when at most this many ordinary KeyPackages are left. Default 2 (the DS default). */
  readonly keyPackageLowWater?: number;
  /** Self-update (a Commit with an UpdatePath) at least this often, in ms, while sending. Default 24 h. */
  readonly updateIntervalMs?: number;
  /** Also self-update after this many sent messages. Default: never by count. */
  readonly updateAfterMessages?: number;
  /** Framing of our Proposals and Commits. Default "public" (lets the DS enforce the room policy). */
  readonly handshakeWireFormat?: HandshakeWireFormat;
  /** Commit pending proposals (e.g. the DS's Removes) after a random delay in [min, max] ms. Default 0..30 s (XEP). */
  readonly proposalCommitDelayMs?: { readonly min: number; readonly max: number };
  /** Attempts for a Commit that keeps losing the epoch race. Default 5 (XEP "Retries"). */
  readonly commitAttempts?: number;
  /** Base of the retry back-off: attempt n waits uniformly 0..2^n × base ms. Default 250. */
  readonly retryBaseDelayMs?: number;
  /** Page size for log and MAM queries. Default 50. */
  readonly pageSize?: number;
  /** Timeout of each request, ms. Default 30 s. */
  readonly requestTimeoutMs?: number;
  /** Room nickname. Default `<localpart>.<device id>`. */
  readonly nick?: (p: { readonly local: string; readonly deviceId: string; readonly room: string }) => string;
  readonly logger?: Logger;
}

export interface ResolvedOptions {
  readonly deviceId: string | undefined;
  readonly deliveryService: string | undefined;
  readonly cipherSuite: number;
  readonly provider: CryptoProvider;
  /** Worker threads for large batches: `true` the shared pool, 0 none. */
  readonly workers: boolean | number;
  readonly store: ClientStore;
  readonly keyPackagePoolSize: number;
  readonly keyPackageLowWater: number;
  readonly updateIntervalMs: number;
  readonly updateAfterMessages: number | undefined;
  readonly handshakeWireFormat: HandshakeWireFormat;
  readonly proposalCommitDelayMs: { readonly min: number; readonly max: number };
  readonly commitAttempts: number;
  readonly retryBaseDelayMs: number;
  readonly pageSize: number;
  readonly requestTimeoutMs: number;
  readonly nick: (p: { readonly local: string; readonly deviceId: string; readonly room: string }) => string;
  readonly logger: Logger;
}

function count(name: string, v: number | undefined, dflt: number, min = 0): number {
  const n = v ?? dflt;
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError("bad_option", `"${name}" must be an integer >= ${min}, got ${String(v)}`);
  return n;
}

export function resolveOptions(o: MlsOptions = {}): ResolvedOptions {
  const provider = o.crypto === undefined || o.crypto === "native" ? nativeProvider : o.crypto === "portable" ? portableProvider : o.crypto;
  const cipherSuite = count("cipherSuite", o.cipherSuite, 1, 1);
  if (!provider.supports(cipherSuite)) throw new UsageError("bad_option", `the ${provider.name} provider does not support cipher suite ${cipherSuite}`);
  const poolSize = count("keyPackagePoolSize", o.keyPackagePoolSize, 10, 1);
  const lowWater = count("keyPackageLowWater", o.keyPackageLowWater, 2);
  if (lowWater >= poolSize) throw new UsageError("bad_option", `"keyPackageLowWater" (${lowWater}) must be below "keyPackagePoolSize" (${poolSize})`);
  const delay = o.proposalCommitDelayMs ?? { min: 0, max: 30_000 };
  if (!(delay.min >= 0 && delay.max >= delay.min)) throw new UsageError("bad_option", `"proposalCommitDelayMs" needs 0 <= min <= max`);
  const wf = o.handshakeWireFormat ?? "public";
  if (wf !== "public" && wf !== "private") throw new UsageError("bad_option", `"handshakeWireFormat" must be "public" or "private"`);
  return {
    deviceId: o.deviceId,
    deliveryService: o.deliveryService,
    cipherSuite,
    provider,
    workers: o.workers === undefined ? provider === nativeProvider : o.workers === false ? 0 : o.workers === true ? true : count("workers", o.workers, 0),
    store: o.store ?? new MemoryStore(),
    keyPackagePoolSize: poolSize,
    keyPackageLowWater: lowWater,
    updateIntervalMs: count("updateIntervalMs", o.updateIntervalMs, 24 * 3600 * 1000, 1),
    updateAfterMessages: o.updateAfterMessages === undefined ? undefined : count("updateAfterMessages", o.updateAfterMessages, 0, 1),
    handshakeWireFormat: wf,
    proposalCommitDelayMs: delay,
    commitAttempts: count("commitAttempts", o.commitAttempts, 5, 1),
    retryBaseDelayMs: count("retryBaseDelayMs", o.retryBaseDelayMs, 250),
    pageSize: count("pageSize", o.pageSize, 50, 1),
    requestTimeoutMs: count("requestTimeoutMs", o.requestTimeoutMs, 30_000, 1),
    nick: o.nick ?? ((p) => `${p.local}.${p.deviceId}`),
    logger: o.logger ?? silentLogger,
  };
}

/**
 * The KeyPackage directory core (protocol §2), protocol-agnostic in the shape of Prosody's
 * `util/pubsub.lua`: methods take the actor (the server-stamped JID) and plain values, return a
 * result or throw a {@link DsError} with a stable code; storage, the KeyPackage validator and the
 * rate limiter are injected. The XEP-0060 stanza layer (publish/retract/items, the `claim` iq,
 * low-water `<message/>`s) sits on top and maps the codes to stanza errors.
 *
 * Rules:
 * - publish: the KeyPackage is valid (injected validator: decode, signature, lifetime,
 *   capabilities), its credential identity is `<publisher bare JID>/<device id>`, the pubsub item
 *   id is its KeyPackageRef, its cipher suite is allowed, and the device holds fewer than the
 *   maximum number of ordinary KeyPackages. A new last-resort KeyPackage replaces the device's
 *   previous one (RFC 9420 §16.8 last resort, one per device).
 * - claim: one KeyPackage per device of the target user for the requested suite, atomically; the
 *   ordinary ones handed out are deleted, last-resort ones stay. Rate limited per requester.
 * - list / retract: only the owner of the node.
 * - low water: devices with at most `lowWaterMark` ordinary KeyPackages (the caller notifies).
 *
 * JIDs: the bare part is compared and stored lowercased (RFC 7622 case-folds local and domain
 * parts); device ids are compared exactly.
 * @module
 */

import { XmppMlsError } from "../errors.js";
import { DsError, RateLimitedError } from "./errors.js";
import type { RateDecision } from "./rate-limit.js";
import type { KeyPackageRecord, KeyPackageStore } from "./store/types.js";
import { bareOf, isBareJid, isFullJid } from "./store/validate.js";

/** What the injected validator learns from a KeyPackage it accepted. */
export interface KeyPackageInfo {
  /** KeyPackageRef (RFC 9420 §5.2), hex. */
  readonly ref: string;
  readonly cipherSuite: number;
  /** The BasicCredential identity as UTF-8, expected `user@domain/<device-id>`. */
  readonly identity: string;
  /** Whether it carries the `last_resort` extension (RFC 9420 §17.3). */
  readonly lastResort: boolean;
}

/**
 * Validates a MLSMessage(KeyPackage) (RFC 9420 §10.1) and throws if it is not acceptable.
 * The real one is built on the MLS engine; tests inject a fake.
 */
export type ValidateKeyPackage = (bytes: Uint8Array) => KeyPackageInfo | Promise<KeyPackageInfo>;

export type DirectoryAction = "publish" | "claim";

/** The part of {@link RateLimiter} the directory uses. */
export interface DirectoryRateLimiter {
  take(jid: string, action: DirectoryAction): RateDecision;
}

export interface KeyDirectoryOptions {
  readonly store: KeyPackageStore;
  readonly validateKeyPackage: ValidateKeyPackage;
  /** Cipher suite ids accepted (config `limits.cipherSuites`). */
  readonly allowedCipherSuites: readonly number[];
  /** Most ordinary KeyPackages per device (config `limits.maxKeyPackagesPerDevice`). */
  readonly maxKeyPackagesPerDevice: number;
  /** Low-water mark (config `limits.keyPackageLowWater`). */
  readonly lowWaterMark: number;
  /** Per bare JID limiter for `publish` and `claim`; none = unlimited. */
  readonly rateLimiter?: DirectoryRateLimiter;
  /** Clock for `createdAt`, ms. Default `Date.now`. */
  readonly now?: () => number;
}

export interface PublishOutcome {
  readonly owner: string;
  readonly deviceId: string;
  readonly ref: string;
  readonly cipherSuite: number;
  readonly lastResort: boolean;
  /** The identical KeyPackage was already stored (re-publishing is idempotent). */
  readonly duplicate: boolean;
  /** The device's previous last-resort KeyPackage, replaced by this one (the caller may send a retract notification). */
  readonly replacedLastResortRef?: string;
}

/** A device at or below the low-water mark. */
export interface LowWaterDevice {
  readonly deviceId: string;
  /** Ordinary KeyPackages left. */
  readonly remaining: number;
  readonly hasLastResort: boolean;
}

export interface ClaimOutcome {
  /** The target's bare JID. */
  readonly jid: string;
  /** One per device, sorted by device id. */
  readonly keyPackages: readonly KeyPackageRecord[];
  /** Devices of the target now at or below the low-water mark: send them a notice. */
  readonly lowWater: readonly LowWaterDevice[];
}

/** Canonical bare JID: the bare part, lowercased. */
function canonicalBare(jid: string): string {
  return bareOf(jid).toLowerCase();
}

function badRequest(what: string): DsError {
  return new DsError("ds.bad_request", what);
}

export class KeyDirectory {
  readonly #o: KeyDirectoryOptions;
  readonly #suites: ReadonlySet<number>;
  readonly #now: () => number;

  constructor(options: KeyDirectoryOptions) {
    this.#o = options;
    this.#suites = new Set(options.allowedCipherSuites);
    this.#now = options.now ?? Date.now;
  }

  /**
   * Publish a KeyPackage on the publisher's node.
   * @param publisherJid server-stamped `from` of the publish request
   * @param deviceId the `device` attribute
   * @param itemId the pubsub item id (must be the KeyPackageRef)
   * @param keyPackage MLSMessage(KeyPackage) bytes
   * @throws DsError `ds.bad_request`, `ds.rate_limited`, `ds.invalid_key_package`, `ds.identity_mismatch`,
   *   `ds.item_id_mismatch`, `ds.unsupported_cipher_suite`, `ds.too_many_key_packages`, `ds.ref_conflict`
   */
  async publish(publisherJid: string, deviceId: string, itemId: string, keyPackage: Uint8Array): Promise<PublishOutcome> {
    const owner = this.#actor(publisherJid, "publisherJid");
    if (typeof deviceId !== "string" || !/^[^\s\u0000-\u001f\u007f]{1,256}$/u.test(deviceId)) {
      throw badRequest("device id must be 1..256 printable characters without whitespace");
    }
    if (typeof itemId !== "string" || itemId.length === 0) throw badRequest("item id is required");
    if (!(keyPackage instanceof Uint8Array) || keyPackage.length === 0) throw badRequest("KeyPackage bytes are required");
    this.#limit(owner, "publish");

    // Validation first of the content checks: nothing below may trust an unverified KeyPackage.
    const info = await this.#validate(keyPackage);
    const ref = info.ref.toLowerCase();
    const expected = `${owner}/${deviceId}`;
    const slash = info.identity.indexOf("/");
    const identityOk = slash > 0 && canonicalBare(info.identity) === owner && info.identity.slice(slash + 1) === deviceId;
    if (!identityOk) throw new DsError("ds.identity_mismatch", `KeyPackage identity is not ${expected}`);
    if (itemId !== ref) throw new DsError("ds.item_id_mismatch", "item id must be the KeyPackageRef in lowercase hex");
    if (!this.#suites.has(info.cipherSuite)) {
      throw new DsError("ds.unsupported_cipher_suite", `cipher suite ${info.cipherSuite} is not allowed here`);
    }

    const result = this.#o.store.publishKeyPackage(
      { owner, deviceId, ref, cipherSuite: info.cipherSuite, lastResort: info.lastResort, bytes: keyPackage, createdAt: this.#now() },
      { maxOrdinaryPerDevice: this.#o.maxKeyPackagesPerDevice },
    );
    const base = { owner, deviceId, ref, cipherSuite: info.cipherSuite, lastResort: info.lastResort };
    switch (result.kind) {
      case "duplicate":
        return { ...base, duplicate: true };
      case "limitReached":
        throw new DsError("ds.too_many_key_packages", `device already has ${result.count} KeyPackages (maximum ${this.#o.maxKeyPackagesPerDevice})`);
      case "stored":
        return result.replacedLastResortRef === undefined
          ? { ...base, duplicate: false }
          : { ...base, duplicate: false, replacedLastResortRef: result.replacedLastResortRef };
    }
  }

  /**
   * Claim one KeyPackage per device of `targetJid` for `cipherSuite` (protocol §2 claim).
   * @throws DsError `ds.bad_request`, `ds.rate_limited`, `ds.unsupported_cipher_suite`, `ds.no_key_packages`
   */
  claim(requesterJid: string, targetJid: string, cipherSuite: number): ClaimOutcome {
    const requester = this.#actor(requesterJid, "requesterJid");
    if (!isBareJid(targetJid)) throw badRequest("the claimed jid must be a bare JID");
    const target = canonicalBare(targetJid);
    if (!Number.isSafeInteger(cipherSuite) || cipherSuite < 1 || cipherSuite > 0xffff) throw badRequest("cipher suite must be an integer in 1..65535");
    this.#limit(requester, "claim");
    if (!this.#suites.has(cipherSuite)) throw new DsError("ds.unsupported_cipher_suite", `cipher suite ${cipherSuite} is not allowed here`);
    const keyPackages = this.#o.store.claimKeyPackages(target, cipherSuite);
    if (keyPackages.length === 0) throw new DsError("ds.no_key_packages", `no KeyPackages of ${target} for cipher suite ${cipherSuite}`);
    return { jid: target, keyPackages, lowWater: this.lowWater(target) };
  }

  /**
   * The KeyPackages on `ownerJid`'s node; only the owner may list them.
   * @throws DsError `ds.bad_request`, `ds.forbidden`
   */
  list(requesterJid: string, ownerJid: string): KeyPackageRecord[] {
    return this.#o.store.listKeyPackages(this.#ownerOnly(requesterJid, ownerJid));
  }

  /**
   * Delete one KeyPackage from `ownerJid`'s node; only the owner may.
   * @throws DsError `ds.bad_request`, `ds.forbidden`, `ds.item_not_found`
   */
  retract(requesterJid: string, ownerJid: string, ref: string): void {
    const owner = this.#ownerOnly(requesterJid, ownerJid);
    if (typeof ref !== "string" || !/^(?:[0-9a-f]{2}){1,255}$/.test(ref)) throw new DsError("ds.item_not_found", "no such KeyPackage");
    if (!this.#o.store.retractKeyPackage(owner, ref)) throw new DsError("ds.item_not_found", "no such KeyPackage");
  }

  /** Devices of `ownerJid` with at most `lowWaterMark` ordinary KeyPackages left, by device id. */
  lowWater(ownerJid: string): LowWaterDevice[] {
    if (!isBareJid(ownerJid) && !isFullJid(ownerJid)) throw badRequest("owner must be a JID");
    return this.#o.store
      .countKeyPackages(canonicalBare(ownerJid))
      .filter((d) => d.ordinary <= this.#o.lowWaterMark)
      .map((d) => ({ deviceId: d.deviceId, remaining: d.ordinary, hasLastResort: d.hasLastResort }));
  }

  /** The canonical bare JID of a server-stamped actor. */
  #actor(jid: string, name: string): string {
    if (!isBareJid(jid) && !isFullJid(jid)) throw badRequest(`${name} must be a JID`);
    return canonicalBare(jid);
  }

  #ownerOnly(requesterJid: string, ownerJid: string): string {
    const requester = this.#actor(requesterJid, "requesterJid");
    if (!isBareJid(ownerJid)) throw badRequest("the node owner must be a bare JID");
    const owner = canonicalBare(ownerJid);
    if (requester !== owner) throw new DsError("ds.forbidden", "only the owner may list or retract KeyPackages");
    return owner;
  }

  #limit(jid: string, action: DirectoryAction): void {
    const d = this.#o.rateLimiter?.take(jid, action);
    if (d !== undefined && !d.allowed) throw new RateLimitedError(action, d.retryAfterMs);
  }

  async #validate(bytes: Uint8Array): Promise<KeyPackageInfo> {
    let info: KeyPackageInfo;
    try {
      info = await this.#o.validateKeyPackage(bytes);
    } catch (e) {
      if (e instanceof DsError) throw e;
      const why = e instanceof XmppMlsError ? ` (${e.code})` : "";
      throw new DsError("ds.invalid_key_package", `KeyPackage rejected${why}`, { cause: e });
    }
    if (
      typeof info !== "object" ||
      info === null ||
      typeof info.ref !== "string" ||
      !/^(?:[0-9a-fA-F]{2})+$/.test(info.ref) ||
      typeof info.identity !== "string" ||
      typeof info.lastResort !== "boolean" ||
      !Number.isSafeInteger(info.cipherSuite)
    ) {
      throw new DsError("ds.invalid_key_package", "KeyPackage validator returned an unusable result");
    }
    return info;
  }
}

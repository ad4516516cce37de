/**
 * Errors raised by the Delivery Service core (store, key directory, configuration).
 *
 * Every class extends {@link XmppMlsError} and carries a stable `code`. The stanza layer
 * (src/xmpp/, the error registry) maps each `ds.*` code to an XMPP stanza error type, defined
 * condition and application-specific element, Prosody `errors.init` style; handlers only throw.
 *
 * Messages never contain secrets, key material or payload bytes.
 * @module
 */

import { XmppMlsError, type XmppMlsErrorOptions } from "../errors.js";

/**
 * Stable codes of the Delivery Service core. Keys are the codes themselves so that
 * `dsErrorCodes["ds.no_key_packages"]` documents and type-checks a code at once.
 */
export const dsErrorCodes = {
  /** The KeyPackage credential identity is not `<publisher bare JID>/<device id>`. */
  "ds.identity_mismatch": "KeyPackage identity does not match the publisher",
  /** The pubsub item id is not the KeyPackageRef (lowercase hex) of the published KeyPackage. */
  "ds.item_id_mismatch": "item id is not the KeyPackageRef",
  /** The KeyPackage failed validation (decode, signature, lifetime, capabilities). */
  "ds.invalid_key_package": "invalid KeyPackage",
  /** The cipher suite is not allowed by this service's policy. */
  "ds.unsupported_cipher_suite": "cipher suite not allowed",
  /** The device already holds the maximum number of ordinary KeyPackages. */
  "ds.too_many_key_packages": "too many KeyPackages for this device",
  /** No device of the target user has a KeyPackage for the requested suite. */
  "ds.no_key_packages": "no KeyPackages available",
  /** The same KeyPackageRef is already stored with different content or owner. */
  "ds.ref_conflict": "KeyPackageRef already stored with different content",
  /** The requester may not perform this operation (e.g. list someone else's node). */
  "ds.forbidden": "forbidden",
  /** A per-JID rate limit was hit; see {@link RateLimitedError.retryAfterMs}. */
  "ds.rate_limited": "rate limited",
  /** The addressed item (KeyPackage) does not exist. */
  "ds.item_not_found": "item not found",
  /** The addressed group is not registered with this service. */
  "ds.unknown_group": "unknown group",
  /** A group with this id or room is already registered. */
  "ds.group_exists": "group already registered",
  /** The submission is for an epoch other than the group's current epoch. */
  "ds.wrong_epoch": "wrong epoch",
  /** A request argument is malformed (JID, device id, hex, ...). */
  "ds.bad_request": "bad request",
} as const;

export type DsErrorCode = keyof typeof dsErrorCodes;

/** An error of the Delivery Service core with a stable `ds.*` code. */
export class DsError extends XmppMlsError {
  declare readonly code: DsErrorCode;
  constructor(code: DsErrorCode, message?: string, options?: XmppMlsErrorOptions) {
    super(code, message ?? dsErrorCodes[code], options);
  }
}

/** A per-(JID, action) rate limit was exceeded. */
export class RateLimitedError extends DsError {
  /** Milliseconds after which one more request of this kind would be allowed. */
  readonly retryAfterMs: number;
  readonly action: string;
  constructor(action: string, retryAfterMs: number) {
    super("ds.rate_limited", `rate limit for "${action}" exceeded; retry after ${Math.ceil(retryAfterMs)} ms`);
    this.action = action;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The group is at another epoch than the one the submission was made for. */
export class WrongEpochError extends DsError {
  readonly currentEpoch: bigint;
  constructor(currentEpoch: bigint, submittedEpoch: bigint) {
    super("ds.wrong_epoch", `submission for epoch ${submittedEpoch}, group is at epoch ${currentEpoch}`);
    this.currentEpoch = currentEpoch;
  }
}

/** Storage failures that are not about the request: schema version, open failures. */
export type StoreErrorCode = "store.schema_too_new" | "store.open_failed" | "store.migration_failed" | "store.closed";

export class StoreError extends XmppMlsError {
  declare readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: XmppMlsErrorOptions) {
    super(code, message, options);
  }
}

/** One problem found in the configuration: where (`$.limits.maxStanzaBytes`, `env:XMPP_MLS_DB`) and what. */
export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * The gateway configuration is unusable. `problems` lists every problem found (not only the
 * first), each with its JSON path. Values are never echoed, so a misplaced secret cannot leak.
 */
export class ConfigError extends XmppMlsError {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[], options?: XmppMlsErrorOptions) {
    const n = problems.length;
    const lines = problems.map((p) => `  ${p.path}: ${p.message}`);
    super("config.invalid", `invalid gateway configuration (${n} problem${n === 1 ? "" : "s"}):\n${lines.join("\n")}`, options);
    this.problems = problems;
  }
}

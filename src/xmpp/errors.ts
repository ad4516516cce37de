/**
 * Stanza errors of xmpp-mls (XEP "Error Conditions") and the one registry that maps our domain
 * error codes to them, in the style of Prosody's `errors.init` tables.
 *
 *   handler throws XmppProtocolError("ds.wrong_epoch", …, { current: 5n })
 *     → toErrorElement(err) → <error type='modify'><conflict xmlns='…stanzas'/><text>…</text>
 *                              <wrong-epoch xmlns='urn:x-xmpp-mls:0' current='5'/></error>
 *   <error/> from a remote entity → fromErrorElement(el) → XmppProtocolError with the same code
 *
 * References: RFC 6120 §8.3 (stanza errors), XEP-0086 (legacy codes are not used).
 * @module
 */
import { CodecError, CryptoError, UsageError, ValidationError, XmppMlsError } from "../errors.js";
import { NS_MLS, NS_STANZAS } from "./ns.js";
import { Element, isElement, xml } from "./xml.js";

/** RFC 6120 §8.3.2 */
export type StanzaErrorType = "auth" | "cancel" | "continue" | "modify" | "wait";

/** RFC 6120 §8.3.3 (the conditions this protocol uses, plus the generic fallbacks). */
export type StanzaErrorCondition =
  | "bad-request" | "conflict" | "feature-not-implemented" | "forbidden" | "internal-server-error"
  | "item-not-found" | "not-acceptable" | "not-allowed" | "not-authorized" | "policy-violation"
  | "remote-server-not-found" | "remote-server-timeout" | "resource-constraint"
  | "service-unavailable" | "undefined-condition" | "unexpected-request";

/** Application-specific condition elements in {@link NS_MLS} (XEP "Error Conditions"). */
export type AppCondition =
  | { readonly name: "wrong-epoch"; readonly current: bigint }
  | { readonly name: "epoch-expired"; readonly oldest: bigint }
  | { readonly name: "policy-violation"; readonly reason?: string }
  | { readonly name: "invalid-message"; readonly reason: string }
  | { readonly name: "too-large"; readonly max: number }
  | { readonly name: "rate-limited"; readonly retryAfter?: number }
  | { readonly name: "unknown-group" }
  | { readonly name: "group-exists" }
  | { readonly name: "no-key-packages" };
export type AppConditionName = AppCondition["name"];

interface ErrorSpec {
  readonly type: StanzaErrorType;
  readonly condition: StanzaErrorCondition;
  readonly app?: AppConditionName;
  /** Fixed `reason` for policy-violation / invalid-message. */
  readonly reason?: string;
  readonly text: string;
}

const badRequest = (text: string): ErrorSpec => ({ type: "modify", condition: "bad-request", text });
const invalid = (reason: string, text: string): ErrorSpec =>
  ({ type: "modify", condition: "bad-request", app: "invalid-message", reason, text });
const policy = (type: StanzaErrorType, condition: StanzaErrorCondition, reason: string | undefined, text: string): ErrorSpec =>
  reason === undefined ? { type, condition, app: "policy-violation", text } : { type, condition, app: "policy-violation", reason, text };

/** Domain code → stanza error. Keep in sync with the XEP's error table. */
export const ERRORS = {
  // XML layer: raised by the parse functions of src/xmpp.
  "xmpp.malformed": badRequest("malformed element"),
  "xmpp.missing_attribute": badRequest("required attribute missing"),
  "xmpp.bad_attribute": badRequest("attribute value not allowed"),
  "xmpp.unexpected_element": badRequest("unexpected element"),
  "xmpp.wrong_namespace": badRequest("element in the wrong namespace"),
  "xmpp.bad_base64": badRequest("payload is not canonical base64"),
  "xmpp.bad_hex": badRequest("identifier is not lowercase hex"),
  "xmpp.unknown_kind": badRequest("unknown kind"),
  "xmpp.bad_envelope": badRequest("invalid SCE envelope"),
  "xmpp.too_large": { type: "modify", condition: "policy-violation", app: "too-large", text: "payload exceeds the size limit" },
  "xmpp.remote_error": { type: "cancel", condition: "undefined-condition", text: "remote error" },
  // KeyPackage directory (codes shared with src/component/errors.ts).
  "ds.no_key_packages": { type: "cancel", condition: "item-not-found", app: "no-key-packages", text: "no KeyPackages available" },
  "ds.forbidden": { type: "auth", condition: "forbidden", text: "forbidden" },
  "ds.invalid_key_package": invalid("invalid-key-package", "KeyPackage failed validation"),
  "ds.identity_mismatch": invalid("identity-mismatch", "credential identity does not match the publisher"),
  "ds.item_id_mismatch": invalid("ref-mismatch", "item id is not the KeyPackageRef"),
  "ds.unsupported_cipher_suite": policy("modify", "not-acceptable", "cipher-suite", "cipher suite not supported"),
  "ds.too_many_key_packages": policy("cancel", "not-allowed", "quota", "too many KeyPackages for this device"),
  "ds.ref_conflict": { type: "cancel", condition: "conflict", text: "KeyPackageRef already stored with different content" },
  "ds.item_not_found": { type: "cancel", condition: "item-not-found", text: "item not found" },
  "ds.bad_request": badRequest("bad request"),
  // Delivery Service.
  "ds.unknown_group": { type: "cancel", condition: "item-not-found", app: "unknown-group", text: "unknown group" },
  "ds.group_exists": { type: "cancel", condition: "conflict", app: "group-exists", text: "group or room already bound" },
  // RFC 6120 §8.3.2: "modify" = retry after changing the data; a losing commit must be rebased.
  "ds.wrong_epoch": { type: "modify", condition: "conflict", app: "wrong-epoch", text: "epoch is not the current epoch" },
  "ds.epoch_expired": { type: "cancel", condition: "item-not-found", app: "epoch-expired", text: "epoch no longer in the log" },
  "ds.not_owner": policy("auth", "forbidden", "not-owner", "requester is not a room owner"),
  "ds.not_member": policy("auth", "forbidden", "not-member", "requester is not a room member"),
  "ds.untrusted_relay": policy("auth", "forbidden", "untrusted-relay", "relaying entity is not trusted for the origin"),
  "ds.room_not_configured": policy("cancel", "not-allowed", "room-config", "room configuration does not meet requirements"),
  "ds.policy_violation": policy("cancel", "not-allowed", undefined, "operation not allowed by group policy"),
  "ds.invalid_message": { type: "modify", condition: "bad-request", app: "invalid-message", text: "MLS message failed validation" },
  "ds.missing_welcome": invalid("missing-welcome", "commit adds members but carries no Welcome"),
  "ds.binding_mismatch": invalid("binding-mismatch", "xmpp_binding does not name this room and DS"),
  "ds.rate_limited": { type: "wait", condition: "resource-constraint", app: "rate-limited", text: "rate limit exceeded" },
  "ds.remote_timeout": { type: "wait", condition: "remote-server-timeout", text: "hub did not answer" },
  "ds.remote_not_found": { type: "cancel", condition: "remote-server-not-found", text: "hub unreachable" },
  "ds.not_implemented": { type: "cancel", condition: "feature-not-implemented", text: "not implemented" },
  "ds.internal": { type: "cancel", condition: "internal-server-error", text: "internal error" },
} as const satisfies Record<string, ErrorSpec>;

export type ProtocolErrorCode = keyof typeof ERRORS;

export function isProtocolErrorCode(code: string): code is ProtocolErrorCode {
  return Object.hasOwn(ERRORS, code);
}

/** Values for the attributes of the application-specific element. */
export interface ErrorDetails {
  readonly current?: bigint;
  readonly oldest?: bigint;
  readonly max?: number;
  readonly retryAfter?: number;
  /** Overrides a registry entry without a fixed reason (ds.invalid_message, ds.policy_violation). */
  readonly reason?: string;
  readonly cause?: unknown;
}

/** What a received `<error/>` said, when it does not match the registry exactly. */
interface WireError {
  readonly type: StanzaErrorType;
  readonly condition: StanzaErrorCondition;
  readonly app: AppCondition | undefined;
}

/** A stanza-level protocol error: XMPP `type`, `condition` and optional app-specific element. */
export class XmppProtocolError extends XmppMlsError {
  override readonly code: ProtocolErrorCode;
  readonly type: StanzaErrorType;
  readonly condition: StanzaErrorCondition;
  readonly app: AppCondition | undefined;

  /**
   * @param details attribute values of the app element; a missing required one (e.g. `current`
   *   for ds.wrong_epoch) is a UsageError unless `lenient`, which then omits the app element.
   */
  constructor(code: ProtocolErrorCode, message?: string, details: ErrorDetails = {}, wire?: WireError, lenient = false) {
    const spec: ErrorSpec = ERRORS[code];
    super(code, message ?? spec.text, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.type = wire?.type ?? spec.type;
    this.condition = wire?.condition ?? spec.condition;
    this.app = wire ? wire.app : appFor(spec, details, code, lenient);
  }
}

function appFor(spec: ErrorSpec, d: ErrorDetails, code: string, lenient: boolean): AppCondition | undefined {
  const missing = (v: unknown, attr: string): boolean => {
    if (v !== undefined) return false;
    if (lenient) return true;
    throw new UsageError("usage.missing_error_detail", `${code} needs "${attr}"`);
  };
  switch (spec.app) {
    case undefined: return undefined;
    case "wrong-epoch": return missing(d.current, "current") ? undefined : { name: spec.app, current: d.current! };
    case "epoch-expired": return missing(d.oldest, "oldest") ? undefined : { name: spec.app, oldest: d.oldest! };
    case "too-large": return missing(d.max, "max") ? undefined : { name: spec.app, max: d.max! };
    case "rate-limited": return okCount(d.retryAfter) ? { name: spec.app, retryAfter: d.retryAfter! } : { name: spec.app };
    case "invalid-message": return { name: spec.app, reason: spec.reason ?? okReason(d.reason) ?? "invalid" };
    case "policy-violation": {
      const reason = spec.reason ?? okReason(d.reason);
      return reason === undefined ? { name: spec.app } : { name: spec.app, reason };
    }
    default: return { name: spec.app };
  }
}

const REASON = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const okReason = (r: string | undefined): string | undefined => (r !== undefined && r.length <= 64 && REASON.test(r) ? r : undefined);
const okCount = (n: number | undefined): boolean => n !== undefined && Number.isSafeInteger(n) && n >= 0 && n <= 0xffffffff;

/** Builds the app-specific condition element. */
export function buildAppCondition(app: AppCondition): Element {
  switch (app.name) {
    case "wrong-epoch": return xml(app.name, { xmlns: NS_MLS, current: app.current.toString() });
    case "epoch-expired": return xml(app.name, { xmlns: NS_MLS, oldest: app.oldest.toString() });
    case "too-large": return xml(app.name, { xmlns: NS_MLS, max: app.max });
    case "rate-limited": return xml(app.name, { xmlns: NS_MLS, "retry-after": app.retryAfter });
    case "invalid-message": return xml(app.name, { xmlns: NS_MLS, reason: app.reason });
    case "policy-violation": return xml(app.name, { xmlns: NS_MLS, reason: app.reason });
    default: return xml(app.name, { xmlns: NS_MLS });
  }
}

/**
 * Turns anything a handler threw into an RFC 6120 `<error/>` element. Errors outside this
 * registry become `internal-server-error` without text, so nothing internal leaks.
 */
export function toErrorElement(err: unknown): Element {
  const e = asProtocolError(err);
  const children: Element[] = [xml(e.condition, { xmlns: NS_STANZAS })];
  if (e.code !== "ds.internal") children.push(xml("text", { xmlns: NS_STANZAS }, e.message));
  if (e.app) children.push(buildAppCondition(e.app));
  return xml("error", { type: e.type }, ...children);
}

function asProtocolError(err: unknown): XmppProtocolError {
  if (err instanceof XmppProtocolError) return err;
  if (err instanceof XmppMlsError && isProtocolErrorCode(err.code)) return new XmppProtocolError(err.code, err.message, detailsOf(err), undefined, true);
  if (err instanceof CodecError) return new XmppProtocolError("ds.invalid_message", err.message, { reason: "malformed", cause: err });
  if (err instanceof ValidationError) return new XmppProtocolError("ds.invalid_message", err.message, { reason: "invalid", cause: err });
  if (err instanceof CryptoError) return new XmppProtocolError("ds.invalid_message", err.message, { reason: "verification-failed", cause: err });
  return new XmppProtocolError("ds.internal", undefined, { cause: err });
}

/** App-element values carried by domain errors of other layers (duck-typed, e.g. WrongEpochError). */
function detailsOf(err: XmppMlsError): ErrorDetails {
  const e = err as unknown as Record<string, unknown>;
  const big = (...keys: string[]): bigint | undefined => {
    for (const k of keys) if (typeof e[k] === "bigint") return e[k] as bigint;
    return undefined;
  };
  const current = big("current", "currentEpoch");
  const oldest = big("oldest", "oldestEpoch");
  const max = typeof e.max === "number" ? e.max : undefined;
  const retryAfter = typeof e.retryAfter === "number" ? e.retryAfter
    : typeof e.retryAfterMs === "number" ? Math.ceil(e.retryAfterMs / 1000) : undefined;
  const reason = typeof e.reason === "string" ? e.reason : undefined;
  return {
    cause: err,
    ...(current !== undefined && { current }), ...(oldest !== undefined && { oldest }),
    ...(max !== undefined && { max }), ...(retryAfter !== undefined && { retryAfter }),
    ...(reason !== undefined && { reason }),
  };
}

const TYPES: readonly StanzaErrorType[] = ["auth", "cancel", "continue", "modify", "wait"];

/**
 * Reads an `<error/>` element (the child of an iq/message of type error) back into a typed error.
 * The code is the registry entry with the same condition, app element and reason; unknown
 * combinations keep their wire values under `xmpp.remote_error`.
 */
export function fromErrorElement(errorEl: Element): XmppProtocolError {
  const kids = errorEl.getChildElements();
  const condEl = kids.find((k) => k.getNS() === NS_STANZAS && k.getName() !== "text");
  const condition = (condEl?.getName() ?? "undefined-condition") as StanzaErrorCondition;
  const rawType = errorEl.attrs.type;
  const type: StanzaErrorType = TYPES.find((t) => t === rawType) ?? "cancel";
  const text = kids.find((k) => k.getNS() === NS_STANZAS && k.getName() === "text")?.getText();
  const appEl = kids.find((k) => k.getNS() === NS_MLS);
  const app = appEl ? readAppCondition(appEl) : undefined;
  const wire: WireError = { type, condition, app };
  return new XmppProtocolError(matchCode(wire), text || undefined, {}, wire);
}

function matchCode(w: WireError): ProtocolErrorCode {
  const reason = w.app && "reason" in w.app ? w.app.reason : undefined;
  let loose: ProtocolErrorCode | undefined;
  for (const code of Object.keys(ERRORS) as ProtocolErrorCode[]) {
    const s: ErrorSpec = ERRORS[code];
    if (s.condition !== w.condition || s.app !== w.app?.name) continue;
    if (s.reason === reason) return code;
    if (s.reason === undefined) loose ??= code;
  }
  return loose ?? "xmpp.remote_error";
}

const COUNTER = /^(0|[1-9][0-9]{0,19})$/;
const U64_MAX = (1n << 64n) - 1n;

function counterAttr(el: Element, name: string): bigint | undefined {
  const v = el.attrs[name];
  if (v === undefined || !COUNTER.test(v)) return undefined;
  const n = BigInt(v);
  return n <= U64_MAX ? n : undefined;
}

function smallAttr(el: Element, name: string): number | undefined {
  const n = counterAttr(el, name);
  return n !== undefined && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : undefined;
}

/** Lenient on purpose: a malformed app element from a peer degrades to "no app element". */
function readAppCondition(el: Element): AppCondition | undefined {
  const name = el.getName();
  const reason = el.attrs.reason;
  switch (name) {
    case "wrong-epoch": { const current = counterAttr(el, "current"); return current === undefined ? undefined : { name, current }; }
    case "epoch-expired": { const oldest = counterAttr(el, "oldest"); return oldest === undefined ? undefined : { name, oldest }; }
    case "too-large": { const max = smallAttr(el, "max"); return max === undefined ? undefined : { name, max }; }
    case "rate-limited": { const retryAfter = smallAttr(el, "retry-after"); return retryAfter === undefined ? { name } : { name, retryAfter }; }
    case "invalid-message": return reason ? { name, reason } : undefined;
    case "policy-violation": return reason ? { name, reason } : { name };
    case "unknown-group": case "group-exists": case "no-key-packages": return { name };
    default: return undefined;
  }
}

/** True if `el` is an `<error/>` child we can read (helper for callers holding a whole stanza). */
export function findErrorElement(stanza: Element): Element | undefined {
  return stanza.children.find((c): c is Element => isElement(c) && c.getName() === "error");
}

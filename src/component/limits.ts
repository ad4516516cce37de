/**
 * Request limits of the Delivery Service (RFC 9750 §8.1.3, XEP "Error Conditions"):
 *
 * - stanza size: an incoming request larger than `limits.maxStanzaBytes` (UTF-8 bytes of its XML)
 *   is refused with `policy-violation` + `<too-large max=…/>` before it is parsed further;
 * - payload size: every base64 payload is capped at `limits.maxPayloadBytes` decoded octets by
 *   the stanza parsers of src/xmpp (same error), via {@link RequestLimits.parseLimits};
 * - rate: per bare JID token buckets for `submit`, `publish` and `claim` (config
 *   `limits.rateLimits`), refused with `resource-constraint` + `<rate-limited retry-after=…/>`.
 * @module
 */
import type { Limits } from "./config.js";
import { RateLimitedError } from "./errors.js";
import type { DirectoryRateLimiter } from "./key-directory.js";
import { RateLimiter } from "./rate-limit.js";
import { bareOf } from "./store/validate.js";
import { XmppProtocolError } from "../xmpp/errors.js";
import type { Limits as ParseLimits } from "../xmpp/values.js";
import type { Element } from "../xmpp/xml.js";

/** Rate-limited request kinds. */
export type RateAction = "publish" | "claim" | "submit";

export interface RequestLimitsOptions {
  /** Clock for the token buckets, ms. Default `Date.now`. */
  readonly now?: () => number;
}

export class RequestLimits {
  readonly maxStanzaBytes: number;
  readonly maxPayloadBytes: number;
  /** Caps handed to the src/xmpp parsers. */
  readonly parseLimits: Partial<ParseLimits>;
  readonly #limiter: RateLimiter<RateAction>;

  constructor(limits: Limits, options: RequestLimitsOptions = {}) {
    this.maxStanzaBytes = limits.maxStanzaBytes;
    this.maxPayloadBytes = limits.maxPayloadBytes;
    this.parseLimits = { maxPayloadBytes: limits.maxPayloadBytes };
    const r = limits.rateLimits;
    this.#limiter = new RateLimiter<RateAction>({
      rules: { submit: { perMinute: r.submitPerMinute }, publish: { perMinute: r.publishPerMinute }, claim: { perMinute: r.claimPerMinute } },
      ...(options.now !== undefined && { now: options.now }),
    });
  }

  /** @throws XmppProtocolError `xmpp.too_large` when the serialised stanza exceeds the cap. */
  checkStanzaSize(stanza: Element): void {
    const size = Buffer.byteLength(stanza.toString(), "utf8");
    if (size > this.maxStanzaBytes) {
      throw new XmppProtocolError("xmpp.too_large", `stanza of ${size} bytes exceeds the limit of ${this.maxStanzaBytes}`, { max: this.maxStanzaBytes });
    }
  }

  /** Take one token of `action` for the bare JID of `jid`. @throws RateLimitedError */
  take(jid: string, action: RateAction): void {
    const d = this.#limiter.take(bareOf(jid).toLowerCase(), action);
    if (!d.allowed) throw new RateLimitedError(action, d.retryAfterMs);
  }

  /** The same buckets, in the shape the key directory takes. */
  get directoryLimiter(): DirectoryRateLimiter {
    return { take: (jid, action) => this.#limiter.take(bareOf(jid).toLowerCase(), action) };
  }
}

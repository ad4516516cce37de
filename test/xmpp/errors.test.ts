import { describe, expect, it } from "vitest";
import { dsErrorCodes } from "../../src/component/errors.js";
import { CodecError, CryptoError, InternalError, UsageError, ValidationError, XmppMlsError } from "../../src/errors.js";
import {
  ERRORS, fromErrorElement, isProtocolErrorCode, NS_MLS, NS_STANZAS, parseStrictXml, toErrorElement,
  XmppProtocolError, type ProtocolErrorCode,
} from "../../src/xmpp/index.js";

const details = { current: 5n, oldest: 2n, max: 65536, retryAfter: 10, reason: "not-affiliated" };

describe("error registry", () => {
  const wire = (code: ProtocolErrorCode): string => {
    const s: { type: string; condition: string; app?: string; reason?: string } = ERRORS[code];
    return `${s.type}|${s.condition}|${s.app ?? ""}|${s.reason ?? ""}`;
  };

  it("every entry round-trips through <error/>; codes with a unique wire form come back exactly", () => {
    const codes = Object.keys(ERRORS) as ProtocolErrorCode[];
    let exact = 0;
    for (const code of codes) {
      const err = new XmppProtocolError(code, "why", details);
      const back = fromErrorElement(parseStrictXml(toErrorElement(err).toString()));
      expect({ type: back.type, condition: back.condition, app: back.app }).toEqual({ type: err.type, condition: err.condition, app: err.app });
      expect(wire(back.code)).toBe(wire(code));
      if (codes.filter((c) => wire(c) === wire(code)).length === 1) {
        expect(back.code).toBe(code);
        exact++;
      }
    }
    expect(exact).toBeGreaterThan(20);
  });

  it("wrong-epoch: <conflict/> type modify with current epoch", () => {
    const el = toErrorElement(new XmppProtocolError("ds.wrong_epoch", undefined, { current: 6n }));
    expect(el.attrs.type).toBe("modify");
    expect(el.getChild("conflict", NS_STANZAS)).toBeDefined();
    expect(el.getChild("wrong-epoch", NS_MLS)?.attrs.current).toBe("6");
    expect(el.getChildText("text", NS_STANZAS)).toBe("epoch is not the current epoch");
  });

  it("missing required detail is a UsageError at construction", () => {
    expect(() => new XmppProtocolError("ds.wrong_epoch")).toThrow(UsageError);
    expect(() => new XmppProtocolError("xmpp.too_large")).toThrow(UsageError);
  });

  it("fixed reasons win over caller reasons; generic codes take the caller's", () => {
    expect(new XmppProtocolError("ds.not_owner", undefined, { reason: "x" }).app).toEqual({ name: "policy-violation", reason: "not-owner" });
    expect(new XmppProtocolError("ds.policy_violation", undefined, { reason: "missing-proposals" }).app).toEqual({ name: "policy-violation", reason: "missing-proposals" });
    expect(new XmppProtocolError("ds.invalid_message").app).toEqual({ name: "invalid-message", reason: "invalid" });
    expect(new XmppProtocolError("ds.invalid_message", undefined, { reason: "Not A Token" }).app).toEqual({ name: "invalid-message", reason: "invalid" });
  });

  it("every code of the DS core (src/component/errors.ts) is mapped", () => {
    for (const code of Object.keys(dsErrorCodes)) expect(isProtocolErrorCode(code), code).toBe(true);
  });
});

describe("toErrorElement for errors of other layers", () => {
  class WrongEpoch extends XmppMlsError {
    readonly currentEpoch = 9n;
    constructor() {
      super("ds.wrong_epoch", "submission for epoch 8, group is at epoch 9");
    }
  }
  class Limited extends XmppMlsError {
    readonly retryAfterMs = 1500;
    constructor() {
      super("ds.rate_limited", "slow down");
    }
  }

  it("domain errors with registered codes pick up duck-typed details", () => {
    const w = fromErrorElement(toErrorElement(new WrongEpoch()));
    expect(w.code).toBe("ds.wrong_epoch");
    expect(w.app).toEqual({ name: "wrong-epoch", current: 9n });
    expect(fromErrorElement(toErrorElement(new Limited())).app).toEqual({ name: "rate-limited", retryAfter: 2 });
  });

  it("a registered code without its detail degrades to no app element instead of throwing", () => {
    const el = toErrorElement(new XmppMlsError("ds.wrong_epoch", "no epoch known"));
    expect(el.getChild("conflict", NS_STANZAS)).toBeDefined();
    expect(el.getChild("wrong-epoch", NS_MLS)).toBeUndefined();
  });

  it("MLS codec/validation/crypto failures become invalid-message", () => {
    const reason = (e: unknown): string | undefined => toErrorElement(e).getChild("invalid-message", NS_MLS)?.attrs.reason;
    expect(reason(new CodecError("codec.unexpected_eof", "short", 3, "Commit.path"))).toBe("malformed");
    expect(reason(new ValidationError("valid.x", "bad", "RFC 9420 §12.2"))).toBe("invalid");
    expect(reason(new CryptoError("crypto.bad_signature", "signature"))).toBe("verification-failed");
  });

  it("anything else is internal-server-error without text", () => {
    for (const e of [new Error("db password is hunter2"), new InternalError("bug"), "string"]) {
      const el = toErrorElement(e);
      expect(el.attrs.type).toBe("cancel");
      expect(el.getChild("internal-server-error", NS_STANZAS)).toBeDefined();
      expect(el.getChild("text", NS_STANZAS)).toBeUndefined();
      expect(el.toString()).not.toContain("hunter2");
    }
  });
});

describe("fromErrorElement on foreign errors", () => {
  it("unknown combinations keep their wire values", () => {
    const e = fromErrorElement(parseStrictXml(`<error type='wait'><recipient-unavailable xmlns='${NS_STANZAS}'/></error>`));
    expect(e.code).toBe("xmpp.remote_error");
    expect(e.type).toBe("wait");
    expect(e.condition).toBe("recipient-unavailable");
  });

  it("a malformed app element is dropped, the condition still maps", () => {
    const e = fromErrorElement(parseStrictXml(`<error type='modify'><conflict xmlns='${NS_STANZAS}'/><wrong-epoch xmlns='${NS_MLS}' current='x'/></error>`));
    expect(e.app).toBeUndefined();
    expect(e.condition).toBe("conflict");
  });

  it("unknown invalid-message reasons map to ds.invalid_message", () => {
    const e = fromErrorElement(parseStrictXml(`<error type='modify'><bad-request xmlns='${NS_STANZAS}'/><invalid-message xmlns='${NS_MLS}' reason='future-reason'/></error>`));
    expect(e.code).toBe("ds.invalid_message");
    expect(e.app).toEqual({ name: "invalid-message", reason: "future-reason" });
  });
});

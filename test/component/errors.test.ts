/** DS error classes: stable codes, and every code has a stanza mapping in the XMPP error registry. */

import { describe, expect, it } from "vitest";
import { ConfigError, DsError, dsErrorCodes, RateLimitedError, StoreError, WrongEpochError, type DsErrorCode } from "../../src/component/errors.js";
import { XmppMlsError } from "../../src/errors.js";
import { isProtocolErrorCode } from "../../src/xmpp/errors.js";

describe("DS errors", () => {
  it("every ds.* code maps to a stanza error in src/xmpp/errors.ts", () => {
    const unmapped = (Object.keys(dsErrorCodes) as DsErrorCode[]).filter((c) => !isProtocolErrorCode(c));
    expect(unmapped).toEqual([]);
  });

  it("are XmppMlsErrors with stable codes and default messages", () => {
    const e = new DsError("ds.no_key_packages");
    expect(e).toBeInstanceOf(XmppMlsError);
    expect(e.code).toBe("ds.no_key_packages");
    expect(e.message).toBe(dsErrorCodes["ds.no_key_packages"]);
    expect(e.name).toBe("DsError");

    const r = new RateLimitedError("claim", 1500.2);
    expect(r).toBeInstanceOf(DsError);
    expect([r.code, r.action, r.retryAfterMs, r.name]).toEqual(["ds.rate_limited", "claim", 1500.2, "RateLimitedError"]);
    expect(r.message).toContain("1501 ms");

    const w = new WrongEpochError(6n, 5n);
    expect([w.code, w.currentEpoch]).toEqual(["ds.wrong_epoch", 6n]);

    expect(new StoreError("store.schema_too_new", "x").code).toBe("store.schema_too_new");
  });

  it("ConfigError lists every problem in its message", () => {
    const e = new ConfigError([
      { path: "$.a", message: "bad" },
      { path: "env:B", message: "worse" },
    ]);
    expect(e.code).toBe("config.invalid");
    expect(e.message).toBe("invalid gateway configuration (2 problems):\n  $.a: bad\n  env:B: worse");
  });
});

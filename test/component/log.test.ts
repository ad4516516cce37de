/** JSON-lines logger: format, levels, and redaction of secrets and bytes. */

import { describe, expect, it } from "vitest";
import { Secret } from "../../src/component/config.js";
import { DsError } from "../../src/component/errors.js";
import { createLogger, MAX_STRING, redact, type LoggerOptions } from "../../src/component/log.js";

function capture(options: Omit<LoggerOptions, "sink"> = {}) {
  const lines: string[] = [];
  const logger = createLogger({ now: () => Date.UTC(2025, 0, 2, 3, 4, 5, 6), ...options, sink: (l) => lines.push(l) });
  return { logger, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe("logger", () => {
  it("writes one JSON object per line with level, time, msg and the fields", () => {
    const { logger, lines, parsed } = capture();
    logger.info("group registered", { group: "aa01", epoch: 3n, members: 2 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain("\n");
    expect(lines[0]!.startsWith('{"level":"info","time":"2025-01-02T03:04:05.006Z","msg":"group registered"')).toBe(true);
    expect(parsed()[0]).toEqual({ level: "info", time: "2025-01-02T03:04:05.006Z", msg: "group registered", group: "aa01", epoch: "3", members: 2 });
  });

  it("filters by level; silent writes nothing", () => {
    const warn = capture({ level: "warn" });
    warn.logger.debug("d");
    warn.logger.info("i");
    warn.logger.warn("w");
    warn.logger.error("e");
    expect(warn.parsed().map((l) => l.level)).toEqual(["warn", "error"]);
    expect(warn.logger.enabled("info")).toBe(false);
    expect(warn.logger.enabled("error")).toBe(true);

    const silent = capture({ level: "silent" });
    silent.logger.error("e");
    expect(silent.lines).toEqual([]);

    const debug = capture({ level: "debug" });
    debug.logger.debug("d");
    expect(debug.parsed()[0]!.level).toBe("debug");
  });

  it("adds child fields to every line; call fields win; reserved names are kept apart", () => {
    const { logger, parsed } = capture();
    const child = logger.child({ component: "directory", group: "x" });
    child.warn("low", { group: "y", level: "nope", msg: "nope", time: 1 });
    expect(parsed()[0]).toEqual({
      level: "warn",
      time: "2025-01-02T03:04:05.006Z",
      msg: "low",
      component: "directory",
      group: "y",
      level_: "nope",
      msg_: "nope",
      time_: 1,
    });
  });
});

describe("redaction", () => {
  const SECRET = "hunter2-very-secret";

  it("hides values under secret/password/key/token keys, at any depth and in any case", () => {
    const { logger, lines, parsed } = capture();
    logger.info("connect", {
      secret: SECRET,
      componentSecret: SECRET,
      PASSWORD: SECRET,
      apiKey: { nested: SECRET },
      keyPackageRef: SECRET,
      nested: { deeper: [{ accessToken: SECRET, ok: "visible" }] },
      list: [{ db_password: SECRET }],
    });
    expect(lines[0]).not.toContain(SECRET);
    expect(parsed()[0]).toMatchObject({
      secret: "[redacted]",
      componentSecret: "[redacted]",
      PASSWORD: "[redacted]",
      apiKey: "[redacted]",
      keyPackageRef: "[redacted]",
      nested: { deeper: [{ accessToken: "[redacted]", ok: "visible" }] },
      list: [{ db_password: "[redacted]" }],
    });
  });

  it("prints bytes as their length only", () => {
    const { logger, lines, parsed } = capture();
    const raw = new Uint8Array([0x68, 0x75, 0x6e, 0x74, 0x65, 0x72, 0x32]); // "hunter2"
    logger.info("payload", {
      message: raw,
      buf: Buffer.from("hunter2"),
      view: new DataView(new ArrayBuffer(5)),
      ab: new ArrayBuffer(9),
      words: new Uint32Array(4),
      deep: { x: [raw] },
    });
    expect(lines[0]).not.toContain("hunter2");
    expect(lines[0]).not.toMatch(/104|0x68|aHVudGVy/); // no decimal, hex or base64 of the content
    expect(parsed()[0]).toMatchObject({
      message: "[7 bytes]",
      buf: "[7 bytes]",
      view: "[5 bytes]",
      ab: "[9 bytes]",
      words: "[16 bytes]",
      deep: { x: ["[7 bytes]"] },
    });
  });

  it("never prints a Secret, wherever it is", () => {
    const { logger, lines } = capture();
    logger.info("cfg", { conf: { s: new Secret(SECRET) }, arr: [new Secret(SECRET)] });
    expect(lines[0]).not.toContain(SECRET);
    expect(lines[0]).toContain("[redacted]");
  });

  it("serializes errors with name, code, message and cause", () => {
    const e = new DsError("ds.no_key_packages", "none left", { cause: new RangeError("inner") });
    expect(redact({ error: e })).toEqual({
      error: { name: "DsError", message: "none left", code: "ds.no_key_packages", cause: { name: "RangeError", message: "inner" } },
    });
  });

  it("copes with cycles, depth, odd values and long strings", () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(redact(cyclic)).toEqual({ a: 1, self: "[circular]" });
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 20; i++) deep = (deep.d = {}) as Record<string, unknown>;
    expect(JSON.stringify(redact(root))).toContain("[too deep]");
    expect(redact({ f: () => 1, u: undefined, n: NaN, d: new Date(0), m: new Map([["token", "x"]]), s: new Set([1]) })).toEqual({
      n: "NaN",
      d: "1970-01-01T00:00:00.000Z",
      m: { token: "[redacted]" },
      s: [1],
    });
    const long = "b".repeat(MAX_STRING + 50);
    expect(redact(long)).toBe(`${"b".repeat(MAX_STRING)}…[+50 chars]`);
    // the same object twice (not a cycle) is printed twice
    const shared = { v: 1 };
    expect(redact({ x: shared, y: shared })).toEqual({ x: { v: 1 }, y: { v: 1 } });
  });
});

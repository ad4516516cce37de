/** Gateway configuration: validation (every problem, with its path), defaults, environment, secrecy. */

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { CONFIG_DEFAULTS, checkGroupPolicy, describeConfig, loadConfig, parseConfig, Secret } from "../../src/component/config.js";
import { ConfigError } from "../../src/component/errors.js";
import { tempDir } from "./helpers/fixtures.js";
import { PROJECT_ROOT } from "./helpers/transpile.js";

const SECRET = "S3cr3t-Value-9f2c1e";

const MINIMAL = {
  service: "xmpp://localhost:5347",
  domain: "mls.example.org",
  secret: SECRET,
  mucServices: ["conference.example.org"],
};

function problemsOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const err = e as ConfigError;
    expect(err.code).toBe("config.invalid");
    return err.problems.map((p) => ({ path: p.path, message: p.message }));
  }
  expect.unreachable("expected a ConfigError");
}

function paths(fn: () => unknown): string[] {
  return problemsOf(fn)
    .map((p) => p.path)
    .sort();
}

const dir = tempDir("xmpp-mls-config-");
afterAll(() => dir.remove());

describe("parseConfig", () => {
  it("accepts a minimal config and fills in the defaults", () => {
    const c = parseConfig(MINIMAL, { cwd: "/srv/gw" });
    expect(c.service).toBe("xmpp://localhost:5347");
    expect(c.domain).toBe("mls.example.org");
    expect(c.secret.reveal()).toBe(SECRET);
    expect(c.database).toBe("/srv/gw/xmpp-mls-gateway.sqlite");
    expect(c.mucServices).toEqual(["conference.example.org"]);
    expect(c.policy).toEqual(CONFIG_DEFAULTS.policy);
    expect(c.limits).toEqual(CONFIG_DEFAULTS.limits);
    expect(c.logLevel).toBe("info");
  });

  it("normalizes the service URL (default port 5347) and lowercases domains", () => {
    const c = parseConfig({ ...MINIMAL, service: "xmpp://Prosody", domain: "MLS.Example.org", mucServices: ["Conference.Example.org"] });
    expect(c.service).toBe("xmpp://prosody:5347");
    expect(c.domain).toBe("mls.example.org");
    expect(c.mucServices).toEqual(["conference.example.org"]);
  });

  it("merges partial policy and limits sections over the defaults", () => {
    const c = parseConfig({ ...MINIMAL, policy: { whoMayAdd: "owner" }, limits: { rateLimits: { claimPerMinute: 5 }, cipherSuites: [1, 3] } });
    expect(c.policy).toEqual({ ...CONFIG_DEFAULTS.policy, whoMayAdd: "owner" });
    expect(c.limits.rateLimits).toEqual({ ...CONFIG_DEFAULTS.limits.rateLimits, claimPerMinute: 5 });
    expect(c.limits.cipherSuites).toEqual([1, 3]);
    expect(c.limits.maxStanzaBytes).toBe(CONFIG_DEFAULTS.limits.maxStanzaBytes);
  });

  it("lists every problem at once, each with its JSON path", () => {
    const bad = {
      service: "http://localhost:5347",
      domain: "not a domain",
      secret: SECRET,
      database: 7,
      mucServices: ["conference.example.org", "conference.example.org", ""],
      policy: { whoMayAdd: "member", allowExternalJoin: "yes", groupInfoReadableBy: "everyone", handshakeWireFormat: 2, colour: "red" },
      limits: {
        maxStanzaBytes: 100,
        maxPayloadBytes: 1.5,
        rateLimits: { submitPerMinute: 0, publishPerMinute: "10", burst: 3 },
        keyPackageLowWater: -1,
        maxKeyPackagesPerDevice: 20_000,
        cipherSuites: [1, 8, 1, "2"],
      },
      logLevel: "verbose",
      extra: true,
    };
    expect(paths(() => parseConfig(bad))).toEqual(
      [
        "$.service",
        "$.domain",
        "$.database",
        "$.mucServices[1]",
        "$.mucServices[2]",
        "$.policy.whoMayAdd",
        "$.policy.allowExternalJoin",
        "$.policy.groupInfoReadableBy",
        "$.policy.handshakeWireFormat",
        "$.policy.colour",
        "$.limits.maxStanzaBytes",
        "$.limits.maxPayloadBytes",
        "$.limits.rateLimits.submitPerMinute",
        "$.limits.rateLimits.publishPerMinute",
        "$.limits.rateLimits.burst",
        "$.limits.keyPackageLowWater",
        "$.limits.maxKeyPackagesPerDevice",
        "$.limits.cipherSuites[1]",
        "$.limits.cipherSuites[2]",
        "$.limits.cipherSuites[3]",
        "$.logLevel",
        "$.extra",
      ].sort(),
    );
  });

  it("explains each problem", () => {
    const problems = problemsOf(() => parseConfig({ ...MINIMAL, limits: { maxKeyPackagesPerDevice: 0, rateLimits: { claimPerMinute: 1e6 } }, logLevel: 3 }));
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: "$.limits.maxKeyPackagesPerDevice", message: "must be between 1 and 10000" },
        { path: "$.limits.rateLimits.claimPerMinute", message: "must be between 1 and 100000" },
        { path: "$.logLevel", message: "must be one of debug, info, warn, error, silent; got number" },
      ]),
    );
  });

  it("checks values that depend on each other", () => {
    expect(paths(() => parseConfig({ ...MINIMAL, limits: { maxStanzaBytes: 4096, maxPayloadBytes: 4000 } }))).toEqual(["$.limits.maxPayloadBytes"]);
    expect(paths(() => parseConfig({ ...MINIMAL, limits: { keyPackageLowWater: 10, maxKeyPackagesPerDevice: 10 } }))).toEqual([
      "$.limits.maxKeyPackagesPerDevice",
    ]);
  });

  it("requires service, domain, secret and MUC services", () => {
    expect(paths(() => parseConfig({}))).toEqual(["$.domain", "$.mucServices", "$.secret", "$.service"]);
    expect(paths(() => parseConfig({ ...MINIMAL, mucServices: [] }))).toEqual(["$.mucServices"]);
    expect(paths(() => parseConfig([]))).toContain("$");
  });

  it("rejects both secret and secretFile, and empty or multi-line secrets", () => {
    expect(paths(() => parseConfig({ ...MINIMAL, secretFile: "/x" }))).toEqual(["$.secret"]);
    expect(paths(() => parseConfig({ ...MINIMAL, secret: "" }))).toEqual(["$.secret"]);
    expect(paths(() => parseConfig({ ...MINIMAL, secret: "a\nb" }))).toEqual(["$.secret"]);
    expect(paths(() => parseConfig({ ...MINIMAL, secret: 12345 }))).toEqual(["$.secret"]);
  });

  it("rejects service URLs that are not xmpp://host:port", () => {
    for (const service of ["localhost:5347", "xmpp://", "xmpp://u:p@host:5347", "xmpp://host:5347/path", "xmpp://host:99999", "tcp://host:1"]) {
      expect(paths(() => parseConfig({ ...MINIMAL, service })), service).toEqual(["$.service"]);
    }
  });

  it("reads the secret from secretFile relative to the config directory, without the trailing newline", () => {
    const read: string[] = [];
    const c = parseConfig(
      { ...MINIMAL, secret: undefined, secretFile: "secret.txt", database: "data/gw.sqlite" },
      { baseDir: "/etc/xmpp-mls", readSecretFile: (p) => (read.push(p), `${SECRET}\n`) },
    );
    expect(read).toEqual(["/etc/xmpp-mls/secret.txt"]);
    expect(c.secret.reveal()).toBe(SECRET);
    expect(c.database).toBe("/etc/xmpp-mls/data/gw.sqlite");
  });

  it("reports an unreadable secret file with its path and error code only", () => {
    const problems = problemsOf(() =>
      parseConfig(
        { ...MINIMAL, secret: undefined, secretFile: "/nope/secret" },
        {
          readSecretFile: () => {
            throw Object.assign(new Error(`EACCES ${SECRET}`), { code: "EACCES" });
          },
        },
      ),
    );
    expect(problems).toEqual([{ path: "$.secretFile", message: "cannot read secret file /nope/secret (EACCES)" }]);
  });
});

describe("environment overrides", () => {
  it("override the file, and relative env paths resolve against the working directory", () => {
    const c = parseConfig(
      { ...MINIMAL, database: "file.sqlite", logLevel: "warn" },
      {
        baseDir: "/etc/gw",
        cwd: "/work",
        env: {
          XMPP_MLS_SERVICE: "xmpp://ejabberd:8888",
          XMPP_MLS_DOMAIN: "ds.example.net",
          XMPP_MLS_DB: "env.sqlite",
          XMPP_MLS_LOG_LEVEL: "debug",
          XMPP_MLS_MUC_SERVICES: "muc.example.net, rooms.example.net",
          XMPP_MLS_SECRET: "from-env",
        },
      },
    );
    expect(c.service).toBe("xmpp://ejabberd:8888");
    expect(c.domain).toBe("ds.example.net");
    expect(c.database).toBe("/work/env.sqlite");
    expect(c.logLevel).toBe("debug");
    expect(c.mucServices).toEqual(["muc.example.net", "rooms.example.net"]);
    expect(c.secret.reveal()).toBe("from-env");
  });

  it("can supply the whole configuration", () => {
    const c = parseConfig(
      {},
      {
        cwd: "/run",
        env: {
          XMPP_MLS_SERVICE: "xmpp://localhost:5347",
          XMPP_MLS_DOMAIN: "mls.localhost",
          XMPP_MLS_SECRET_FILE: "s",
          XMPP_MLS_MUC_SERVICES: "conference.localhost",
          XMPP_MLS_DB: ":memory:",
        },
        readSecretFile: (p) => (p === "/run/s" ? "pw" : ""),
      },
    );
    expect(c.secret.reveal()).toBe("pw");
    expect(c.database).toBe(":memory:");
  });

  it("an env secret replaces the file's secretFile; both env secrets is an error", () => {
    const c = parseConfig({ ...MINIMAL, secret: undefined, secretFile: "/never/read" }, { env: { XMPP_MLS_SECRET: "e" } });
    expect(c.secret.reveal()).toBe("e");
    expect(paths(() => parseConfig(MINIMAL, { env: { XMPP_MLS_SECRET: "a", XMPP_MLS_SECRET_FILE: "/b" } }))).toEqual(["env:XMPP_MLS_SECRET"]);
  });

  it("reports bad environment values under env:NAME and ignores empty ones", () => {
    expect(
      paths(() =>
        parseConfig(MINIMAL, { env: { XMPP_MLS_SERVICE: "nope", XMPP_MLS_LOG_LEVEL: "loud", XMPP_MLS_MUC_SERVICES: "a.example,,b.example", XMPP_MLS_DOMAIN: "" } }),
      ),
    ).toEqual(["env:XMPP_MLS_LOG_LEVEL", "env:XMPP_MLS_MUC_SERVICES[1]", "env:XMPP_MLS_SERVICE"]);
  });
});

describe("the secret never leaks", () => {
  const leaks = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      const err = e as ConfigError;
      return [err.message, JSON.stringify(err.problems), inspect(err), String(err.stack)].join("\n");
    }
    return "";
  };

  it("not when the secret is put in the wrong place", () => {
    const cases: unknown[] = [
      { ...MINIMAL, secret: undefined, password: SECRET },
      { ...MINIMAL, domain: SECRET + " x" },
      { ...MINIMAL, logLevel: SECRET },
      { ...MINIMAL, secret: [SECRET] },
      { ...MINIMAL, secret: `${SECRET}\n${SECRET}` },
      { ...MINIMAL, policy: { whoMayAdd: SECRET } },
      { ...MINIMAL, mucServices: [SECRET + "/"] },
      { ...MINIMAL, service: `xmpp://user:${SECRET}@host:5347` },
    ];
    for (const c of cases) {
      const text = leaks(() => parseConfig(c));
      expect(text.length).toBeGreaterThan(0);
      expect(text).not.toContain(SECRET);
    }
    expect(leaks(() => parseConfig(MINIMAL, { env: { XMPP_MLS_LOG_LEVEL: SECRET } }))).not.toContain(SECRET);
  });

  it("not from a JSON syntax error next to it", () => {
    const file = join(dir.path, "broken.json");
    writeFileSync(file, `{\n  "domain": "mls.example.org",\n  "secret": ${SECRET}\n}`);
    const text = leaks(() => loadConfig({ file }));
    expect(text).toContain("is not valid JSON");
    expect(text).not.toContain(SECRET);
  });

  it("not when the config is printed", () => {
    const c = parseConfig(MINIMAL);
    for (const s of [JSON.stringify(c), inspect(c, { depth: 10 }), String(c.secret), `${c.secret}`, JSON.stringify(describeConfig(c))]) {
      expect(s).not.toContain(SECRET);
    }
    expect(c.secret).toBeInstanceOf(Secret);
    expect(JSON.stringify(describeConfig(c))).toContain("[redacted]");
  });
});

describe("loadConfig", () => {
  it("reads a file and resolves its relative paths against the file's directory", () => {
    writeFileSync(join(dir.path, "secret"), `${SECRET}\r\n`);
    const file = join(dir.path, "gw.json");
    writeFileSync(file, JSON.stringify({ ...MINIMAL, secret: undefined, secretFile: "secret", database: "gw.sqlite" }));
    const c = loadConfig({ file, cwd: "/" });
    expect(c.secret.reveal()).toBe(SECRET);
    expect(c.database).toBe(join(dir.path, "gw.sqlite"));
  });

  it("reports a missing file", () => {
    expect(problemsOf(() => loadConfig({ file: join(dir.path, "absent.json") }))).toEqual([
      { path: "$", message: `cannot read config file ${join(dir.path, "absent.json")} (ENOENT)` },
    ]);
  });

  it("works from the environment alone", () => {
    const c = loadConfig({
      env: { XMPP_MLS_SERVICE: "xmpp://h:1", XMPP_MLS_DOMAIN: "d.example", XMPP_MLS_SECRET: "s", XMPP_MLS_MUC_SERVICES: "m.example" },
      cwd: "/x",
    });
    expect(c.database).toBe("/x/xmpp-mls-gateway.sqlite");
  });

  it("accepts docker/gateway.example.json", () => {
    const file = join(PROJECT_ROOT, "docker", "gateway.example.json");
    const raw = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    const c = loadConfig({ file, readSecretFile: (p) => (p === raw.secretFile ? "example-secret" : "") });
    expect(c.secret.reveal()).toBe("example-secret");
    expect(c.mucServices.length).toBeGreaterThan(0);
    // every section is spelled out in the example
    expect(Object.keys(raw).sort()).toEqual(["database", "domain", "limits", "logLevel", "mucServices", "policy", "secretFile", "service"]);
    expect(Object.keys(raw.policy as object).sort()).toEqual(Object.keys(CONFIG_DEFAULTS.policy).sort());
    expect(Object.keys(raw.limits as object).sort()).toEqual(Object.keys(CONFIG_DEFAULTS.limits).sort());
  });
});

describe("checkGroupPolicy", () => {
  it("accepts a complete policy and names what is wrong otherwise", () => {
    const ok = { whoMayAdd: "owner", whoMayRemove: "admin", allowExternalJoin: true, groupInfoReadableBy: "anyone" };
    expect(checkGroupPolicy(ok)).toEqual([]);
    expect(checkGroupPolicy({ ...ok, handshakeWireFormat: "public" }).map((p) => p.path)).toEqual(["policy.handshakeWireFormat"]);
    expect(checkGroupPolicy({ whoMayAdd: "owner" }).map((p) => p.path).sort()).toEqual(
      ["policy.allowExternalJoin", "policy.groupInfoReadableBy", "policy.whoMayRemove"].sort(),
    );
    expect(checkGroupPolicy(null).map((p) => p.path)).toEqual(["policy"]);
  });
});

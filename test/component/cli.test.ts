/** `xmpp-mls-gateway` CLI: arguments, --check-config, exit codes, gateway loading and shutdown. */

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main, type CliIo, type GatewayModule } from "../../src/component/cli.js";
import type { GatewayConfig } from "../../src/component/config.js";
import { tempDir } from "./helpers/fixtures.js";
import { PROJECT_ROOT, runNode, transpileTree, type Transpiled } from "./helpers/transpile.js";

const SECRET = "cli-secret-7d1a";
const GOOD_ENV = {
  XMPP_MLS_SERVICE: "xmpp://localhost:5347",
  XMPP_MLS_DOMAIN: "mls.localhost",
  XMPP_MLS_SECRET: SECRET,
  XMPP_MLS_MUC_SERVICES: "conference.localhost",
  XMPP_MLS_DB: ":memory:",
  XMPP_MLS_LOG_LEVEL: "silent",
};

function fakeIo(over: Partial<CliIo> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  let shutdown: (() => void) | undefined;
  const io: CliIo = {
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    env: GOOD_ENV,
    cwd: "/tmp",
    loadGateway: () => Promise.resolve(undefined),
    onShutdown: (stop) => {
      shutdown = stop;
      return () => {
        shutdown = undefined;
      };
    },
    ...over,
  };
  return { io, stdout: () => out.join(""), stderr: () => err.join(""), shutdown: () => shutdown?.() };
}

const dir = tempDir("xmpp-mls-cli-");
afterAll(() => dir.remove());

describe("main", () => {
  it("--help prints the usage", async () => {
    const f = fakeIo();
    expect(await main(["--help"], f.io)).toBe(0);
    expect(f.stdout()).toContain("Usage: xmpp-mls-gateway");
    expect(f.stdout()).toContain("--check-config");
  });

  it("--version prints the package version", async () => {
    const f = fakeIo();
    const { version } = JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as { version: string };
    expect(await main(["-V"], f.io)).toBe(0);
    expect(f.stdout()).toBe(`xmpp-mls-gateway ${version}\n`);
  });

  it("unknown options and stray arguments exit with 2", async () => {
    for (const argv of [["--bogus"], ["start"], ["--config"]]) {
      const f = fakeIo();
      expect(await main(argv, f.io)).toBe(2);
      expect(f.stderr()).toContain("Usage:");
    }
  });

  it("--check-config validates, prints the config without the secret, exits 0", async () => {
    const f = fakeIo();
    expect(await main(["--check-config"], f.io)).toBe(0);
    expect(f.stdout()).toContain("configuration OK");
    expect(f.stdout()).toContain('"domain": "mls.localhost"');
    expect(f.stdout()).toContain("[redacted]");
    expect(f.stdout() + f.stderr()).not.toContain(SECRET);
  });

  it("--check-config with a bad file lists every problem and exits 2", async () => {
    const file = join(dir.path, "bad.json");
    writeFileSync(file, JSON.stringify({ domain: 5, limits: { maxStanzaBytes: -1 }, secret: SECRET, nope: 1 }));
    const f = fakeIo({ env: {} });
    expect(await main(["--config", file, "--check-config"], f.io)).toBe(2);
    const err = f.stderr();
    for (const path of ["$.domain", "$.limits.maxStanzaBytes", "$.nope", "$.service", "$.mucServices"]) expect(err).toContain(path);
    expect(err).not.toContain(SECRET);
    expect(f.stdout()).toBe("");
  });

  it("takes the config file from XMPP_MLS_CONFIG", async () => {
    const f = fakeIo({ env: { ...GOOD_ENV, XMPP_MLS_CONFIG: join(dir.path, "missing.json") } });
    expect(await main(["--check-config"], f.io)).toBe(2);
    expect(f.stderr()).toContain("missing.json (ENOENT)");
  });

  it("says clearly when the gateway module is not built", async () => {
    const f = fakeIo();
    expect(await main([], f.io)).toBe(1);
    expect(f.stderr()).toContain("gateway module is not built");
  });

  it("a config error stops the start with exit code 2 before loading the gateway", async () => {
    const loadGateway = vi.fn(() => Promise.resolve(undefined));
    const f = fakeIo({ env: { ...GOOD_ENV, XMPP_MLS_SERVICE: "http://x" }, loadGateway });
    expect(await main([], f.io)).toBe(2);
    expect(f.stderr()).toContain("env:XMPP_MLS_SERVICE");
    expect(loadGateway).not.toHaveBeenCalled();
  });

  it("starts the gateway with the config and stops it on shutdown", async () => {
    const stop = vi.fn(() => Promise.resolve());
    let got: GatewayConfig | undefined;
    const gateway: GatewayModule = {
      startGateway: (config) => {
        got = config;
        return Promise.resolve({ stop });
      },
    };
    const f = fakeIo({ loadGateway: () => Promise.resolve(gateway) });
    const running = main([], f.io);
    await vi.waitFor(() => expect(got).toBeDefined());
    expect(got!.domain).toBe("mls.localhost");
    expect(got!.secret.reveal()).toBe(SECRET);
    f.shutdown();
    expect(await running).toBe(0);
    expect(stop).toHaveBeenCalledTimes(1);
  });

  it("exits 1 when the gateway fails to start or dies", async () => {
    const failing: GatewayModule = { startGateway: () => Promise.reject(new Error("connection refused")) };
    expect(await main([], fakeIo({ loadGateway: () => Promise.resolve(failing) }).io)).toBe(1);
    const dying: GatewayModule = { startGateway: () => Promise.resolve({ stop: () => Promise.resolve(), done: Promise.reject(new Error("stream error")) }) };
    expect(await main([], fakeIo({ loadGateway: () => Promise.resolve(dying) }).io)).toBe(1);
  });
});

describe("the xmpp-mls-gateway binary", () => {
  let tree: Transpiled;
  beforeAll(() => {
    tree = transpileTree(["src/component/cli.ts"]);
  });
  afterAll(() => tree.dispose());

  it("package.json points the bin at the compiled cli", () => {
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as { bin?: Record<string, string> };
    expect(pkg.bin?.["xmpp-mls-gateway"]).toBe("./dist/src/component/cli.js");
    expect(readFileSync(join(PROJECT_ROOT, "src/component/cli.ts"), "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
  });

  it("runs as a script: exit 0 for a good config, 2 for a bad one, 1 without the gateway module", async () => {
    const cli = tree.js("src/component/cli.ts");
    const ok = await runNode(cli, ["--check-config"], { PATH: process.env.PATH, ...GOOD_ENV });
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("configuration OK");
    expect(ok.stdout).not.toContain(SECRET);

    const bad = await runNode(cli, ["--check-config"], { PATH: process.env.PATH, ...GOOD_ENV, XMPP_MLS_LOG_LEVEL: "shouty" });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("env:XMPP_MLS_LOG_LEVEL");

    const start = await runNode(cli, [], { PATH: process.env.PATH, ...GOOD_ENV });
    expect(start.code).toBe(1);
    expect(start.stderr).toContain("gateway module is not built");
  });
});

/**
 * A local xmpp-mls stack for the demo and the gateway bench: Prosody on a loopback address (the
 * integration-test launcher, test/servers/prosody.ts: one implementation for tests, demo and
 * bench) and the Delivery Service gateway in this process, connected over XEP-0114.
 *
 * Everything started here is registered with {@link Cleanup}, which stops it in reverse order on
 * success, on failure and on SIGINT/SIGTERM/SIGHUP. The run directory is `<repo>/.run/<name>`
 * (wiped at each start); ports differ from the test harness defaults (25222/45222) so the tests
 * and the demo can run at the same time.
 * @module
 */
import { appendFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseConfig } from "../../src/component/config.js";
import { startGateway, type Gateway } from "../../src/component/gateway.js";
import { createLogger } from "../../src/component/log.js";
import { startProsody } from "../../test/servers/prosody.js";
import type { RunningServer } from "../../test/servers/types.js";

/** The repository root: the nearest directory above this file holding package.json (works from dist/ too). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "src"))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the repository root (package.json) above " + fileURLToPath(import.meta.url));
    dir = up;
  }
}

type Step = { readonly what: string; readonly run: () => Promise<void> };

/**
 * Stops what was started, newest first, once. Signals trigger it too: the first SIGINT cleans up
 * and exits 130; a second one exits at once (the harness KILLs its servers on exit, and they also
 * die with us through PR_SET_PDEATHSIG).
 */
export class Cleanup {
  readonly #steps: Step[] = [];
  #running: Promise<void> | null = null;
  /** Set when a signal started the cleanup: failures after that are consequences, not news. */
  interrupted = false;
  readonly #log: (line: string) => void;

  constructor(log: (line: string) => void = (l) => console.log(l)) {
    this.#log = log;
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
      process.on(sig, () => {
        if (this.#running !== null) {
          this.#log(`[cleanup] ${sig} again: exiting now`);
          process.exit(130);
        }
        this.interrupted = true;
        this.#log(`\n[cleanup] ${sig}: stopping everything that was started`);
        void this.run().finally(() => process.exit(sig === "SIGINT" ? 130 : 143));
      });
    }
  }

  add(what: string, run: () => Promise<void>): void {
    this.#steps.push({ what, run });
  }

  run(): Promise<void> {
    this.#running ??= (async () => {
      const done: string[] = [];
      for (const s of this.#steps.splice(0).reverse()) {
        try {
          await withTimeout(s.run(), 10_000, `stopping ${s.what}`);
          done.push(s.what);
        } catch (e) {
          this.#log(`[cleanup] stopping ${s.what} failed: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      if (done.length > 0) this.#log(`[cleanup] stopped ${done.join(", ")}`);
    })();
    return this.#running;
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export interface StackOptions {
  /** Run directory `.run/<name>`. */
  readonly name: string;
  readonly domain: string;
  readonly host: string;
  readonly c2sPort: number;
  readonly componentPort: number;
  readonly users: readonly string[];
  /** Raw gateway config overrides (limits, policy), merged into the generated config. */
  readonly gatewayConfig?: Record<string, unknown>;
  /** Gateway log level (the log goes to `<run>/gateway/gateway.log`). Default "info". */
  readonly gatewayLogLevel?: "debug" | "info" | "warn" | "error" | "silent";
}

export interface Stack {
  readonly server: RunningServer;
  readonly gateway: Gateway;
  readonly runDir: string;
  /** Prosody's data directory (accounts, offline storage, MUC archives). */
  readonly prosodyData: string;
  /** The DS SQLite database. */
  readonly database: string;
  readonly gatewayLog: string;
}

/** Start Prosody and the gateway; both are registered with `cleanup`. */
export async function startStack(o: StackOptions, cleanup: Cleanup): Promise<Stack> {
  const runDir = join(repoRoot(), ".run", o.name);
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const server = await startProsody({
    name: "prosody",
    runRoot: runDir,
    domain: o.domain,
    host: o.host,
    c2sPort: o.c2sPort,
    componentPort: o.componentPort,
    users: o.users,
    password: "demo-password",
    componentSecret: "demo-component-secret",
  });
  cleanup.add("Prosody", () => server.stop());

  const gwDir = join(runDir, "gateway");
  mkdirSync(gwDir, { recursive: true });
  const database = join(gwDir, "ds.sqlite");
  const gatewayLog = join(gwDir, "gateway.log");
  const config = parseConfig({
    service: `xmpp://${server.host}:${server.componentPort}`,
    domain: server.componentDomain,
    secret: server.componentSecret,
    database,
    mucServices: [server.mucDomain],
    ...o.gatewayConfig,
  });
  const logger = createLogger({ level: o.gatewayLogLevel ?? "info", sink: (line) => appendFileSync(gatewayLog, line + "\n") });
  const gateway = await startGateway(config, { logger });
  cleanup.add("the DS gateway", () => gateway.stop());
  return { server, gateway, runDir, prosodyData: resolve(server.runDir, "data"), database, gatewayLog };
}

#!/usr/bin/env node
/**
 * `xmpp-mls-gateway`: command line entry of the Delivery Service component.
 *
 * ```
 * xmpp-mls-gateway [--config <file>]     start the gateway
 * xmpp-mls-gateway --check-config [...]  validate the configuration and print it (secret redacted)
 * xmpp-mls-gateway --help | --version
 * ```
 * The config file may also be named by `XMPP_MLS_CONFIG`; environment overrides are listed in
 * ./config.ts. Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
 *
 * The gateway itself lives in ./gateway.ts (another module), loaded on demand; it must export
 * {@link GatewayModule.startGateway}.
 * @module
 */

import { existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { describeConfig, loadConfig, type GatewayConfig } from "./config.js";
import { ConfigError } from "./errors.js";
import { createLogger, type Logger } from "./log.js";

/** A running gateway. */
export interface GatewayHandle {
  /** Disconnect and close the store. */
  stop(): Promise<void>;
  /** Settles when the gateway stops on its own (fatal error: rejects). Optional. */
  readonly done?: Promise<void>;
}

/** What ./gateway.ts must export. */
export interface GatewayModule {
  startGateway(config: GatewayConfig, deps: { readonly logger: Logger }): Promise<GatewayHandle>;
}

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Loads the gateway module; `undefined` when it is not built. */
  readonly loadGateway: () => Promise<GatewayModule | undefined>;
  /** Calls `stop` on SIGINT/SIGTERM; returns a function removing the handlers. */
  readonly onShutdown: (stop: () => void) => () => void;
}

const NAME = "xmpp-mls-gateway";

const USAGE = `Usage: ${NAME} [options]

Runs the xmpp-mls Delivery Service, an XEP-0114 external component.

Options:
  -c, --config <file>   JSON configuration file (default: $XMPP_MLS_CONFIG, else environment only)
      --check-config    validate the configuration, print it with the secret redacted, and exit
  -h, --help            show this help
  -V, --version         show the version

Environment overrides: XMPP_MLS_SERVICE, XMPP_MLS_DOMAIN, XMPP_MLS_SECRET or
XMPP_MLS_SECRET_FILE, XMPP_MLS_DB, XMPP_MLS_MUC_SERVICES (comma-separated), XMPP_MLS_LOG_LEVEL.
Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error.
`;

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  let values: { config?: string; "check-config"?: boolean; help?: boolean; version?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: "string", short: "c" },
        "check-config": { type: "boolean" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    io.stderr(`${NAME}: ${e instanceof Error ? e.message : String(e)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    io.stdout(USAGE);
    return 0;
  }
  if (values.version === true) {
    io.stdout(`${NAME} ${packageVersion()}\n`);
    return 0;
  }

  const file = values.config ?? (io.env.XMPP_MLS_CONFIG === "" ? undefined : io.env.XMPP_MLS_CONFIG);
  let config: GatewayConfig;
  try {
    config = loadConfig({ ...(file === undefined ? {} : { file }), env: io.env, cwd: io.cwd });
  } catch (e) {
    if (e instanceof ConfigError) {
      io.stderr(`${NAME}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (values["check-config"] === true) {
    io.stdout(`configuration OK\n${JSON.stringify(describeConfig(config), null, 2)}\n`);
    return 0;
  }

  const gateway = await io.loadGateway();
  if (gateway === undefined || typeof gateway.startGateway !== "function") {
    io.stderr(`${NAME}: the gateway module is not built (src/component/gateway.ts → dist/src/component/gateway.js); run \`npm run build\`\n`);
    return 1;
  }
  const logger = createLogger({ level: config.logLevel });
  logger.info("starting", describeConfig(config));
  let handle: GatewayHandle;
  try {
    handle = await gateway.startGateway(config, { logger });
  } catch (e) {
    logger.error("gateway failed to start", { error: e });
    return 1;
  }
  return new Promise<number>((resolve) => {
    const remove = io.onShutdown(() => {
      remove();
      logger.info("stopping");
      handle.stop().then(
        () => resolve(0),
        (e: unknown) => {
          logger.error("gateway failed to stop cleanly", { error: e });
          resolve(1);
        },
      );
    });
    handle.done?.then(
      () => {
        remove();
        resolve(0);
      },
      (e: unknown) => {
        remove();
        logger.error("gateway stopped", { error: e });
        resolve(1);
      },
    );
  });
}

/** Version of the package this file belongs to. */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "package.json");
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, "utf8")) as { name?: unknown; version?: unknown };
      if (pkg.name === "xmpp-mls" && typeof pkg.version === "string") return pkg.version;
    }
    const parent = dirname(dir);
    if (parent === dir) return "unknown";
    dir = parent;
  }
}

/** Import ./gateway.js if it exists next to this file (built or, under a TS loader, as .ts). */
async function loadGatewayModule(): Promise<GatewayModule | undefined> {
  const here = dirname(fileURLToPath(import.meta.url));
  if (!existsSync(join(here, "gateway.js")) && !existsSync(join(here, "gateway.ts"))) return undefined;
  const specifier = "./gateway.js"; // not a literal import: the module may not exist at type-check time
  return (await import(specifier)) as GatewayModule;
}

function defaultIo(): CliIo {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    loadGateway: loadGatewayModule,
    onShutdown: (stop) => {
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
      return () => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      };
    },
  };
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`${NAME}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}

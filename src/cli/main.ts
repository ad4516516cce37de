#!/usr/bin/env node
/**
 * `xmpp-mls`: the command line of the client side.
 *
 * ```
 * xmpp-mls chat --jid <user@domain/device> [options]   interactive MLS-encrypted group chat
 * xmpp-mls --help | --version
 * ```
 * Exit codes: 0 success, 1 runtime failure, 2 usage error.
 * @module
 */
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runChat, type ChatIo } from "./chat.js";

const USAGE = `Usage: xmpp-mls <command> [options]

Commands:
  chat      interactive MLS-encrypted group chat (xmpp-mls chat --help)

Options:
  -h, --help       show this help
  -V, --version    show the version
`;

function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, "package.json");
    if (existsSync(p)) {
      const pkg = JSON.parse(readFileSync(p, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "xmpp-mls") return pkg.version ?? "?";
    }
    dir = dirname(dir);
  }
  return "?";
}

export async function main(argv: readonly string[], io: ChatIo): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case "chat":
      return runChat(rest, io);
    case "-V":
    case "--version":
      io.output.write(`xmpp-mls ${packageVersion()}\n`);
      return 0;
    case undefined:
    case "-h":
    case "--help":
    case "help":
      io.output.write(USAGE);
      return cmd === undefined ? 2 : 0;
    default:
      io.errorOutput.write(`xmpp-mls: unknown command "${cmd}"\n\n${USAGE}`);
      return 2;
  }
}

function processIo(): ChatIo {
  return {
    input: process.stdin,
    output: process.stdout,
    errorOutput: process.stderr,
    env: process.env,
    onSignal: (stop) => {
      const h = (): void => stop();
      process.on("SIGINT", h);
      process.on("SIGTERM", h);
      return () => {
        process.off("SIGINT", h);
        process.off("SIGTERM", h);
      };
    },
  };
}

/** Run as the program (also through the npm bin symlink), not when imported. */
function isEntryPoint(): boolean {
  const argv1 = process.argv[1];
  if (argv1 === undefined) return false;
  try {
    return realpathSync(argv1) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2), processIo()).then(
    (code) => {
      // Let stdout drain, then exit even if a socket or timer lingers.
      process.stdout.write("", () => process.exit(code));
    },
    (e: unknown) => {
      process.stderr.write(`xmpp-mls: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}

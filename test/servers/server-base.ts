/**
 * Pieces shared by the Prosody and ejabberd launchers: run directories, binaries, log tails,
 * the readiness wait and the handle returned to callers.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { findExecutable } from "./packages.js";
import type { ManagedProcess } from "./process.js";
import { probeC2s, probeComponent, retryUntil } from "./readiness.js";
import {
  DEFAULT_COMPONENT_SECRET,
  DEFAULT_PASSWORD,
  DEFAULT_USERS,
  INSTALL_HINT,
  ServerStartError,
  type RunningServer,
  type ServerInfo,
  type ServerKind,
  type ServerOptions,
} from "./types.js";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const DEFAULT_RUN_ROOT = join(REPO_ROOT, ".run", "servers");

/** Largest stanza accepted from clients and the component (MLS Welcome messages can be large). */
export const STANZA_LIMIT = 8 * 1024 * 1024;

/** Options with every default filled in: the server's connection data before it runs, plus the timeouts. */
export interface ResolvedOptions extends Omit<ServerInfo, "pid" | "startupMs"> {
  readonly startTimeoutMs: number;
  readonly stopTimeoutMs: number;
}

/** What each server kind picks for itself when the options leave it out. */
export type KindDefaults = Pick<ServerInfo, "domain" | "host" | "c2sPort" | "componentPort">;

const LOCAL_PART = /^[a-z0-9][a-z0-9._-]*$/;
const DOMAIN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

export function resolveOptions(kind: ServerKind, defaults: KindDefaults, o: ServerOptions): ResolvedOptions {
  const name = o.name ?? kind;
  const domain = o.domain ?? defaults.domain;
  const users = o.users ?? DEFAULT_USERS;
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new ServerStartError(name, "config", `bad name ${JSON.stringify(name)}`);
  if (!DOMAIN.test(domain)) throw new ServerStartError(name, "config", `bad domain ${JSON.stringify(domain)}`);
  for (const u of users) {
    // Kept to plain local parts so they need no escaping in Lua, YAML or Erlang terms.
    if (!LOCAL_PART.test(u)) throw new ServerStartError(name, "config", `bad user name ${JSON.stringify(u)}`);
  }
  return {
    kind,
    name,
    domain,
    host: o.host ?? defaults.host,
    c2sPort: o.c2sPort ?? defaults.c2sPort,
    componentPort: o.componentPort ?? defaults.componentPort,
    componentDomain: `${o.componentName ?? "mls"}.${domain}`,
    componentSecret: o.componentSecret ?? DEFAULT_COMPONENT_SECRET,
    mucDomain: `conference.${domain}`,
    pubsubDomain: `pubsub.${domain}`,
    users: [...users],
    password: o.password ?? DEFAULT_PASSWORD,
    runDir: join(o.runRoot ?? DEFAULT_RUN_ROOT, name),
    startTimeoutMs: o.startTimeoutMs ?? 30_000,
    stopTimeoutMs: o.stopTimeoutMs ?? 5_000,
  };
}

/** Full path of an executable, or throws missing_package naming the Debian package. */
export function requireExecutable(server: string, exe: string, pkg: string): string {
  const path = findExecutable(exe);
  if (path === undefined) {
    throw new ServerStartError(server, "missing_package", `\`${exe}\` not found (Debian package ${pkg}); install with: ${INSTALL_HINT}`);
  }
  return path;
}

/** A fresh, empty run directory (old data and logs from the previous run are removed). */
export function freshRunDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}

export function tailFile(path: string, lines: number): string {
  if (!existsSync(path)) return "";
  const text = readFileSync(path, "utf8");
  const all = text.split("\n");
  if (all[all.length - 1] === "") all.pop();
  return all.slice(-lines).join("\n");
}

/** Tail of several logs, each under a header line; empty logs are left out. */
export function tailLogs(files: readonly string[], lines: number): string {
  const parts: string[] = [];
  for (const f of files) {
    const t = tailFile(f, lines);
    if (t !== "") parts.push(`--- ${f} (last ${lines} lines) ---\n${t}`);
  }
  return parts.length > 0 ? parts.join("\n") : "(no log output)";
}

export interface ReadyCheck {
  readonly opts: ResolvedOptions;
  readonly proc: ManagedProcess;
  readonly logTail: () => string;
  readonly deadline: number;
  /** Extra condition checked before the XMPP probes (e.g. "accounts registered"). */
  readonly before?: () => Promise<void>;
}

function exitReason(proc: ManagedProcess): string | undefined {
  return proc.isRunning() ? undefined : `process ${proc.pid} exited during start-up`;
}

/**
 * Wait until c2s sends stream features AND the component port answers a stream header. On failure
 * the server is stopped and the error carries the log tail.
 */
export async function waitUntilReady(c: ReadyCheck): Promise<void> {
  const { opts, proc } = c;
  const target = (port: number) => ({ host: opts.host, port });
  const abort = (): string | undefined => exitReason(proc);
  try {
    await c.before?.();
    await retryUntil(() => probeC2s(target(opts.c2sPort), opts.domain), c.deadline, abort);
    await retryUntil(() => probeComponent(target(opts.componentPort), opts.componentDomain), c.deadline, abort);
  } catch (err) {
    const died = !proc.isRunning();
    await proc.stop(opts.stopTimeoutMs);
    const what = err instanceof Error ? err.message : String(err);
    throw new ServerStartError(
      opts.name,
      died ? "exited" : "timeout",
      `not ready (c2s ${opts.host}:${opts.c2sPort}, component ${opts.host}:${opts.componentPort}): ${what}\n${c.logTail()}`,
    );
  }
}

export function makeHandle(opts: ResolvedOptions, proc: ManagedProcess, startupMs: number, logTail: (lines?: number) => string): RunningServer {
  const info: ServerInfo = {
    name: opts.name,
    kind: opts.kind,
    domain: opts.domain,
    host: opts.host,
    c2sPort: opts.c2sPort,
    componentPort: opts.componentPort,
    componentDomain: opts.componentDomain,
    componentSecret: opts.componentSecret,
    mucDomain: opts.mucDomain,
    pubsubDomain: opts.pubsubDomain,
    users: opts.users,
    password: opts.password,
    runDir: opts.runDir,
    pid: proc.pid,
    startupMs,
  };
  return {
    ...info,
    stop: () => proc.stop(opts.stopTimeoutMs),
    logTail,
    info: () => ({ ...info, users: [...info.users] }),
  };
}

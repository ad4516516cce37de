/**
 * Child processes owned by the harness: spawn, watch, stop, and clean up on exit.
 *
 * Only processes spawned here are ever signalled, always by their own pid. Each child:
 * - runs in its own process group (`detached`), so a terminal Ctrl-C reaches the test runner, which
 *   then stops the servers in order instead of the servers dying mid-write;
 * - gets `setpriv --pdeathsig TERM` when util-linux provides it, so the kernel stops it even if the
 *   runner is SIGKILLed (the signal survives the exec chain prosody → lua, erl → erlexec → beam.smp);
 * - writes stdout and stderr straight to a file (no pipe that could fill up or break).
 *
 * Exit detection reads `/proc/<pid>/stat`: a server that exits can stay a zombie for a while when it
 * was re-parented, so `kill(pid, 0)` alone would wait for nothing (notes §1).
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves when the process has exited (reaped or zombie). Never rejects. */
  readonly exited: Promise<ExitInfo>;
  /** True until the process has exited. */
  isRunning(): boolean;
  /** TERM, wait up to `timeoutMs`, then KILL. Resolves once the process is gone. Idempotent. */
  stop(timeoutMs: number): Promise<void>;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: string | null;
}

export interface SpawnOptions {
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
  /** stdout and stderr go here (appended). */
  readonly outputFile: string;
}

const live = new Set<ManagedProcess>();
const SETPRIV = "/usr/bin/setpriv";

/** "R", "S", "Z", ... or undefined when /proc has no entry (process gone and reaped). */
export function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2 is "(comm)" and may contain spaces; the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return undefined;
  }
}

function gone(pid: number): boolean {
  const s = procState(pid);
  return s === undefined || s === "Z" || s === "X";
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function spawnManaged(name: string, command: string, args: readonly string[], opts: SpawnOptions): ManagedProcess {
  installExitHooks();
  const out = openSync(opts.outputFile, "a");
  const [cmd, argv] = existsSync(SETPRIV)
    ? [SETPRIV, ["--pdeathsig", "TERM", "--", command, ...args]]
    : [command, [...args]];
  let child;
  try {
    child = spawn(cmd, argv, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["ignore", out, out],
      detached: true,
    });
  } finally {
    closeSync(out);
  }
  const pid = child.pid;
  if (pid === undefined) {
    throw new Error(`[servers] ${name}: could not spawn ${command}`);
  }
  // The harness decides when the runner may exit, not the child handle.
  child.unref();

  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once("exit", (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
    child.once("error", () => {
      exitInfo = { code: null, signal: null };
      resolve(exitInfo);
    });
  });

  let stopping: Promise<void> | undefined;
  const proc: ManagedProcess = {
    name,
    pid,
    exited,
    isRunning: () => exitInfo === undefined && !gone(pid),
    stop(timeoutMs: number): Promise<void> {
      stopping ??= (async () => {
        if (proc.isRunning()) {
          signal(pid, "SIGTERM");
          const deadline = Date.now() + timeoutMs;
          while (proc.isRunning() && Date.now() < deadline) await sleep(20);
          if (proc.isRunning()) {
            signal(pid, "SIGKILL");
            while (proc.isRunning()) await sleep(20);
          }
        }
        live.delete(proc);
      })();
      return stopping;
    },
  };
  live.add(proc);
  void exited.then(() => live.delete(proc));
  return proc;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

let hooksInstalled = false;

/**
 * On runner exit, KILL what is still alive (an 'exit' handler cannot wait). On SIGINT/SIGTERM/SIGHUP,
 * TERM every child at once; if nobody else handles the signal, re-raise it so the runner still dies.
 */
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", () => {
    for (const p of live) if (!gone(p.pid)) signal(p.pid, "SIGKILL");
  });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = (): void => {
      for (const p of live) if (!gone(p.pid)) signal(p.pid, "SIGTERM");
      process.removeListener(sig, onSignal);
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

/** Processes started by this harness in this process that have not exited yet. */
export function liveProcesses(): readonly ManagedProcess[] {
  return [...live];
}

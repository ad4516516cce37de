/**
 * Are the Debian packages the harness needs installed? Used by the harness itself and by
 * vitest.config.ts (to leave the integration project out, with a message, when they are not).
 * Only node: imports here, so the config can load it cheaply.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";

/** Full path of an executable on PATH (plus the sbin directories), or undefined. */
export function findExecutable(exe: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
  for (const d of dirs) {
    if (d === "") continue;
    const p = join(d, exe);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The directory for ERL_LIBS: the one holding `ejabberd-<version>/ebin/ejabberd.beam`, or undefined. */
export function findEjabberdLibs(): string | undefined {
  const candidates: string[] = [];
  try {
    for (const d of readdirSync("/usr/lib", { withFileTypes: true })) {
      if (d.isDirectory() && d.name.endsWith("-linux-gnu")) candidates.push(join("/usr/lib", d.name));
    }
  } catch {
    return undefined;
  }
  candidates.push("/usr/lib");
  for (const dir of candidates) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    if (names.some((n) => n.startsWith("ejabberd-") && existsSync(join(dir, n, "ebin", "ejabberd.beam")))) return dir;
  }
  return undefined;
}

/** Names of the missing pieces ("prosody", "ejabberd"); empty when both servers can be started. */
export function missingServerPackages(): string[] {
  const missing: string[] = [];
  if (findExecutable("prosody") === undefined || findExecutable("prosodyctl") === undefined) missing.push("prosody");
  if (findExecutable("erl") === undefined || findEjabberdLibs() === undefined) missing.push("ejabberd");
  return missing;
}

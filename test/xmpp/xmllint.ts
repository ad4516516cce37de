/**
 * Runs libxml2's `xmllint` for the schema tests. Missing xmllint fails loudly in CI (CI=true) and
 * skips elsewhere with the install hint.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe } from "vitest";
import { IN_CI } from "../helpers/vectors.js";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const XSD = join(ROOT, "xep", "xmpp-mls.xsd");
export const XEP = join(ROOT, "xep", "xep-xmpp-mls.xml");

const HOWTO = "install libxml2's xmllint (Debian/Ubuntu: `apt-get install libxml2-utils`)";

export function xmllintAvailable(): boolean {
  const r = spawnSync("xmllint", ["--version"], { encoding: "utf8" });
  return r.error === undefined && r.status === 0;
}

/** `describe` that needs xmllint: fails in CI when it is missing, skips with a message elsewhere. */
export function describeWithXmllint(name: string, body: () => void): void {
  if (xmllintAvailable()) {
    describe(name, body);
    return;
  }
  if (IN_CI) {
    describe(name, () => {
      throw new Error(`xmllint not found (CI=true): ${HOWTO}`);
    });
    return;
  }
  console.warn(`[xmllint] SKIPPING "${name}": xmllint not found; ${HOWTO}`);
  describe.skipIf(true)(`${name} (xmllint missing: ${HOWTO})`, () => {});
}

export interface LintResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function xmllint(args: readonly string[], cwd?: string): LintResult {
  const r = spawnSync("xmllint", [...args], { encoding: "utf8", cwd, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tempDirs: string[] = [];

/** A fresh temp dir, removed by {@link removeTempDirs}. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `xmpp-mls-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Writes each document to its own file in a fresh temp dir; returns the paths in order. */
export function writeDocs(prefix: string, docs: readonly { name: string; text: string }[]): string[] {
  const dir = tempDir(prefix);
  return docs.map((d, i) => {
    const p = join(dir, `${String(i).padStart(3, "0")}-${d.name.replace(/[^A-Za-z0-9-]+/g, "_")}.xml`);
    writeFileSync(p, d.text);
    return p;
  });
}

/**
 * Validates files against the schema in one xmllint run. Returns the files xmllint did not report
 * as valid, each with its diagnostics (empty when all validate).
 */
export function schemaFailures(files: readonly string[], xsd = XSD): { file: string; errors: string }[] {
  const r = xmllint(["--noout", "--nonet", "--schema", xsd, ...files]);
  const out = `${r.stdout}\n${r.stderr}`;
  return files
    .filter((f) => !out.includes(`${f} validates`))
    .map((f) => ({ file: f, errors: out.split("\n").filter((l) => l.startsWith(f)).join("\n") || out.slice(0, 2000) }));
}

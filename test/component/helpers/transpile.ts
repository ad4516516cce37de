/**
 * Run project TypeScript in a separate Node process (for cross-process tests: concurrent SQLite
 * connections, SIGKILL crash safety, the CLI binary). Node 20 cannot run .ts, and vitest only
 * transforms its own workers, so this transpiles an entry file and every relative import it pulls
 * in (TypeScript `transpileModule`, one file at a time, as isolatedModules allows) into a temporary
 * directory that mirrors the project layout, with `"type": "module"` and a `node_modules` symlink.
 */

import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

export const PROJECT_ROOT = fileURLToPath(new URL("../../..", import.meta.url));

export interface Transpiled {
  /** Root of the transpiled tree (mirrors PROJECT_ROOT). */
  readonly root: string;
  /** Absolute path of the transpiled `.js` of a project `.ts` path (relative to the project root). */
  js(projectPath: string): string;
  /** Remove the tree. */
  dispose(): void;
}

const IMPORT = /(?:from\s+|import\s*\(\s*|import\s+)["'](\.{1,2}\/[^"']+)["']/g;

/** Transpile `entries` (project-relative .ts paths) and their relative imports. */
export function transpileTree(entries: readonly string[]): Transpiled {
  const root = mkdtempSync(join(tmpdir(), "xmpp-mls-transpiled-"));
  writeFileSync(join(root, "package.json"), JSON.stringify({ name: "xmpp-mls-transpiled", type: "module" }));
  symlinkSync(join(PROJECT_ROOT, "node_modules"), join(root, "node_modules"), "dir");
  const done = new Set<string>();
  const queue = entries.map((e) => resolve(PROJECT_ROOT, e));
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (done.has(file)) continue;
    done.add(file);
    const source = readFileSync(file, "utf8");
    const out = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    });
    const target = join(root, relative(PROJECT_ROOT, file)).replace(/\.ts$/, ".js");
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, out.outputText);
    for (const m of source.matchAll(IMPORT)) {
      const spec = m[1]!;
      queue.push(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
    }
  }
  return {
    root,
    js: (p) => join(root, p.replace(/\.ts$/, ".js")),
    dispose: () => rmSync(root, { recursive: true, force: true }),
  };
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run `node <script> ...args` and collect its output. */
export function runNode(script: string, args: readonly string[] = [], env: Record<string, string | undefined> = process.env): Promise<RunResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code, signal) => resolveRun({ code, signal, stdout, stderr }));
  });
}

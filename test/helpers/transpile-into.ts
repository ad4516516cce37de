/**
 * Transpile a project `.ts` entry and every relative module it imports into `outDir` (same layout
 * as the sources), for worker threads started by unit tests: vitest transforms only its own
 * workers, and the pool's compiled worker script does not exist next to the sources.
 * (test/component/helpers/transpile.ts does the same for child processes, with a package.json.)
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Returns the path of the transpiled entry. */
export function transpileInto(entry: string, outDir: string): string {
  const todo = [resolve(ROOT, entry)];
  const done = new Set<string>();
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (done.has(file)) continue;
    done.add(file);
    const src = readFileSync(file, "utf8");
    const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    const out = join(outDir, relative(ROOT, file)).replace(/\.ts$/, ".js");
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, js);
    for (const m of src.matchAll(/from "(\.{1,2}\/[^"]+)\.js"/g)) todo.push(resolve(dirname(file), `${m[1]}.ts`));
  }
  return join(outDir, entry.replace(/\.ts$/, ".js"));
}

/**
 * Minimal benchmark harness: runs an operation repeatedly for a time budget after a warm-up and
 * reports operations per second (median of several rounds). Prints aligned tables.
 */
import { performance } from "node:perf_hooks";

export interface BenchResult {
  readonly opsPerSec: number;
  readonly meanMs: number;
  readonly iterations: number;
}

export interface BenchOptions {
  /** Total measuring budget in ms (default 400). */
  readonly budgetMs?: number;
  readonly rounds?: number;
  readonly warmupMs?: number;
}

export async function bench(fn: () => unknown | Promise<unknown>, opts: BenchOptions = {}): Promise<BenchResult> {
  const budget = opts.budgetMs ?? Number(process.env.BENCH_BUDGET_MS ?? 400);
  const rounds = opts.rounds ?? 5;
  const warmupEnd = performance.now() + (opts.warmupMs ?? Math.min(100, budget / 4));
  do await fn();
  while (performance.now() < warmupEnd);
  const rates: number[] = [];
  let total = 0;
  for (let r = 0; r < rounds; r++) {
    const end = performance.now() + budget / rounds;
    const start = performance.now();
    let n = 0;
    let now = start;
    do {
      await fn();
      n++;
      now = performance.now();
    } while (now < end);
    rates.push((n * 1000) / (now - start));
    total += n;
  }
  const mid = median(rates);
  return { opsPerSec: mid, meanMs: 1000 / mid, iterations: total };
}

/** The middle value (the upper one of the two middles for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Time one call (for operations too slow to repeat), in ms. */
export async function timeOnce<T>(fn: () => T | Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** Run `fn` `reps` times, one call at a time: the median time and the last value (every value with `keepAll`). */
export async function repeat<T>(reps: number, fn: (i: number) => Promise<T> | T, keepAll = false): Promise<{ ms: number; value: T; values: T[] }> {
  const times: number[] = [];
  const values: T[] = [];
  let value!: T;
  for (let i = 0; i < reps; i++) {
    const r = await timeOnce(() => fn(i));
    times.push(r.ms);
    value = r.value;
    if (keepAll) values.push(value);
  }
  return { ms: median(times), value, values };
}

export function fmtOps(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return "-";
  if (n >= 100_000) return `${Math.round(n / 1000)}k`;
  if (n >= 10_000) return `${(n / 1000).toFixed(1)}k`;
  if (n >= 100) return String(Math.round(n));
  return n.toFixed(1);
}

export function fmtMs(ms: number | undefined): string {
  if (ms === undefined || Number.isNaN(ms)) return "-";
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 10) return `${ms.toFixed(0)} ms`;
  if (ms >= 1) return `${ms.toFixed(1)} ms`;
  return `${(ms * 1000).toFixed(0)} µs`;
}

/** Print a Markdown table with right-aligned numeric columns. */
export function printTable(headers: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    "| " + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ") + " |";
  console.log(line(headers));
  console.log("|" + widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")).join("|") + "|");
  for (const r of rows) console.log(line(r));
}

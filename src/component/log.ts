/**
 * Structured logging for the gateway: one JSON object per line on stderr,
 * `{"level":"info","time":"2025-01-01T00:00:00.000Z","msg":"...", ...fields}`.
 *
 * Redaction (applied to every field, at any depth):
 * - a value under a key matching {@link REDACTED_KEY} (`secret`, `password`, `key`, `token`,
 *   any case, anywhere in the key) is printed as `"[redacted]"`, whatever it is;
 * - bytes (`Uint8Array`, `Buffer`, any `ArrayBuffer` view, `ArrayBuffer`) are printed as their
 *   length only, `"[32 bytes]"`, never their content;
 * - a {@link Secret} prints as `"[redacted]"`;
 * - long strings are cut at {@link MAX_STRING} characters (no accidental base64 dumps).
 * The message text itself is not redacted: it must be a literal written in the code.
 * @module
 */

import { Secret, logLevels, type LogLevel } from "./config.js";

/** Field names whose values are never printed. */
export const REDACTED_KEY = /secret|password|key|token/i;
/** Longest string printed in full; longer ones are cut and marked. */
export const MAX_STRING = 1024;
const MAX_DEPTH = 8;

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  readonly level: LogLevel;
  /** Whether a message at `level` would be written. */
  enabled(level: Exclude<LogLevel, "silent">): boolean;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (e.g. `{ component: "key-directory" }`). */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** Default `info`. */
  readonly level?: LogLevel;
  /** Receives each line without the newline. Default: write to `process.stderr`. */
  readonly sink?: (line: string) => void;
  /** Clock for the `time` field. Default `Date.now`. */
  readonly now?: () => number;
}

const RANK: Readonly<Record<LogLevel, number>> = Object.fromEntries(logLevels.map((l, i) => [l, i])) as Record<LogLevel, number>;
const RESERVED = new Set(["level", "time", "msg"]);

/** Create a JSON-lines logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? "info";
  const sink = options.sink ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const now = options.now ?? Date.now;
  return makeLogger(level, sink, now, {});
}

function makeLogger(level: LogLevel, sink: (line: string) => void, now: () => number, base: LogFields): Logger {
  const enabled = (l: Exclude<LogLevel, "silent">): boolean => level !== "silent" && RANK[l] >= RANK[level];
  const write = (l: Exclude<LogLevel, "silent">, msg: string, fields?: LogFields): void => {
    if (!enabled(l)) return;
    const line: Record<string, unknown> = { level: l, time: new Date(now()).toISOString(), msg };
    for (const src of [base, fields ?? {}]) {
      for (const [k, v] of Object.entries(src)) {
        const out = redactField(k, v, 0, new Set());
        if (out !== undefined) line[RESERVED.has(k) ? `${k}_` : k] = out;
      }
    }
    sink(JSON.stringify(line));
  };
  return {
    level,
    enabled,
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
    child: (fields) => makeLogger(level, sink, now, { ...base, ...fields }),
  };
}

/** A logger that drops everything (for tests and embedders without logging). */
export const silentLogger: Logger = createLogger({ level: "silent", sink: () => {} });

/**
 * Turn any value into a JSON-safe value with the redaction rules applied. `undefined`, functions
 * and symbols become `undefined` (the field is omitted).
 */
export function redact(value: unknown): unknown {
  return redactValue(value, 0, new Set());
}

function redactField(key: string, value: unknown, depth: number, seen: Set<object>): unknown {
  if (REDACTED_KEY.test(key)) return value === undefined ? undefined : "[redacted]";
  return redactValue(value, depth, seen);
}

function redactValue(v: unknown, depth: number, seen: Set<object>): unknown {
  switch (typeof v) {
    case "string":
      return v.length > MAX_STRING ? `${v.slice(0, MAX_STRING)}…[+${v.length - MAX_STRING} chars]` : v;
    case "number":
      return Number.isFinite(v) ? v : String(v);
    case "boolean":
      return v;
    case "bigint":
      return v.toString();
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
    default:
      break;
  }
  if (v === null) return null;
  const o = v as object;
  if (ArrayBuffer.isView(o)) return `[${o.byteLength} bytes]`;
  if (o instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && o instanceof SharedArrayBuffer)) {
    return `[${o.byteLength} bytes]`;
  }
  if (o instanceof Secret) return "[redacted]";
  if (o instanceof Date) return Number.isNaN(o.getTime()) ? "Invalid Date" : o.toISOString();
  if (seen.has(o)) return "[circular]";
  if (depth >= MAX_DEPTH) return "[too deep]";
  seen.add(o);
  try {
    if (o instanceof Error) return redactError(o, depth, seen);
    if (Array.isArray(o)) return o.map((x) => redactValue(x, depth + 1, seen) ?? null);
    if (o instanceof Set) return [...o].map((x) => redactValue(x, depth + 1, seen) ?? null);
    const entries: [string, unknown][] = o instanceof Map ? [...o].map(([k, x]) => [String(k), x]) : Object.entries(o);
    const out: Record<string, unknown> = {};
    for (const [k, x] of entries) {
      const r = redactField(k, x, depth + 1, seen);
      if (r !== undefined) out[k] = r;
    }
    return out;
  } finally {
    seen.delete(o);
  }
}

function redactError(e: Error, depth: number, seen: Set<object>): Record<string, unknown> {
  const out: Record<string, unknown> = { name: e.name, message: redactValue(e.message, depth + 1, seen) };
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string" || typeof code === "number") out.code = code;
  if (e.cause !== undefined) out.cause = redactValue(e.cause, depth + 1, seen);
  return out;
}

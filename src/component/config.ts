/**
 * Gateway (Delivery Service component) configuration: a JSON file plus environment overrides,
 * validated strictly. Every problem is collected and reported at once in one {@link ConfigError},
 * each with its JSON path (`$.limits.rateLimits.claimPerMinute`) or variable (`env:XMPP_MLS_DB`).
 * Unknown keys are errors; values are never echoed in messages, so a secret typed into the wrong
 * field cannot end up in a log.
 *
 * Precedence: environment variable > file > {@link CONFIG_DEFAULTS}. Empty environment variables
 * count as unset. Relative paths (`secretFile`, `database`) are resolved against the directory of
 * the config file when they come from the file, against the working directory when they come from
 * the environment.
 *
 * | variable                | overrides      | notes                                   |
 * |-------------------------|----------------|-----------------------------------------|
 * | `XMPP_MLS_SERVICE`      | `service`      |                                         |
 * | `XMPP_MLS_DOMAIN`       | `domain`       |                                         |
 * | `XMPP_MLS_SECRET`       | `secret`       | replaces `secret`/`secretFile` of the file |
 * | `XMPP_MLS_SECRET_FILE`  | `secretFile`   | replaces `secret`/`secretFile` of the file |
 * | `XMPP_MLS_DB`           | `database`     |                                         |
 * | `XMPP_MLS_MUC_SERVICES` | `mucServices`  | comma-separated                         |
 * | `XMPP_MLS_LOG_LEVEL`    | `logLevel`     |                                         |
 *
 * `docker/gateway.example.json` is a complete, valid example.
 * @module
 */

import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ALL_SUITE_IDS } from "../crypto/cipher-suite.js";
import { ConfigError, type ConfigProblem } from "./errors.js";

// ---------------------------------------------------------------------------------------------
// Types (the documentation of every field)
// ---------------------------------------------------------------------------------------------

/** Log levels, most verbose first. `silent` logs nothing. */
export const logLevels = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof logLevels)[number];

/** The lowest MUC affiliation allowed to do something: `owner` = owners only, `admin` = admins and owners. */
export type RequiredAffiliation = "owner" | "admin";

/** Per-group DS policy (RFC 9750 §5.3, §6.4). Stored with each group; new groups start from the defaults. */
export interface GroupPolicy {
  /** Who may add members (Add proposals and commits carrying them). Default `admin`. */
  readonly whoMayAdd: RequiredAffiliation;
  /** Who may remove other members (Remove proposals). Default `admin`. */
  readonly whoMayRemove: RequiredAffiliation;
  /** Accept external commits (RFC 9420 §12.4.3.2) from room members. Default `false`. */
  readonly allowExternalJoin: boolean;
  /** Who may fetch the GroupInfo (protocol §7): room `members` or `anyone`. Default `members`. */
  readonly groupInfoReadableBy: "members" | "anyone";
}

/** Policy defaults for new groups. */
export interface PolicyDefaults extends GroupPolicy {
  /**
   * Preferred framing of handshake messages: `public` (PublicMessage: the DS can validate commits
   * and enforce the policy) or `private` (PrivateMessage: the DS can only sequence). Default `public`.
   */
  readonly handshakeWireFormat: "public" | "private";
}

/** Per bare JID token-bucket rates. A burst of one minute's worth is allowed. */
export interface RateLimits {
  /** Handshake submissions (`submit`) per minute. Default 60. Range 1..100000. */
  readonly submitPerMinute: number;
  /** KeyPackage publishes per minute. Default 120. Range 1..100000. */
  readonly publishPerMinute: number;
  /** KeyPackage claims per minute. Default 120. Range 1..100000. */
  readonly claimPerMinute: number;
}

export interface Limits {
  /** Largest stanza accepted, in bytes of XML. Default 262144 (256 KiB). Range 1024..16777216. */
  readonly maxStanzaBytes: number;
  /**
   * Largest MLS payload (decoded bytes of one MLSMessage). Default 131072 (128 KiB). Range
   * 64..16777216; its base64 form must fit in `maxStanzaBytes`.
   */
  readonly maxPayloadBytes: number;
  readonly rateLimits: RateLimits;
  /** Send a low-water notice when a device has this many ordinary KeyPackages or fewer. Default 2. Range 0..1000. */
  readonly keyPackageLowWater: number;
  /** Most ordinary KeyPackages stored per device. Default 100. Range 1..10000, above `keyPackageLowWater`. */
  readonly maxKeyPackagesPerDevice: number;
  /** Cipher suites accepted for KeyPackages and groups (RFC 9420 §17.1 ids 1..7). Default all seven. */
  readonly cipherSuites: readonly number[];
}

/** The validated gateway configuration. */
export interface GatewayConfig {
  /** Where the XMPP server accepts components (XEP-0114), normalized `xmpp://host:port` (port defaults to 5347). */
  readonly service: string;
  /** The component's domain, e.g. `mls.example.org` (also the DS JID). */
  readonly domain: string;
  /** The XEP-0114 shared secret (from `secret` or the first line of `secretFile`). Never printed. */
  readonly secret: Secret;
  /** SQLite database path (absolute), or `:memory:` for a throw-away store. Default `xmpp-mls-gateway.sqlite`. */
  readonly database: string;
  /** MUC service domains whose rooms this DS serves, e.g. `["conference.example.org"]`. At least one. */
  readonly mucServices: readonly string[];
  readonly policy: PolicyDefaults;
  readonly limits: Limits;
  /** Default `info`. */
  readonly logLevel: LogLevel;
}

/**
 * A secret string that does not print itself: `String(s)`, `JSON.stringify(s)` and
 * `util.inspect(s)` all give `[redacted]`. Use {@link Secret.reveal} where the value is needed.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return "[redacted]";
  }
  toJSON(): string {
    return "[redacted]";
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return "[redacted]";
  }
}

// ---------------------------------------------------------------------------------------------
// Defaults, in one place
// ---------------------------------------------------------------------------------------------

export const CONFIG_DEFAULTS = Object.freeze({
  database: "xmpp-mls-gateway.sqlite",
  servicePort: 5347,
  logLevel: "info" as LogLevel,
  policy: Object.freeze<PolicyDefaults>({
    whoMayAdd: "admin",
    whoMayRemove: "admin",
    allowExternalJoin: false,
    groupInfoReadableBy: "members",
    handshakeWireFormat: "public",
  }),
  limits: Object.freeze<Limits>({
    maxStanzaBytes: 262_144,
    maxPayloadBytes: 131_072,
    rateLimits: Object.freeze({ submitPerMinute: 60, publishPerMinute: 120, claimPerMinute: 120 }),
    keyPackageLowWater: 2,
    maxKeyPackagesPerDevice: 100,
    cipherSuites: Object.freeze([...ALL_SUITE_IDS]),
  }),
});

/** Environment variables read by {@link parseConfig}. */
export const CONFIG_ENV = {
  service: "XMPP_MLS_SERVICE",
  domain: "XMPP_MLS_DOMAIN",
  secret: "XMPP_MLS_SECRET",
  secretFile: "XMPP_MLS_SECRET_FILE",
  database: "XMPP_MLS_DB",
  mucServices: "XMPP_MLS_MUC_SERVICES",
  logLevel: "XMPP_MLS_LOG_LEVEL",
} as const;

// ---------------------------------------------------------------------------------------------
// Checking helpers: each reports into `Problems` and returns undefined on failure
// ---------------------------------------------------------------------------------------------

class Problems {
  readonly list: ConfigProblem[] = [];
  add(path: string, message: string): undefined {
    this.list.push({ path, message });
    return undefined;
  }
}

type Json = Record<string, unknown>;

/** Type name of a JSON value, for messages (never the value itself). */
function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Check `v` is an object with only `allowed` keys; report each unknown key. */
function object(p: Problems, v: unknown, path: string, allowed: readonly string[]): Json | undefined {
  if (!isObject(v)) return p.add(path, `must be an object, got ${kindOf(v)}`);
  for (const k of Object.keys(v)) if (!allowed.includes(k)) p.add(`${path}.${k}`, `unknown key (allowed: ${allowed.join(", ")})`);
  return v;
}

function string(p: Problems, v: unknown, path: string, check?: (s: string) => string | undefined): string | undefined {
  if (typeof v !== "string") return p.add(path, `must be a string, got ${kindOf(v)}`);
  if (v.length === 0) return p.add(path, "must not be empty");
  const why = check?.(v);
  return why === undefined ? v : p.add(path, why);
}

function integer(p: Problems, v: unknown, path: string, min: number, max: number): number | undefined {
  if (typeof v !== "number") return p.add(path, `must be a number, got ${kindOf(v)}`);
  if (!Number.isInteger(v)) return p.add(path, "must be an integer");
  if (v < min || v > max) return p.add(path, `must be between ${min} and ${max}`);
  return v;
}

function boolean(p: Problems, v: unknown, path: string): boolean | undefined {
  return typeof v === "boolean" ? v : p.add(path, `must be true or false, got ${kindOf(v)}`);
}

function oneOf<T extends string>(p: Problems, v: unknown, path: string, options: readonly T[]): T | undefined {
  if (typeof v !== "string") return p.add(path, `must be one of ${options.join(", ")}; got ${kindOf(v)}`);
  return (options as readonly string[]).includes(v) ? (v as T) : p.add(path, `must be one of ${options.join(", ")}`);
}

const DOMAIN_LABEL = /^[\p{L}\p{N}](?:[\p{L}\p{N}_-]{0,61}[\p{L}\p{N}])?$/u;

/** XMPP domainpart (RFC 7622 §3.2), kept simple: dot-separated labels, no JID separators. */
function checkDomain(s: string): string | undefined {
  if (s.length > 1023) return "must be a domain of at most 1023 characters";
  const labels = s.split(".");
  return labels.every((l) => DOMAIN_LABEL.test(l)) ? undefined : "must be a domain name (labels of letters, digits, '-', separated by '.')";
}

/** `xmpp://host[:port]`, nothing else. */
function normalizeService(s: string): string | { error: string } {
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return { error: "must be a URL of the form xmpp://host:port" };
  }
  if (url.protocol !== "xmpp:") return { error: "must use the xmpp:// scheme (XEP-0114 component connection)" };
  if (url.hostname === "") return { error: "must name a host (xmpp://host:port)" };
  if (url.username !== "" || url.password !== "") return { error: "must not contain credentials (use secret or secretFile)" };
  if ((url.pathname !== "" && url.pathname !== "/") || url.search !== "" || url.hash !== "") {
    return { error: "must be only xmpp://host:port (no path, query or fragment)" };
  }
  const port = url.port === "" ? CONFIG_DEFAULTS.servicePort : Number(url.port);
  return `xmpp://${url.hostname.toLowerCase()}:${port}`;
}

function service(p: Problems, v: unknown, path: string): string | undefined {
  const s = string(p, v, path);
  if (s === undefined) return undefined;
  const n = normalizeService(s);
  return typeof n === "string" ? n : p.add(path, n.error);
}

function domainList(p: Problems, v: unknown, path: string): string[] | undefined {
  if (!Array.isArray(v)) return p.add(path, `must be an array of domains, got ${kindOf(v)}`);
  if (v.length === 0) return p.add(path, "must list at least one MUC service domain");
  const out: string[] = [];
  v.forEach((d, i) => {
    const s = string(p, d, `${path}[${i}]`, checkDomain)?.toLowerCase();
    if (s === undefined) return;
    if (out.includes(s)) p.add(`${path}[${i}]`, "duplicate entry");
    else out.push(s);
  });
  return out.length === v.length ? out : undefined;
}

// ---------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------

const AFFILIATIONS: readonly RequiredAffiliation[] = ["owner", "admin"];
const POLICY_KEYS = ["whoMayAdd", "whoMayRemove", "allowExternalJoin", "groupInfoReadableBy", "handshakeWireFormat"] as const;
const GROUP_POLICY_KEYS = POLICY_KEYS.filter((k) => k !== "handshakeWireFormat");

function policySection(p: Problems, v: unknown, path: string, keys: readonly string[]): Partial<PolicyDefaults> | undefined {
  const o = object(p, v, path, keys);
  if (o === undefined) return undefined;
  const out: { -readonly [K in keyof PolicyDefaults]?: PolicyDefaults[K] } = {};
  if (o.whoMayAdd !== undefined) out.whoMayAdd = oneOf(p, o.whoMayAdd, `${path}.whoMayAdd`, AFFILIATIONS);
  if (o.whoMayRemove !== undefined) out.whoMayRemove = oneOf(p, o.whoMayRemove, `${path}.whoMayRemove`, AFFILIATIONS);
  if (o.allowExternalJoin !== undefined) out.allowExternalJoin = boolean(p, o.allowExternalJoin, `${path}.allowExternalJoin`);
  if (o.groupInfoReadableBy !== undefined) {
    out.groupInfoReadableBy = oneOf(p, o.groupInfoReadableBy, `${path}.groupInfoReadableBy`, ["members", "anyone"] as const);
  }
  if (o.handshakeWireFormat !== undefined) {
    out.handshakeWireFormat = oneOf(p, o.handshakeWireFormat, `${path}.handshakeWireFormat`, ["public", "private"] as const);
  }
  return out;
}

/**
 * Check a stored or submitted group policy (all four fields required, nothing else).
 * Returns the problems found; empty means `v` is a valid {@link GroupPolicy}.
 */
export function checkGroupPolicy(v: unknown, path = "policy"): ConfigProblem[] {
  const p = new Problems();
  const got = policySection(p, v, path, GROUP_POLICY_KEYS);
  if (got !== undefined) for (const k of GROUP_POLICY_KEYS) if (!(k in (v as Json))) p.add(`${path}.${k}`, "required");
  return p.list;
}

function limitsSection(p: Problems, v: unknown, path: string): Limits {
  const d = CONFIG_DEFAULTS.limits;
  const o = object(p, v, path, ["maxStanzaBytes", "maxPayloadBytes", "rateLimits", "keyPackageLowWater", "maxKeyPackagesPerDevice", "cipherSuites"]);
  if (o === undefined) return d;
  const num = (key: string, min: number, max: number, dflt: number): number =>
    o[key] === undefined ? dflt : (integer(p, o[key], `${path}.${key}`, min, max) ?? dflt);

  const maxStanzaBytes = num("maxStanzaBytes", 1024, 16_777_216, d.maxStanzaBytes);
  const maxPayloadBytes = num("maxPayloadBytes", 64, 16_777_216, d.maxPayloadBytes);
  if (4 * Math.ceil(maxPayloadBytes / 3) > maxStanzaBytes) {
    p.add(`${path}.maxPayloadBytes`, "its base64 form must fit in maxStanzaBytes (payload × 4/3 ≤ maxStanzaBytes)");
  }
  let rateLimits: RateLimits = d.rateLimits;
  if (o.rateLimits !== undefined) {
    const rp = `${path}.rateLimits`;
    const r = object(p, o.rateLimits, rp, ["submitPerMinute", "publishPerMinute", "claimPerMinute"]);
    if (r !== undefined) {
      const rate = (key: keyof RateLimits): number =>
        r[key] === undefined ? d.rateLimits[key] : (integer(p, r[key], `${rp}.${key}`, 1, 100_000) ?? d.rateLimits[key]);
      rateLimits = { submitPerMinute: rate("submitPerMinute"), publishPerMinute: rate("publishPerMinute"), claimPerMinute: rate("claimPerMinute") };
    }
  }
  const keyPackageLowWater = num("keyPackageLowWater", 0, 1000, d.keyPackageLowWater);
  const maxKeyPackagesPerDevice = num("maxKeyPackagesPerDevice", 1, 10_000, d.maxKeyPackagesPerDevice);
  if (maxKeyPackagesPerDevice <= keyPackageLowWater) {
    p.add(`${path}.maxKeyPackagesPerDevice`, "must be greater than keyPackageLowWater");
  }
  let cipherSuites: readonly number[] = d.cipherSuites;
  if (o.cipherSuites !== undefined) {
    const cp = `${path}.cipherSuites`;
    if (!Array.isArray(o.cipherSuites)) p.add(cp, `must be an array of cipher suite ids, got ${kindOf(o.cipherSuites)}`);
    else if (o.cipherSuites.length === 0) p.add(cp, "must allow at least one cipher suite");
    else {
      const list: number[] = [];
      o.cipherSuites.forEach((s, i) => {
        const id = integer(p, s, `${cp}[${i}]`, 1, 7);
        if (id === undefined) return;
        if (list.includes(id)) p.add(`${cp}[${i}]`, "duplicate entry");
        else list.push(id);
      });
      cipherSuites = list;
    }
  }
  return { maxStanzaBytes, maxPayloadBytes, rateLimits, keyPackageLowWater, maxKeyPackagesPerDevice, cipherSuites };
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

export interface ParseConfigOptions {
  /** Environment (default: none). Only the variables of {@link CONFIG_ENV} are read. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Directory relative paths of the file are resolved against (default: `cwd`). */
  readonly baseDir?: string;
  /** Directory relative paths of the environment are resolved against (default: `process.cwd()`). */
  readonly cwd?: string;
  /** Reads a secret file (default: `fs.readFileSync(path, "utf8")`). */
  readonly readSecretFile?: (path: string) => string;
}

const TOP_KEYS = ["service", "domain", "secret", "secretFile", "database", "mucServices", "policy", "limits", "logLevel"] as const;

/**
 * Validate a parsed JSON config (or `{}` for environment-only use) and apply the environment.
 * @throws ConfigError listing every problem.
 */
export function parseConfig(raw: unknown, options: ParseConfigOptions = {}): GatewayConfig {
  const p = new Problems();
  const env = options.env ?? {};
  const cwd = options.cwd ?? process.cwd();
  const baseDir = options.baseDir ?? cwd;
  const readSecret = options.readSecretFile ?? ((f: string) => readFileSync(f, "utf8"));
  const o = object(p, raw, "$", TOP_KEYS) ?? {};
  const envValue = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === "" ? undefined : v;
  };

  // Each field: the environment wins over the file; each source is checked under its own path.
  const pick = <T>(key: (typeof TOP_KEYS)[number], envName: string | undefined, check: (v: unknown, path: string) => T | undefined): T | undefined => {
    const e = envName === undefined ? undefined : envValue(envName);
    if (e !== undefined) return check(e, `env:${envName}`);
    return o[key] === undefined ? undefined : check(o[key], `$.${key}`);
  };

  const svc = pick("service", CONFIG_ENV.service, (v, path) => service(p, v, path));
  if (svc === undefined && envValue(CONFIG_ENV.service) === undefined && o.service === undefined) {
    p.add("$.service", `required (or set ${CONFIG_ENV.service})`);
  }
  const domain = pick("domain", CONFIG_ENV.domain, (v, path) => string(p, v, path, checkDomain)?.toLowerCase());
  if (domain === undefined && envValue(CONFIG_ENV.domain) === undefined && o.domain === undefined) {
    p.add("$.domain", `required (or set ${CONFIG_ENV.domain})`);
  }

  const secret = readSecretSetting(p, o, envValue, baseDir, cwd, readSecret);

  let database = resolve(baseDir, CONFIG_DEFAULTS.database);
  const dbEnv = envValue(CONFIG_ENV.database);
  if (dbEnv !== undefined) database = dbEnv === ":memory:" ? dbEnv : resolve(cwd, dbEnv);
  else if (o.database !== undefined) {
    const d = string(p, o.database, "$.database");
    if (d !== undefined) database = d === ":memory:" ? d : resolve(baseDir, d);
  }

  const mucEnv = envValue(CONFIG_ENV.mucServices);
  const mucServices =
    mucEnv !== undefined
      ? domainList(p, mucEnv.split(",").map((s) => s.trim()), `env:${CONFIG_ENV.mucServices}`)
      : o.mucServices === undefined
        ? p.add("$.mucServices", `required: the MUC service domain(s) to serve (or set ${CONFIG_ENV.mucServices})`)
        : domainList(p, o.mucServices, "$.mucServices");

  const logLevel = pick("logLevel", CONFIG_ENV.logLevel, (v, path) => oneOf(p, v, path, logLevels)) ?? CONFIG_DEFAULTS.logLevel;
  const policy = { ...CONFIG_DEFAULTS.policy, ...(o.policy === undefined ? {} : policySection(p, o.policy, "$.policy", POLICY_KEYS)) };
  const limits = o.limits === undefined ? CONFIG_DEFAULTS.limits : limitsSection(p, o.limits, "$.limits");

  if (p.list.length > 0 || svc === undefined || domain === undefined || secret === undefined || mucServices === undefined) {
    throw new ConfigError(p.list);
  }
  return Object.freeze({ service: svc, domain, secret, database, mucServices: Object.freeze(mucServices), policy: Object.freeze(policy as PolicyDefaults), limits, logLevel });
}

/** `secret` / `secretFile` from the environment (which replaces both file fields) or the file. */
function readSecretSetting(
  p: Problems,
  o: Json,
  envValue: (name: string) => string | undefined,
  baseDir: string,
  cwd: string,
  readSecret: (path: string) => string,
): Secret | undefined {
  const eSecret = envValue(CONFIG_ENV.secret);
  const eFile = envValue(CONFIG_ENV.secretFile);
  let literal: { value: unknown; path: string } | undefined;
  let file: { value: unknown; path: string; dir: string } | undefined;
  if (eSecret !== undefined || eFile !== undefined) {
    if (eSecret !== undefined && eFile !== undefined) {
      return p.add(`env:${CONFIG_ENV.secret}`, `set only one of ${CONFIG_ENV.secret} and ${CONFIG_ENV.secretFile}`);
    }
    if (eSecret !== undefined) literal = { value: eSecret, path: `env:${CONFIG_ENV.secret}` };
    if (eFile !== undefined) file = { value: eFile, path: `env:${CONFIG_ENV.secretFile}`, dir: cwd };
  } else {
    if (o.secret !== undefined && o.secretFile !== undefined) return p.add("$.secret", 'set only one of "secret" and "secretFile"');
    if (o.secret !== undefined) literal = { value: o.secret, path: "$.secret" };
    if (o.secretFile !== undefined) file = { value: o.secretFile, path: "$.secretFile", dir: baseDir };
  }
  if (literal !== undefined) {
    // Never echo: the checks below describe the problem without the value.
    if (typeof literal.value !== "string") return p.add(literal.path, `must be a string, got ${kindOf(literal.value)}`);
    return checkSecret(p, literal.value, literal.path);
  }
  if (file !== undefined) {
    const f = string(p, file.value, file.path);
    if (f === undefined) return undefined;
    const full = resolve(file.dir, f);
    let text: string;
    try {
      text = readSecret(full);
    } catch (e) {
      const code = typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : "read error";
      return p.add(file.path, `cannot read secret file ${full} (${code})`);
    }
    // A trailing newline is what editors and `echo` add; it is not part of the secret.
    return checkSecret(p, text.replace(/\r?\n$/, ""), `${file.path} (${full})`);
  }
  return p.add("$.secret", `required: set "secret" or "secretFile" (or ${CONFIG_ENV.secret} / ${CONFIG_ENV.secretFile})`);
}

function checkSecret(p: Problems, s: string, path: string): Secret | undefined {
  if (s.length === 0) return p.add(path, "the secret is empty");
  if (s.length > 1024) return p.add(path, "the secret is longer than 1024 characters");
  if (/[\r\n]/.test(s)) return p.add(path, "the secret must be a single line");
  return new Secret(s);
}

export interface LoadConfigOptions extends Omit<ParseConfigOptions, "baseDir"> {
  /** JSON config file; without one, everything comes from the environment and the defaults. */
  readonly file?: string;
  /** Reads the config file (default: `fs.readFileSync(path, "utf8")`). */
  readonly readFile?: (path: string) => string;
}

/**
 * Read, parse and validate the config file (if any) and apply the environment.
 * @throws ConfigError listing every problem (unreadable file and JSON syntax errors included).
 */
export function loadConfig(options: LoadConfigOptions = {}): GatewayConfig {
  const cwd = options.cwd ?? process.cwd();
  if (options.file === undefined) return parseConfig({}, { ...options, cwd, baseDir: cwd });
  const path = resolve(cwd, options.file);
  let text: string;
  try {
    text = (options.readFile ?? ((f: string) => readFileSync(f, "utf8")))(path);
  } catch (e) {
    const code = typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : "read error";
    throw new ConfigError([{ path: "$", message: `cannot read config file ${path} (${code})` }]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    // V8's message quotes the text around the error, which may be the secret: report the position only.
    const m = /position (\d+)/.exec(e instanceof Error ? e.message : "");
    const where = m?.[1] === undefined ? "" : ` at ${lineColumn(text, Number(m[1]))}`;
    throw new ConfigError([{ path: "$", message: `${path} is not valid JSON${where}` }]);
  }
  return parseConfig(raw, { ...options, cwd, baseDir: dirname(path) });
}

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - before.lastIndexOf("\n");
  return `line ${line} column ${column}`;
}

/** A printable summary of a config (no secret), for `--check-config` and the startup log. */
export function describeConfig(c: GatewayConfig): Record<string, unknown> {
  return {
    service: c.service,
    domain: c.domain,
    secret: "[redacted]",
    database: c.database,
    mucServices: c.mucServices,
    policy: c.policy,
    limits: c.limits,
    logLevel: c.logLevel,
  };
}

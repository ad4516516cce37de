/**
 * What the servers kept, for the demo's last step: the DS's SQLite database (read directly with
 * SQL, read-only) and Prosody's files (MUC archive, personal MAM archives, offline storage,
 * accounts, logs). Prints a few stored entries (base64, truncated) and scans every stored item and
 * every file for the plaintexts the users typed.
 *
 * Prosody 0.12's "internal" storage writes archives as Lua: one `item({ ... })` call per stanza,
 * with elements as tables (`{ "text"; ["name"] = "mls"; ["attr"] = { ... } }`). The parsing here
 * only pulls out what is printed; the scan works on the raw bytes of every file.
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import Database from "better-sqlite3";
import { wireFormats } from "../../src/mls/core/protocol.js";
import { decodeMlsMessage } from "../../src/mls/framing/mls-message.js";
import { FALLBACK_BODY } from "../../src/xmpp/delivery-stanzas.js";
import { NS_MLS } from "../../src/xmpp/ns.js";
import { b64Preview, dim, type Report } from "./report.js";
import type { Stack } from "./stack.js";

/** Every regular file under `dir`, sorted. */
export function findFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...findFiles(p));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

const WIRE_NAMES = new Map<number, string>(Object.entries(wireFormats).map(([k, v]) => [v as number, k]));

function wireFormatOf(bytes: Uint8Array): string {
  try {
    return WIRE_NAMES.get(decodeMlsMessage(bytes).wireFormat) ?? "?";
  } catch {
    return "not an MLSMessage";
  }
}

interface DsItem {
  readonly table: string;
  readonly cells: readonly (string | Uint8Array)[];
}

/** Every row of every table (but the migrations list), cells as text or bytes. */
function readDsItems(database: string): { items: DsItem[]; counts: Map<string, number>; log: Record<string, unknown>[] } {
  const db = new Database(database, { readonly: true, fileMustExist: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'schema_migrations' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    const items: DsItem[] = [];
    const counts = new Map<string, number>();
    for (const t of tables) {
      const rows = db.prepare(`SELECT * FROM "${t}"`).all() as Record<string, unknown>[];
      counts.set(t, rows.length);
      for (const r of rows) {
        items.push({ table: t, cells: Object.values(r).flatMap<string | Uint8Array>((v) => (typeof v === "string" ? [v] : v instanceof Uint8Array ? [v] : [])) });
      }
    }
    const log = db.prepare("SELECT seq, epoch, kind, sender, bytes FROM group_log ORDER BY group_id, seq").all() as Record<string, unknown>[];
    return { items, counts, log };
  } finally {
    db.close();
  }
}

interface ArchivedStanza {
  readonly file: string;
  readonly from: string;
  readonly when: number;
  /** The MLS payload element (`mls` or `welcome`) and its attributes, if any. */
  readonly payload?: { readonly name: string; readonly attrs: Readonly<Record<string, string>>; readonly b64: string };
  readonly hasFallbackBody: boolean;
}

// ------------------------------------------------------------------ Prosody's Lua archive files

/** A Lua table: positional values and string keys. */
interface LuaTable {
  readonly list: LuaValue[];
  readonly map: Map<string, LuaValue>;
}
type LuaValue = string | number | boolean | LuaTable;

/**
 * Parses the subset of Lua that Prosody's datamanager writes: `item({ ... });` calls whose
 * argument is a table of strings, numbers, booleans and tables, keys `["k"] =` or bare names.
 */
function parseLuaItems(text: string): LuaTable[] {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const fail = (what: string): never => {
    throw new Error(`unexpected ${JSON.stringify(text.slice(i, i + 20))} at ${i}: expected ${what}`);
  };
  const str = (): string => {
    const q = text[i++]!;
    let out = "";
    while (text[i] !== q) {
      if (i >= text.length) fail("end of string");
      const c = text[i++]!;
      if (c !== "\\") {
        out += c;
        continue;
      }
      const d = /^\d{1,3}/.exec(text.slice(i));
      if (d !== null) {
        out += String.fromCharCode(Number(d[0]));
        i += d[0].length;
      } else {
        const e = text[i++]!;
        out += e === "n" ? "\n" : e === "r" ? "\r" : e === "t" ? "\t" : e;
      }
    }
    i++;
    return out;
  };
  const value = (): LuaValue => {
    ws();
    const c = text[i];
    if (c === "{") return table();
    if (c === '"' || c === "'") return str();
    const m = /^(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?|true|false)/.exec(text.slice(i));
    if (m === null) return fail("a value");
    i += m[0].length;
    return m[0] === "true" ? true : m[0] === "false" ? false : Number(m[0]);
  };
  const table = (): LuaTable => {
    const t: LuaTable = { list: [], map: new Map() };
    i++; // {
    for (;;) {
      ws();
      if (text[i] === "}") {
        i++;
        return t;
      }
      let key: string | undefined;
      if (text[i] === "[") {
        i++;
        ws();
        key = String(value());
        ws();
        if (text[i++] !== "]") fail("]");
        ws();
        if (text[i++] !== "=") fail("=");
      } else {
        const m = /^([A-Za-z_]\w*)\s*=(?!=)/.exec(text.slice(i));
        if (m !== null) {
          key = m[1]!;
          i += m[0].length;
        }
      }
      const v = value();
      if (key === undefined) t.list.push(v);
      else t.map.set(key, v);
      ws();
      if (text[i] === ";" || text[i] === ",") i++;
    }
  };
  const items: LuaTable[] = [];
  for (;;) {
    ws();
    if (i >= text.length) return items;
    if (!text.startsWith("item(", i)) fail("item(");
    i += 5;
    ws();
    const v = value();
    if (typeof v !== "object") fail("a table");
    items.push(v as LuaTable);
    ws();
    if (text[i++] !== ")") fail(")");
    ws();
    if (text[i] === ";") i++;
  }
}

/** A stanza as Prosody serializes it: `{ child...; ["name"] = ...; ["attr"] = {...} }`. */
interface StoredElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly (StoredElement | string)[];
}

function toElement(t: LuaTable): StoredElement {
  const attr = t.map.get("attr");
  const attrs: Record<string, string> = {};
  if (typeof attr === "object") for (const [k, v] of attr.map) attrs[k] = String(v);
  return { name: String(t.map.get("name") ?? ""), attrs, children: t.list.map((c) => (typeof c === "object" ? toElement(c) : String(c))) };
}

function findChild(el: StoredElement, pred: (e: StoredElement) => boolean): StoredElement | undefined {
  for (const c of el.children) {
    if (typeof c === "string") continue;
    if (pred(c)) return c;
    const deeper = findChild(c, pred);
    if (deeper !== undefined) return deeper;
  }
  return undefined;
}

const textOf = (el: StoredElement): string => el.children.filter((c): c is string => typeof c === "string").join("");

/** The stanzas of one Prosody archive (`.list`) file. */
function readArchive(file: string): ArchivedStanza[] {
  return parseLuaItems(readFileSync(file, "utf8")).map((item) => {
    // The archived stanza is the item table itself (with "key", "when", "with" beside name/attr).
    const stanza = toElement(item);
    const when = Number(item.map.get("when") ?? 0);
    const p = findChild(stanza, (e) => (e.name === "mls" || e.name === "welcome") && e.attrs.xmlns === NS_MLS);
    const body = findChild(stanza, (e) => e.name === "body");
    return {
      file,
      from: stanza.attrs.from ?? "?",
      when,
      ...(p !== undefined && { payload: { name: p.name, attrs: p.attrs, b64: textOf(p) } }),
      hasFallbackBody: body !== undefined && textOf(body) === FALLBACK_BODY,
    };
  });
}

export interface StorageCheck {
  readonly room: string;
  /** Everything the users typed (and distinctive phrases of it). */
  readonly plaintexts: readonly string[];
  /** How many application messages were sent to the room. */
  readonly applicationMessages: number;
}

export async function inspectStorage(report: Report, stack: Stack, o: StorageCheck): Promise<void> {
  const rel = (p: string): string => relative(process.cwd(), p);

  // ---------------------------------------------------------------- the DS
  const ds = readDsItems(stack.database);
  report.line(`DS database ${rel(stack.database)}: ${[...ds.counts].map(([t, n]) => `${t} ${n}`).join(", ")}`);
  report.line(dim("  group_log (the handshake log the DS orders and serves for catch-up):"));
  for (const e of ds.log) {
    const bytes = e.bytes as Uint8Array;
    report.line(
      dim(`    seq ${String(e.seq).padStart(2)}  epoch ${String(e.epoch).padStart(2)}  ${String(e.kind).padEnd(14)} ${String(e.sender).padEnd(28)} ${wireFormatOf(bytes).padEnd(19)} `) + b64Preview(bytes, 32),
    );
  }
  const appEntries = ds.log.filter((e) => !["commit", "proposal", "welcome-record"].includes(String(e.kind))).length;
  report.check(appEntries === 0 && ds.log.length > 0, "the DS log holds only handshakes (Commits, Welcomes); application messages never go through the DS");

  // ---------------------------------------------------------------- Prosody
  const prosodyFiles = findFiles(stack.server.runDir);
  const archives = prosodyFiles.filter((f) => f.endsWith(".list"));
  const stanzas = archives.flatMap(readArchive);
  const muc = stanzas.filter((s) => s.file.includes("/muc_log/"));
  report.line(`Prosody ${rel(stack.server.runDir)}: ${prosodyFiles.length} files; MUC archive (MAM) of ${o.room}: ${muc.length} stanzas; personal archives/offline: ${stanzas.length - muc.length} stanzas`);
  const apps = muc.filter((s) => s.payload?.attrs.kind === "application");
  const shown = [...muc.filter((s) => s.payload?.attrs.kind === "commit").slice(0, 1), ...apps.slice(0, 3), ...stanzas.filter((s) => s.payload?.name === "welcome").slice(0, 1)];
  for (const s of shown) {
    const p = s.payload!;
    const what = p.name === "welcome" ? `welcome epoch ${p.attrs.epoch ?? "?"}` : `mls ${p.attrs.kind ?? "?"} epoch ${p.attrs.epoch ?? "?"}`;
    const where = s.file.includes("/muc_log/") ? "room archive" : `${s.file.split("/").at(-2)} of ${s.file.split("/").at(-1)?.replace(".list", "")}`;
    report.line(dim(`    ${new Date(s.when * 1000).toISOString().slice(11, 19)}  ${where.padEnd(19)} from ${s.from.padEnd(45)} <${what}> `) + b64Preview(new Uint8Array(Buffer.from(p.b64, "base64")), 32));
  }
  report.check(apps.length === o.applicationMessages, `the room archive holds the ${apps.length} application messages as MLS ciphertext (<mls kind='application'>)`);

  // ---------------------------------------------------------------- the scan
  const needles = [...new Set(o.plaintexts)].map((t) => ({ text: t, bytes: Buffer.from(t, "utf8") }));
  const hits: string[] = [];
  for (const it of ds.items) {
    for (const c of it.cells) {
      const buf = typeof c === "string" ? Buffer.from(c, "utf8") : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
      for (const n of needles) if (buf.includes(n.bytes)) hits.push(`DS table ${it.table}: "${n.text}"`);
    }
  }
  const dsFiles = findFiles(stack.runDir).filter((f) => f.startsWith(join(stack.runDir, "gateway")));
  const files = [...dsFiles, ...prosodyFiles];
  for (const f of files) {
    const buf = readFileSync(f);
    for (const n of needles) if (buf.includes(n.bytes)) hits.push(`${rel(f)}: "${n.text}"`);
  }
  const items = ds.items.length + stanzas.length;
  report.line(
    `plaintext scan: ${needles.length} strings (every message typed, and a distinctive phrase of each) searched in ${ds.items.length} DS rows, ` +
      `${stanzas.length} archived stanzas and the raw bytes of ${files.length} files (${dsFiles.length} DS, ${prosodyFiles.length} Prosody: data, config, logs)`,
  );
  const control = muc.filter((s) => s.hasFallbackBody).length;
  report.check(control > 0, `scanner control: it does find the unencrypted fallback <body/> ("${FALLBACK_BODY.slice(0, 32)}…") in ${control} archived stanzas`);
  report.check(hits.length === 0, `no plaintext found in ${items} stored items / ${files.length} archive files`, hits.slice(0, 5).join("; "));
}

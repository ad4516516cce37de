/**
 * A {@link ClientStore} in a directory, encrypted at rest (XEP "Endpoint Compromise": clients
 * SHOULD store MLS state encrypted at rest).
 *
 *   <dir>/store-header.json   {format, version, kdf: {scrypt N r p, salt}, check}
 *   <dir>/<hex HMAC-SHA-256(nameKey, name)>.blob
 *       "XMF1" || nonce(12) || AES-256-GCM(encKey, nonce, aad = "xmpp-mls FileStore blob" || file id, value)
 *
 * Keys: scrypt(passphrase, salt) → 64 octets = encKey (AES-256-GCM) || nameKey (HMAC). The salt
 * and the scrypt cost live in the header; `check` is an AEAD box under encKey that tells a wrong
 * passphrase ({@link ClientStoreError} `store.wrong_passphrase`) from a damaged blob
 * (`store.corrupt`). The file id is in the AAD, so a blob moved to another name fails to open.
 * Names (which contain JIDs and group ids) never reach the disk.
 *
 * Writes are atomic: the blob goes to a unique temporary file in the same directory, is synced,
 * then renamed over the old one (rename(2) is atomic within a file system); the directory is
 * synced after the rename.
 *
 * This module is Node-only (node:fs), and uses node:crypto directly like src/mls/auth/x509.ts:
 * scrypt is not part of the MLS CipherSuite interface, and a browser build has no file store.
 * @module
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, scrypt as scryptCb, type ScryptOptions } from "node:crypto";
import { mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "../../errors.js";
import { concat, fromBase64, toBase64, toHex, utf8, wipe } from "../../util/bytes.js";
import { checkBlobName, ClientStoreError, type ClientStore } from "./client-store.js";

const HEADER = "store-header.json";
const FORMAT = "xmpp-mls-file-store";
const MAGIC = utf8("XMF1");
const NONCE = 12;
const TAG = 16;
const CHECK_PLAINTEXT = utf8("xmpp-mls FileStore v1");
const CHECK_AAD = utf8("xmpp-mls FileStore header");
const BLOB_AAD = utf8("xmpp-mls FileStore blob");

/** scrypt cost (RFC 7914). The default, N = 2^15, r = 8, p = 1, takes ~32 MiB and ~0.1 s. */
export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

export const DEFAULT_SCRYPT: ScryptParams = Object.freeze({ N: 1 << 15, r: 8, p: 1 });

export interface FileStoreOptions {
  /** Cost for a new store; an existing store keeps the cost in its header. */
  readonly scrypt?: ScryptParams;
}

interface Header {
  readonly format: typeof FORMAT;
  readonly version: 1;
  readonly kdf: { readonly name: "scrypt"; readonly N: number; readonly r: number; readonly p: number; readonly salt: string };
  readonly check: string;
}

function scrypt(passphrase: string, salt: Uint8Array, p: ScryptParams): Promise<Uint8Array> {
  const opts: ScryptOptions = { N: p.N, r: p.r, p: p.p, maxmem: 256 * p.N * p.r + (1 << 20) };
  return new Promise((resolve, reject) => {
    scryptCb(passphrase.normalize("NFC"), salt, 64, opts, (err, key) => (err ? reject(err) : resolve(new Uint8Array(key))));
  });
}

function seal(key: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE);
  const c = createCipheriv("aes-256-gcm", key, nonce);
  c.setAAD(aad);
  const ct = concat(c.update(plaintext), c.final());
  return concat(nonce, ct, c.getAuthTag());
}

/** Null when the tag does not verify. */
function open_(key: Uint8Array, aad: Uint8Array, box: Uint8Array): Uint8Array | null {
  if (box.length < NONCE + TAG) return null;
  const d = createDecipheriv("aes-256-gcm", key, box.subarray(0, NONCE));
  d.setAAD(aad);
  d.setAuthTag(box.subarray(box.length - TAG));
  try {
    return concat(d.update(box.subarray(NONCE, box.length - TAG)), d.final());
  } catch {
    return null;
  }
}

function validParams(p: unknown): p is ScryptParams {
  const o = p as Record<string, unknown>;
  const int = (v: unknown, lo: number, hi: number): boolean => typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi;
  return typeof p === "object" && p !== null && int(o.N, 2, 1 << 22) && ((o.N as number) & ((o.N as number) - 1)) === 0 && int(o.r, 1, 64) && int(o.p, 1, 16);
}

function isEnoent(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { code?: unknown }).code === "ENOENT";
}

function ioError(what: string, e: unknown): ClientStoreError {
  return new ClientStoreError("store.io", `${what} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

async function writeAtomically(dir: string, file: string, data: Uint8Array): Promise<void> {
  const tmp = join(dir, `.${file}.${toHex(randomBytes(6))}.tmp`);
  try {
    const fh = await open(tmp, "wx", 0o600);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(dir, file));
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw ioError(`writing ${file}`, e);
  }
  // Make the rename itself durable.
  try {
    const d = await open(dir, "r");
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // Some file systems cannot sync a directory; the data itself is synced.
  }
}

export class FileStore implements ClientStore {
  readonly #dir: string;
  readonly #encKey: Uint8Array;
  readonly #nameKey: Uint8Array;
  #closed = false;

  private constructor(dir: string, encKey: Uint8Array, nameKey: Uint8Array) {
    this.#dir = dir;
    this.#encKey = encKey;
    this.#nameKey = nameKey;
  }

  /**
   * Open the store in `dir` (created if missing), or create a new one there. Throws
   * `store.wrong_passphrase` when the directory holds a store with another passphrase and
   * `store.corrupt` when its header is damaged.
   */
  static async open(dir: string, passphrase: string, options: FileStoreOptions = {}): Promise<FileStore> {
    if (typeof passphrase !== "string" || passphrase.length === 0) throw new ClientStoreError("store.wrong_passphrase", "the passphrase must not be empty");
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw ioError(`creating ${dir}`, e);
    }
    let raw: string | null = null;
    try {
      raw = await readFile(join(dir, HEADER), "utf8");
    } catch (e) {
      if (!isEnoent(e)) throw ioError("reading the store header", e);
    }
    return raw === null ? FileStore.#create(dir, passphrase, options.scrypt ?? DEFAULT_SCRYPT) : FileStore.#unlock(dir, passphrase, raw);
  }

  static async #create(dir: string, passphrase: string, params: ScryptParams): Promise<FileStore> {
    if (!validParams(params)) throw new UsageError("bad_scrypt_params", "scrypt parameters out of range (N a power of two up to 2^22, r 1..64, p 1..16)");
    const salt = randomBytes(16);
    const keys = await scrypt(passphrase, salt, params);
    const encKey = keys.slice(0, 32);
    const nameKey = keys.slice(32);
    wipe(keys);
    const header: Header = {
      format: FORMAT,
      version: 1,
      kdf: { name: "scrypt", N: params.N, r: params.r, p: params.p, salt: toBase64(salt) },
      check: toBase64(seal(encKey, CHECK_AAD, CHECK_PLAINTEXT)),
    };
    await writeAtomically(dir, HEADER, utf8(JSON.stringify(header)));
    return new FileStore(dir, encKey, nameKey);
  }

  static async #unlock(dir: string, passphrase: string, raw: string): Promise<FileStore> {
    let h: Header;
    let salt: Uint8Array;
    let check: Uint8Array;
    try {
      h = JSON.parse(raw) as Header;
      if (h.format !== FORMAT || h.version !== 1 || h.kdf?.name !== "scrypt" || !validParams(h.kdf)) throw new Error("unknown header format");
      salt = fromBase64(h.kdf.salt);
      check = fromBase64(h.check);
    } catch (e) {
      throw new ClientStoreError("store.corrupt", "the store header is damaged", { cause: e });
    }
    const keys = await scrypt(passphrase, salt, h.kdf);
    const encKey = keys.slice(0, 32);
    const nameKey = keys.slice(32);
    wipe(keys);
    const ok = open_(encKey, CHECK_AAD, check);
    if (ok === null) {
      wipe(encKey, nameKey);
      throw new ClientStoreError("store.wrong_passphrase", "wrong passphrase for this store");
    }
    return new FileStore(dir, encKey, nameKey);
  }

  #fileId(name: string): string {
    checkBlobName(name);
    if (this.#closed) throw new ClientStoreError("store.io", "the store is closed");
    return createHmac("sha256", this.#nameKey).update(name, "utf8").digest("hex");
  }

  async get(name: string): Promise<Uint8Array | null> {
    const id = this.#fileId(name);
    let data: Uint8Array;
    try {
      data = new Uint8Array(await readFile(join(this.#dir, `${id}.blob`)));
    } catch (e) {
      if (isEnoent(e)) return null;
      throw ioError("reading a blob", e);
    }
    const ok = data.length >= MAGIC.length && MAGIC.every((b, i) => data[i] === b);
    const value = ok ? open_(this.#encKey, concat(BLOB_AAD, utf8(id)), data.subarray(MAGIC.length)) : null;
    if (value === null) throw new ClientStoreError("store.corrupt", "a blob failed authentication (damaged, truncated or moved)");
    return value;
  }

  async put(name: string, value: Uint8Array): Promise<void> {
    const id = this.#fileId(name);
    await writeAtomically(this.#dir, `${id}.blob`, concat(MAGIC, seal(this.#encKey, concat(BLOB_AAD, utf8(id)), value)));
  }

  async delete(name: string): Promise<void> {
    const id = this.#fileId(name);
    try {
      await unlink(join(this.#dir, `${id}.blob`));
    } catch (e) {
      if (!isEnoent(e)) throw ioError("deleting a blob", e);
    }
  }

  /** Wipe the keys; every later call fails with `store.io`. */
  close(): void {
    this.#closed = true;
    wipe(this.#encKey, this.#nameKey);
  }
}

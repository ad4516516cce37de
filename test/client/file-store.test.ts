import { mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ClientStoreError, MemoryStore } from "../../src/client/store/client-store.js";
import { DEFAULT_SCRYPT, FileStore } from "../../src/client/store/file-store.js";
import { fromUtf8, utf8 } from "../../src/util/bytes.js";

const FAST = { scrypt: { N: 1 << 10, r: 8, p: 1 } };
const dirs: string[] = [];

async function freshDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "xmpp-mls-store-"));
  dirs.push(d);
  return d;
}

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function allBytes(dir: string): Promise<{ names: string[]; contents: Buffer[] }> {
  const names = await readdir(dir);
  const contents = await Promise.all(names.map((n) => readFile(join(dir, n))));
  return { names, contents };
}

async function blobFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith(".blob"));
}

describe("FileStore", () => {
  it("round-trips blobs, returns null for missing ones, deletes idempotently", async () => {
    const store = await FileStore.open(await freshDir(), "correct horse", FAST);
    expect(await store.get("device")).toBeNull();
    await store.put("device", utf8("v1"));
    expect(fromUtf8((await store.get("device"))!)).toBe("v1");
    await store.put("device", utf8("v2"));
    expect(fromUtf8((await store.get("device"))!)).toBe("v2");
    await store.put("empty", new Uint8Array(0));
    expect((await store.get("empty"))!.length).toBe(0);
    await store.delete("device");
    await store.delete("device");
    expect(await store.get("device")).toBeNull();
  });

  it("keeps no plaintext, no names and no JIDs on disk", async () => {
    const dir = await freshDir();
    const store = await FileStore.open(dir, "correct horse", FAST);
    const name = "room/alice@example.org/9f3c2a7be41d08c5";
    const secret = "SECRET-MARKER private key of alice@example.org";
    await store.put(name, utf8(secret));
    await store.put("kp/761bd53d822b6941", utf8(secret));
    const { names, contents } = await allBytes(dir);
    expect(names.length).toBe(3); // header + 2 blobs
    for (const n of names) {
      expect(n).not.toContain("alice");
      expect(n).not.toContain("9f3c2a7b");
      expect(n).not.toContain("761bd53d");
    }
    for (const c of contents) {
      const text = c.toString("latin1");
      expect(text).not.toContain("SECRET-MARKER");
      expect(text).not.toContain("alice@example.org");
      expect(text).not.toContain(Buffer.from(secret).toString("base64").slice(0, 16));
    }
    // Two puts of the same value under different names encrypt differently (fresh nonces).
    const blobs = (await blobFiles(dir)).map((n) => contents[names.indexOf(n)]!);
    expect(blobs[0]!.equals(blobs[1]!)).toBe(false);
  });

  it("reopens with the right passphrase and refuses a wrong one with a typed error", async () => {
    const dir = await freshDir();
    const a = await FileStore.open(dir, "correct horse", FAST);
    await a.put("device", utf8("state"));
    a.close();
    const b = await FileStore.open(dir, "correct horse");
    expect(fromUtf8((await b.get("device"))!)).toBe("state");
    const err = await FileStore.open(dir, "wrong horse").then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ClientStoreError);
    expect((err as ClientStoreError).code).toBe("store.wrong_passphrase");
    await expect(FileStore.open(dir, "")).rejects.toMatchObject({ code: "store.wrong_passphrase" });
  });

  it("writes atomically: a new file replaces the old one by rename, no temporary files remain", async () => {
    const dir = await freshDir();
    const store = await FileStore.open(dir, "pw", FAST);
    await store.put("state", utf8("old"));
    const [file] = await blobFiles(dir);
    const before = await stat(join(dir, file!));
    await store.put("state", utf8("new"));
    const after = await stat(join(dir, file!));
    expect(after.ino).not.toBe(before.ino); // a different file was renamed over it
    expect((await readdir(dir)).filter((n) => n.endsWith(".tmp"))).toEqual([]);

    // Concurrent writers: the reader sees one complete value, never a mix.
    const values = Array.from({ length: 12 }, (_, i) => `value-${i}-${"x".repeat(4096 * i)}`);
    await Promise.all(values.map((v) => store.put("state", utf8(v))));
    expect(values).toContain(fromUtf8((await store.get("state"))!));
    expect((await readdir(dir)).filter((n) => n.endsWith(".tmp"))).toEqual([]);

    // A crash mid-write leaves a temporary file behind, never a torn blob.
    await writeFile(join(dir, `.${file}.deadbeef0000.tmp`), "partial");
    expect(values).toContain(fromUtf8((await store.get("state"))!));
  });

  it("detects damaged and moved blobs and a damaged header", async () => {
    const dir = await freshDir();
    const store = await FileStore.open(dir, "pw", FAST);
    await store.put("a", utf8("alpha"));
    const [fa] = await blobFiles(dir);
    await store.put("b", utf8("beta"));
    const fb = (await blobFiles(dir)).find((n) => n !== fa)!;
    // Moving b's blob under a's name must not yield "beta" for "a".
    await rename(join(dir, fb), join(dir, fa!));
    await expect(store.get("a")).rejects.toMatchObject({ code: "store.corrupt" });
    // Flip one ciphertext byte.
    await store.put("c", utf8("gamma"));
    const fc = (await blobFiles(dir)).find((n) => n !== fa)!;
    const bytes = await readFile(join(dir, fc));
    const at = bytes.length - 20;
    bytes[at] = bytes[at]! ^ 1;
    await writeFile(join(dir, fc), bytes);
    await expect(store.get("c")).rejects.toMatchObject({ code: "store.corrupt" });

    await writeFile(join(dir, "store-header.json"), "{not json");
    await expect(FileStore.open(dir, "pw")).rejects.toMatchObject({ code: "store.corrupt" });
  });

  it("uses the default scrypt cost for new stores and refuses use after close", async () => {
    const dir = await freshDir();
    const store = await FileStore.open(dir, "pw");
    const header = JSON.parse(await readFile(join(dir, "store-header.json"), "utf8")) as { kdf: { N: number; r: number; p: number; salt: string } };
    expect(header.kdf).toMatchObject({ N: DEFAULT_SCRYPT.N, r: DEFAULT_SCRYPT.r, p: DEFAULT_SCRYPT.p });
    expect(Buffer.from(header.kdf.salt, "base64").length).toBe(16);
    store.close();
    await expect(store.put("x", utf8("y"))).rejects.toMatchObject({ code: "store.io" });
  });
});

describe("MemoryStore", () => {
  it("copies values in and out", async () => {
    const m = new MemoryStore();
    const v = utf8("abc");
    await m.put("k", v);
    v[0] = 0;
    const got = (await m.get("k"))!;
    expect(fromUtf8(got)).toBe("abc");
    got[0] = 0;
    expect(fromUtf8((await m.get("k"))!)).toBe("abc");
    expect(m.names()).toEqual(["k"]);
    await m.delete("k");
    expect(await m.get("k")).toBeNull();
    await expect(m.put("", v)).rejects.toMatchObject({ code: "store.bad_name" });
  });
});

/**
 * The pieces of the persisted format (persistence.ts) that are not RFC 9420 wire structs: the
 * envelope (magic, format version, kind, CRC-32), the epoch runtime (SecretTree frontier and
 * ratchets, sender-data secret, generation tracker), and error normalisation.
 *
 * ```
 *   envelope = "XMLS" || uint16 format_version || uint8 kind || body || uint32 crc32(everything before)
 *
 *   struct {                                   struct {
 *     uint64 epoch;                              uint32 n_leaves;
 *     opaque sender_data_secret<V>;              NodeSecret nodes<V>;      // { uint32 node; opaque secret<V>; }
 *     SecretTree secret_tree;                    LeafRatchets ratchets<V>; // { uint32 leaf; Ratchet handshake; Ratchet application; }
 *     SenderGenerations generations<V>;        } SecretTree;
 *   } EpochRuntime;
 *
 *   struct {                                   struct {
 *     optional<opaque secret<V>>;                uint32 leaf; uint8 ratchet; // 0 handshake, 1 application
 *     uint64 next; uint64 floor;                 uint64 next; uint32 missing<V>; uint64 untracked;
 *     PastKey past<V>;  // { uint32 generation; opaque key<V>; opaque nonce<V>; }
 *   } Ratchet;                                 } SenderGenerations;
 * ```
 * The CRC detects accidental corruption (storage, transport), not tampering: the blob holds
 * secrets and must be stored as securely as the keys themselves.
 * @module
 */
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { Reader } from "../../codec/reader.js";
import { Writer } from "../../codec/writer.js";
import { CodecError, UsageError } from "../../errors.js";
import { bytesEqual, utf8 } from "../../util/bytes.js";
import { SecretTree, type RatchetLimits, type SecretTreeSnapshot, type SenderRatchetSnapshot } from "../schedule/secret-tree.js";
import { GenerationTracker } from "./generation-tracker.js";
import { EpochRuntime } from "./group-state.js";

/** The first four bytes of every persisted blob. */
export const PERSISTENCE_MAGIC = utf8("XMLS");
/** The format version this library writes and reads. */
export const PERSISTENCE_FORMAT_VERSION = 1;
/** What a blob holds. */
export const persistedKinds = { group_state: 1, pending_key_package: 2 } as const;
export type PersistedKind = (typeof persistedKinds)[keyof typeof persistedKinds];

const HEADER = 4 + 2 + 1;
const TRAILER = 4;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, as in zlib). */
export function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Header, body, CRC. */
export function writeEnvelope(kind: PersistedKind, body: (w: Writer) => void, sizeHint = 4096): Uint8Array {
  const w = new Writer(sizeHint);
  w.bytes(PERSISTENCE_MAGIC).u16(PERSISTENCE_FORMAT_VERSION).u8(kind);
  body(w);
  const unsealed = w.finish();
  const out = new Uint8Array(unsealed.length + TRAILER);
  out.set(unsealed);
  new DataView(out.buffer).setUint32(unsealed.length, crc32(unsealed));
  return out;
}

/** An error inside a field that is not already typed becomes a CodecError naming that field. */
function asCodecError(e: unknown, r: Reader): unknown {
  if (e instanceof CodecError || e instanceof UsageError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new CodecError("corrupt_state", `inconsistent persisted state: ${message}`, r.offset, r.fieldPath(), { cause: e });
}

/** `r.field` that turns any other failure (RangeError, ValidationError, …) into a CodecError. */
export function field<T>(r: Reader, name: string, fn: () => T): T {
  return r.field(name, () => {
    try {
      return fn();
    } catch (e) {
      throw asCodecError(e, r);
    }
  });
}

/** Check the envelope, then read the whole body with `read`. Every failure is a CodecError (or UsageError from `read`). */
export function readEnvelope<T>(bytes: Uint8Array, kind: PersistedKind, what: string, read: (r: Reader) => T): T {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`"bytes" expected Uint8Array, got ${typeof bytes}`);
  if (bytes.length < HEADER + TRAILER) throw new CodecError("unexpected_eof", `a persisted ${what} has at least ${HEADER + TRAILER} bytes, got ${bytes.length}`, 0, what);
  if (!bytesEqual(bytes.subarray(0, 4), PERSISTENCE_MAGIC)) throw new CodecError("bad_magic", `not a persisted xmpp-mls ${what} (it must start with "XMLS")`, 0, "magic");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(4);
  if (version !== PERSISTENCE_FORMAT_VERSION) {
    throw new CodecError("unsupported_format_version", `persisted format version ${version} is not supported (this library reads version ${PERSISTENCE_FORMAT_VERSION})`, 4, "format_version");
  }
  const end = bytes.length - TRAILER;
  if (view.getUint32(end) !== crc32(bytes.subarray(0, end))) throw new CodecError("checksum_mismatch", `the persisted ${what} is corrupted (CRC-32 mismatch)`, end, "crc32");
  const k = bytes[6]!;
  if (k !== kind) throw new CodecError("wrong_kind", `the blob holds kind ${k}, not a ${what} (kind ${kind})`, 6, "kind");
  const r = new Reader(bytes.subarray(HEADER, end));
  let v: T;
  try {
    v = r.field(what, () => read(r));
    r.finish();
  } catch (e) {
    throw asCodecError(e, r);
  }
  return v;
}

/** A u64 that must fit a JS safe integer. */
export function readSafeU64(r: Reader): number {
  const v = r.u64();
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) r.fail("out_of_range", `${v} does not fit a safe integer`);
  return Number(v);
}

function writeRatchet(w: Writer, s: SenderRatchetSnapshot): void {
  w.optional(s.secret, (w2, x) => w2.opaque(x));
  w.u64(s.next).u64(s.floor);
  w.array(s.past, (w2, k) => w2.u32(k.generation).opaque(k.key).opaque(k.nonce));
}

function readRatchet(r: Reader): SenderRatchetSnapshot {
  const secret = field(r, "secret", () => r.optional((r2) => r2.opaque()));
  const next = field(r, "next", () => readSafeU64(r));
  const floor = field(r, "floor", () => readSafeU64(r));
  const past = field(r, "past", () => r.vector((r2) => ({ generation: r2.u32(), key: r2.opaque(), nonce: r2.opaque() })));
  return { secret, next, floor, past };
}

export function writeSecretTree(w: Writer, s: SecretTreeSnapshot): void {
  w.u32(s.nLeaves);
  w.array(s.nodes, (w2, n) => w2.u32(n.node).opaque(n.secret));
  w.array(s.ratchets, (w2, x) => {
    w2.u32(x.leaf);
    writeRatchet(w2, x.handshake);
    writeRatchet(w2, x.application);
  });
}

export function readSecretTree(r: Reader): SecretTreeSnapshot {
  const nLeaves = field(r, "n_leaves", () => r.u32());
  const nodes = field(r, "nodes", () => r.vector((r2) => ({ node: r2.u32(), secret: r2.opaque() })));
  const ratchets = field(r, "ratchets", () => r.vector((r2) => ({ leaf: r2.u32(), handshake: field(r2, "handshake", () => readRatchet(r2)), application: field(r2, "application", () => readRatchet(r2)) })));
  return { nLeaves, nodes, ratchets };
}

const RATCHETS = ["handshake", "application"] as const;

/** The epoch runtime: its epoch, sender-data secret, SecretTree and generation tracker. */
export function writeRuntime(w: Writer, rt: EpochRuntime): void {
  w.u64(rt.epoch).opaque(rt.senderDataSecret);
  writeSecretTree(w, rt.secretTree.snapshot());
  w.array(rt.generations.snapshot(), (w2, g) => {
    w2.u32(g.leafIndex).u8(RATCHETS.indexOf(g.ratchet)).u64(g.next);
    w2.array(g.missing, (w3, m) => w3.u32(m));
    w2.u64(g.untracked);
  });
}

export function readRuntime(r: Reader, cs: CipherSuite, limits: RatchetLimits): EpochRuntime {
  const epoch = field(r, "epoch", () => r.u64());
  const senderDataSecret = field(r, "sender_data_secret", () => r.opaque());
  if (senderDataSecret.length !== cs.params.Nh) r.fail("corrupt_state", `sender_data_secret has ${senderDataSecret.length} bytes, expected ${cs.params.Nh}`);
  const secretTree = field(r, "secret_tree", () => SecretTree.fromSnapshot(cs, readSecretTree(r), limits));
  const gens = field(r, "generations", () =>
    r.vector((r2) => {
      const leafIndex = r2.u32();
      const t = r2.u8();
      const ratchet = RATCHETS[t] ?? r2.fail("bad_enum", `unknown ratchet type ${t}`);
      const next = readSafeU64(r2);
      const missing = r2.vector((r3) => r3.u32());
      return { leafIndex, ratchet, next, missing, untracked: readSafeU64(r2) };
    }),
  );
  return new EpochRuntime(epoch, secretTree, senderDataSecret, GenerationTracker.restore(epoch, gens));
}

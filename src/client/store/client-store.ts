/**
 * Where a device keeps its state between sessions: named blobs, each replaced atomically.
 *
 *   "device"             identity: device id, signature key (store/records.ts)
 *   "key-packages"       index of the KeyPackages this device published
 *   "kp/<ref hex>"       one KeyPackage with its private keys, until a Welcome consumed it
 *   "rooms"              index of the rooms this device is in
 *   "room/<group hex>"   the room record (seq, archive id, queued sends) and the group state
 *
 * Implementations: {@link MemoryStore} (tests, ephemeral devices) and `FileStore`
 * (./file-store.ts: encrypted at rest). Names may contain JIDs and group ids; an implementation
 * that persists them must not reveal them (FileStore stores HMACs of the names).
 * @module
 */
import { XmppMlsError, type XmppMlsErrorOptions } from "../../errors.js";

export interface ClientStore {
  /** The blob stored under `name`, or null when there is none. */
  get(name: string): Promise<Uint8Array | null>;
  /** Replace the blob under `name` atomically: a reader sees the old or the new value, never a mix. */
  put(name: string, value: Uint8Array): Promise<void>;
  /** Remove the blob; removing a missing blob is not an error. */
  delete(name: string): Promise<void>;
}

export type ClientStoreErrorCode = "store.wrong_passphrase" | "store.corrupt" | "store.io" | "store.bad_name";

/** A store failure. `store.wrong_passphrase` is the one a user can fix. */
export class ClientStoreError extends XmppMlsError {
  declare readonly code: ClientStoreErrorCode;
  constructor(code: ClientStoreErrorCode, message: string, options?: XmppMlsErrorOptions) {
    super(code, message, options);
  }
}

export function checkBlobName(name: string): void {
  if (typeof name !== "string" || name.length === 0 || name.length > 1024) {
    throw new ClientStoreError("store.bad_name", "blob names are 1..1024 characters");
  }
}

/** An in-memory {@link ClientStore}: values are copied in and out, so callers cannot alias them. */
export class MemoryStore implements ClientStore {
  readonly #blobs = new Map<string, Uint8Array>();

  async get(name: string): Promise<Uint8Array | null> {
    checkBlobName(name);
    const v = this.#blobs.get(name);
    return v === undefined ? null : v.slice();
  }

  async put(name: string, value: Uint8Array): Promise<void> {
    checkBlobName(name);
    this.#blobs.set(name, value.slice());
  }

  async delete(name: string): Promise<void> {
    checkBlobName(name);
    this.#blobs.delete(name);
  }

  /** The names currently stored (tests and diagnostics). */
  names(): string[] {
    return [...this.#blobs.keys()].sort();
  }
}

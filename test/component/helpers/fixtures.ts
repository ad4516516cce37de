/** Test data for the DS store and key directory tests. */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GroupPolicy } from "../../../src/component/config.js";
import type { KeyPackageRecord, LogEntryInput, NewGroup } from "../../../src/component/store/types.js";

let counter = 0;

/** A distinct 32-byte ref (hex) for each call. */
export function freshRef(): string {
  counter++;
  return counter.toString(16).padStart(64, "0");
}

/** Deterministic pseudo-random bytes (not plaintext-looking). */
export function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export function keyPackage(owner: string, deviceId: string, over: Partial<KeyPackageRecord> = {}): KeyPackageRecord {
  const ref = over.ref ?? freshRef();
  return {
    owner,
    deviceId,
    ref,
    cipherSuite: 1,
    lastResort: false,
    bytes: bytes(64, Number.parseInt(ref.slice(-6), 16)),
    createdAt: 1_000,
    ...over,
  };
}

export const POLICY: GroupPolicy = { whoMayAdd: "admin", whoMayRemove: "admin", allowExternalJoin: false, groupInfoReadableBy: "members" };

export function newGroup(groupId = "aa01", over: Partial<NewGroup> = {}): NewGroup {
  return {
    groupId,
    roomJid: `room-${groupId}@conference.example.org`,
    policy: POLICY,
    createdBy: "owner@example.org/phone",
    epoch: 0n,
    handshakeWireFormat: "public",
    createdAt: 5_000,
    ...over,
  };
}

export function entry(seed: number, sender = "alice@example.org/laptop"): LogEntryInput {
  return { sender, bytes: bytes(48, seed), stamp: 10_000 + seed };
}

/** A temporary directory removed by the returned function. */
export function tempDir(prefix = "xmpp-mls-store-"): { readonly path: string; readonly remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

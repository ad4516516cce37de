/**
 * Argument checks shared by both store implementations, so that they reject exactly the same
 * inputs with exactly the same errors, before touching any state. Failures throw
 * `UsageError("usage.bad_argument")` naming the argument in quotes (noble style).
 * @module
 */

import { UsageError } from "../../errors.js";
import { checkGroupPolicy, type GroupPolicy } from "../config.js";
import type { AppendCommitOptions, ExternalSendersInfo, HandshakeWireFormat, KeyPackageRecord, LogEntryInput, LogQuery, NewGroup, ObserverCheckpoint } from "./types.js";

/** SQLite INTEGER is a signed 64-bit value: the largest epoch the store can hold. */
export const MAX_EPOCH = (1n << 63n) - 1n;
/** Largest blob accepted (far above any configured stanza limit). */
export const MAX_BLOB_BYTES = 16 * 1024 * 1024;
/** Largest group id / KeyPackageRef, in bytes (RFC 9420 leaves group ids to the application). */
const MAX_ID_BYTES = 255;
export const MAX_LOG_PAGE = 10_000;

function fail(name: string, why: string): never {
  throw new UsageError("bad_argument", `"${name}" ${why}`);
}

const HEX = /^(?:[0-9a-f]{2})+$/;

/** Non-empty lowercase hex of at most 255 bytes (group ids, KeyPackageRefs). */
export function checkHex(name: string, v: unknown): string {
  if (typeof v !== "string") fail(name, "must be a string");
  if (!HEX.test(v)) fail(name, "must be non-empty lowercase hex with an even number of digits");
  if (v.length > 2 * MAX_ID_BYTES) fail(name, `must be at most ${MAX_ID_BYTES} bytes`);
  return v;
}

// RFC 7622: localpart excludes " & ' / : < > @ and whitespace; the domainpart excludes @ and /.
const LOCAL = String.raw`[^\s"&'/:<>@\u0000-\u001f]{1,1023}`;
const DOMAIN = String.raw`[^\s@/\u0000-\u001f]{1,1023}`;
const RESOURCE = String.raw`[^\u0000-\u001f\u007f]{1,1023}`;
const BARE_JID = new RegExp(`^(?:${LOCAL}@)?${DOMAIN}$`, "u");
const FULL_JID = new RegExp(`^(?:${LOCAL}@)?${DOMAIN}/${RESOURCE}$`, "u");

export function isBareJid(v: unknown): v is string {
  return typeof v === "string" && BARE_JID.test(v);
}

export function isFullJid(v: unknown): v is string {
  return typeof v === "string" && FULL_JID.test(v);
}

/** `user@domain` or `domain`, no resource. */
export function checkBareJid(name: string, v: unknown): string {
  if (!isBareJid(v)) fail(name, "must be a bare JID (user@domain)");
  return v;
}

/** `user@domain/resource`. */
export function checkFullJid(name: string, v: unknown): string {
  if (!isFullJid(v)) fail(name, "must be a full JID (user@domain/resource)");
  return v;
}

/** A bare or full JID (for senders and creators, as stamped by the server). */
export function checkJid(name: string, v: unknown): string {
  if (!isBareJid(v) && !isFullJid(v)) fail(name, "must be a JID");
  return v;
}

/** The bare part of a bare or full JID. */
export function bareOf(jid: string): string {
  const slash = jid.indexOf("/");
  return slash < 0 ? jid : jid.slice(0, slash);
}

/** Device id: the resource of the credential identity; printable, no whitespace, 1..256 characters. */
export function checkDeviceId(name: string, v: unknown): string {
  if (typeof v !== "string" || !/^[^\s\u0000-\u001f\u007f]{1,256}$/u.test(v)) {
    fail(name, "must be 1..256 printable characters without whitespace");
  }
  return v;
}

export function checkBytes(name: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(name, "must be a Uint8Array");
  if (v.length === 0) fail(name, "must not be empty");
  if (v.length > MAX_BLOB_BYTES) fail(name, `must be at most ${MAX_BLOB_BYTES} bytes`);
  return v;
}

export function checkEpoch(name: string, v: unknown, max: bigint = MAX_EPOCH): bigint {
  if (typeof v !== "bigint") fail(name, "must be a bigint");
  if (v < 0n || v > max) fail(name, `must be in 0..${max}`);
  return v;
}

/** Safe integer in [min, max]. */
export function checkInt(name: string, v: unknown, min: number, max: number = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) fail(name, "must be a safe integer");
  if (v < min || v > max) fail(name, `must be in ${min}..${max}`);
  return v;
}

export function checkTimestamp(name: string, v: unknown): number {
  return checkInt(name, v, 0);
}

export function checkCipherSuite(name: string, v: unknown): number {
  return checkInt(name, v, 1, 0xffff);
}

export function checkPolicy(name: string, v: unknown): GroupPolicy {
  const problems = checkGroupPolicy(v, name);
  if (problems.length > 0) fail(name, `is not a group policy: ${problems.map((p) => `${p.path} ${p.message}`).join("; ")}`);
  return v as GroupPolicy;
}

function checkWireFormat(name: string, v: unknown): HandshakeWireFormat {
  if (v !== "public" && v !== "private") fail(name, 'must be "public" or "private"');
  return v;
}

function checkObject(name: string, v: unknown): void {
  if (typeof v !== "object" || v === null) fail(name, "must be an object");
}

export function checkKeyPackageRecord(r: KeyPackageRecord): void {
  checkObject("record", r);
  checkBareJid("record.owner", r.owner);
  checkDeviceId("record.deviceId", r.deviceId);
  checkHex("record.ref", r.ref);
  checkCipherSuite("record.cipherSuite", r.cipherSuite);
  if (typeof r.lastResort !== "boolean") fail("record.lastResort", "must be a boolean");
  checkBytes("record.bytes", r.bytes);
  checkTimestamp("record.createdAt", r.createdAt);
}

export function checkExternalSenders(name: string, v: ExternalSendersInfo): void {
  checkObject(name, v);
  checkBytes(`${name}.bytes`, v.bytes);
  if (v.dsIndex !== null) checkInt(`${name}.dsIndex`, v.dsIndex, 0, 0xffff);
}

export function checkObserverCheckpoint(name: string, v: ObserverCheckpoint): void {
  checkObject(name, v);
  checkEpoch(`${name}.epoch`, v.epoch);
  checkBytes(`${name}.groupInfo`, v.groupInfo);
  checkBytes(`${name}.ratchetTree`, v.ratchetTree);
}

export function checkNewGroup(g: NewGroup): void {
  checkObject("group", g);
  checkHex("group.groupId", g.groupId);
  checkBareJid("group.roomJid", g.roomJid);
  checkPolicy("group.policy", g.policy);
  checkJid("group.createdBy", g.createdBy);
  checkEpoch("group.epoch", g.epoch);
  checkWireFormat("group.handshakeWireFormat", g.handshakeWireFormat);
  checkTimestamp("group.createdAt", g.createdAt);
  if (g.groupInfo !== undefined) checkBytes("group.groupInfo", g.groupInfo);
  if (g.externalSenders !== undefined) checkExternalSenders("group.externalSenders", g.externalSenders);
}

export function checkLogEntry(e: LogEntryInput): void {
  checkObject("entry", e);
  checkJid("entry.sender", e.sender);
  checkBytes("entry.bytes", e.bytes);
  checkTimestamp("entry.stamp", e.stamp);
}

export function checkAppendCommit(groupId: string, expectedEpoch: bigint, e: LogEntryInput, o: AppendCommitOptions | undefined): void {
  checkHex("groupId", groupId);
  // The commit moves the group to expectedEpoch + 1, which must still fit.
  checkEpoch("expectedEpoch", expectedEpoch, MAX_EPOCH - 1n);
  checkLogEntry(e);
  if (o === undefined) return;
  checkObject("options", o);
  if (o.groupInfo !== undefined) checkBytes("options.groupInfo", o.groupInfo);
  if (o.welcome !== undefined) {
    checkObject("options.welcome", o.welcome);
    checkBytes("options.welcome.bytes", o.welcome.bytes);
    if (!Array.isArray(o.welcome.recipients) || o.welcome.recipients.length === 0) {
      fail("options.welcome.recipients", "must be a non-empty array");
    }
    const seen = new Set<string>();
    o.welcome.recipients.forEach((r, i) => {
      checkObject(`options.welcome.recipients[${i}]`, r);
      checkFullJid(`options.welcome.recipients[${i}].jid`, r.jid);
      checkHex(`options.welcome.recipients[${i}].keyPackageRef`, r.keyPackageRef);
      if (seen.has(r.jid)) fail(`options.welcome.recipients[${i}].jid`, "is listed twice");
      seen.add(r.jid);
    });
  }
}

export function checkLogQuery(q: LogQuery): void {
  checkObject("query", q);
  if (q.afterSeq !== undefined) checkInt("query.afterSeq", q.afterSeq, 0);
  if (q.afterEpoch !== undefined) checkEpoch("query.afterEpoch", q.afterEpoch);
  checkInt("query.max", q.max, 1, MAX_LOG_PAGE);
}

/** Order by code units; both stores sort with this so results are identical. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

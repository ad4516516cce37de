/**
 * One sample value per element of the xmpp-mls codec, with its builder and parser, shared by the
 * round-trip and schema tests. `SAMPLES` must cover every element the builders can emit: the
 * schema test checks that every global element of xep/xmpp-mls.xsd appears in it.
 */
import { fromHex } from "../../src/util/bytes.js";
import {
  buildAccepted, buildAppCondition, buildApplicationMessage, buildClaim, buildCreate, buildEntry,
  buildGroupInfoRequest, buildGroupInfoResult, buildHandshakeMessage, buildKeyPackage, buildKeyPackagePublish,
  buildKeyPackages, buildKeyPackagesLow, buildKeyPackagesLowMessage, buildLogRequest, buildLogResult, buildMls,
  buildRelay, buildSubmit, buildWelcome, buildWelcomeMessage, parseAccepted, parseClaim, parseCreate, parseEntry,
  parseGroupInfoRequest, parseGroupInfoResult, parseKeyPackage, parseKeyPackagePublish, parseKeyPackages,
  parseKeyPackagesLow, parseLogRequest, parseLogResult, parseMls, parseRelay, parseSubmit, parseWelcome,
  toErrorElement, XmppProtocolError, type AppCondition, type Element,
} from "../../src/xmpp/index.js";

/** Deterministic pseudo-MLSMessage bytes: a wire-format prefix and a counter pattern. */
export function mlsBytes(wireFormat: number, n = 48, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  b[1] = 1;
  b[3] = wireFormat;
  for (let i = 4; i < n; i++) b[i] = (i * 31 + seed * 17) & 0xff;
  return b;
}

export const GROUP = fromHex("9f3c2a7be41d08c56a7f1e0b3d92c4a1");
export const REF = fromHex("761bd53d822b6941a7621ea5567167b1c63554dbf2a1b14cd0f11f4069abe9e1");
export const REF2 = fromHex("d7bb03ac4d9a658a93a750e5bf27ba5666278896a4dde161a42dad880a609024");
export const ROOM = "room@conference.example.org";
export const DS = "mls.example.org";
export const ALICE = "alice@example.org/phone-8b1f";

export const values = {
  keyPackage: { device: "phone-8b1f", cipherSuite: 1, lastResort: false, keyPackage: mlsBytes(5) },
  keyPackageWithRef: { device: "desktop-5d0a", cipherSuite: 3, lastResort: true, ref: REF2, keyPackage: mlsBytes(5, 60, 2) },
  publish: { owner: "alice@example.org", ref: REF, keyPackage: { device: "phone-8b1f", cipherSuite: 1, lastResort: true, keyPackage: mlsBytes(5) } },
  claim: { jid: "bob@example.org", cipherSuite: 1, group: GROUP },
  claimNoGroup: { jid: "bob@example.org", cipherSuite: 2 },
  keyPackages: {
    jid: "bob@example.org",
    keyPackages: [
      { device: "desktop-5d0a", cipherSuite: 1, lastResort: false, ref: REF, keyPackage: mlsBytes(5, 50, 3) },
      { device: "phone-c93e", cipherSuite: 1, lastResort: true, ref: REF2, keyPackage: mlsBytes(5, 52, 4) },
    ],
  },
  low: { device: "desktop-5d0a", cipherSuite: 1, remaining: 1 },
  create: { group: GROUP, room: ROOM, groupInfo: mlsBytes(4) },
  groupInfoByGroup: { group: GROUP },
  groupInfoByRoom: { room: ROOM },
  groupInfoResult: { group: GROUP, room: ROOM, epoch: 6n, groupInfo: mlsBytes(4, 70) },
  submitFull: { group: GROUP, epoch: 5n, proposals: [mlsBytes(1, 40, 5), mlsBytes(1, 41, 6)], commit: mlsBytes(1, 90), welcome: mlsBytes(3), groupInfo: mlsBytes(4) },
  submitProposal: { group: GROUP, epoch: 5n, proposals: [mlsBytes(1, 40, 7)] },
  submitCommit: { group: GROUP, epoch: 18446744073709551614n, proposals: [], commit: mlsBytes(1, 90) },
  accepted: { seq: 17, epoch: 6n },
  mlsCommit: { kind: "commit" as const, group: GROUP, epoch: 5n, seq: 17, message: mlsBytes(1, 90) },
  mlsApplication: { kind: "application" as const, group: GROUP, epoch: 6n, message: mlsBytes(2, 80) },
  welcome: { group: GROUP, room: ROOM, epoch: 6n, seq: 17, welcome: mlsBytes(3) },
  logRequest: { group: GROUP, afterEpoch: 3n, rsm: { max: 50, after: 13 } },
  logRequestBare: { group: GROUP },
  entry: { seq: 14, epoch: 3n, kind: "proposal" as const, sender: DS, stamp: "2026-11-27T16:02:11Z", message: mlsBytes(1, 44) },
  logResult: {
    group: GROUP,
    entries: [
      { seq: 17, epoch: 5n, kind: "commit" as const, sender: ALICE, stamp: "2026-11-28T09:40:52Z", message: mlsBytes(1, 90) },
      { seq: 18, epoch: 6n, kind: "welcome-record" as const, sender: ALICE, stamp: "2026-11-28T09:40:52.125+01:00", message: mlsBytes(3) },
    ],
    rsm: { first: 17, firstIndex: 3, last: 18, count: 5 },
  },
  logResultEmpty: { group: GROUP, entries: [], rsm: { count: 0 } },
} as const;

export const APP_CONDITIONS: readonly AppCondition[] = [
  { name: "wrong-epoch", current: 6n },
  { name: "epoch-expired", oldest: 3n },
  { name: "policy-violation", reason: "not-authorized-add" },
  { name: "policy-violation" },
  { name: "invalid-message", reason: "welcome-mismatch" },
  { name: "too-large", max: 1048576 },
  { name: "rate-limited", retryAfter: 30 },
  { name: "rate-limited" },
  { name: "unknown-group" },
  { name: "group-exists" },
  { name: "no-key-packages" },
];

/** One round-trip case: a builder output and a parser that must give the value back. */
export interface RoundTrip {
  readonly name: string;
  readonly value: unknown;
  readonly build: () => Element;
  readonly parse: (el: Element) => unknown;
}

const rt = <T>(name: string, value: T, build: (v: T) => Element, parse: (el: Element) => unknown): RoundTrip =>
  ({ name, value, build: () => build(value), parse });

export const ROUND_TRIPS: readonly RoundTrip[] = [
  rt("key-package", values.keyPackage, buildKeyPackage, parseKeyPackage),
  rt("key-package with ref", values.keyPackageWithRef, buildKeyPackage, parseKeyPackage),
  rt("pubsub publish", values.publish, buildKeyPackagePublish, parseKeyPackagePublish),
  rt("claim", values.claim, buildClaim, parseClaim),
  rt("claim without group", values.claimNoGroup, buildClaim, parseClaim),
  rt("key-packages", values.keyPackages, buildKeyPackages, parseKeyPackages),
  rt("key-packages-low", values.low, buildKeyPackagesLow, parseKeyPackagesLow),
  rt("create", values.create, buildCreate, parseCreate),
  rt("group-info request by group", values.groupInfoByGroup, buildGroupInfoRequest, parseGroupInfoRequest),
  rt("group-info request by room", values.groupInfoByRoom, buildGroupInfoRequest, parseGroupInfoRequest),
  rt("group-info result", values.groupInfoResult, buildGroupInfoResult, parseGroupInfoResult),
  rt("submit with everything", values.submitFull, buildSubmit, parseSubmit),
  rt("submit proposal only", values.submitProposal, buildSubmit, parseSubmit),
  rt("submit commit only", values.submitCommit, buildSubmit, parseSubmit),
  rt("accepted", values.accepted, buildAccepted, parseAccepted),
  rt("mls commit", values.mlsCommit, buildMls, parseMls),
  rt("mls application", values.mlsApplication, buildMls, parseMls),
  rt("welcome", values.welcome, buildWelcome, parseWelcome),
  rt("log request", values.logRequest, buildLogRequest, parseLogRequest),
  rt("log request bare", values.logRequestBare, buildLogRequest, parseLogRequest),
  rt("entry", values.entry, buildEntry, parseEntry),
  rt("log result", values.logResult, buildLogResult, parseLogResult),
  rt("log result empty", values.logResultEmpty, buildLogResult, parseLogResult),
  rt("relay with origin", { origin: "carol@example.net/laptop-40aa", payload: "claim" }, () => buildRelay({ origin: "carol@example.net/laptop-40aa", payload: buildClaim(values.claim) }), (el) => {
    const r = parseRelay(el);
    return { origin: "origin" in r ? r.origin : undefined, payload: r.payload.getName() };
  }),
];

/** Every element our builders emit (whole stanzas included); the schema test validates all of them. */
export function allBuiltElements(): Element[] {
  const els = ROUND_TRIPS.map((r) => r.build());
  els.push(
    buildRelay({ target: "mls.example.org", payload: buildSubmit(values.submitFull) }),
    buildRelay({ origin: ALICE, payload: buildLogRequest(values.logRequest) }),
    buildRelay({ origin: ALICE, payload: buildGroupInfoRequest(values.groupInfoByRoom) }),
    buildRelay({ origin: ALICE, payload: buildCreate(values.create) }),
    buildKeyPackagesLowMessage({ from: DS, to: "bob@example.org/desktop-5d0a", ...values.low }),
    buildHandshakeMessage({ to: ROOM, id: "c9a4e1f0-17", mls: values.mlsCommit }),
    buildApplicationMessage({ to: ROOM, id: "8d2f6c41", originId: "2c8a5e7b", group: GROUP, epoch: 6n, message: mlsBytes(2, 80) }),
    buildWelcomeMessage({ from: DS, to: "bob@example.org/desktop-5d0a", id: "w-17-1", welcome: values.welcome }),
    ...APP_CONDITIONS.map(buildAppCondition),
    toErrorElement(new XmppProtocolError("ds.wrong_epoch", undefined, { current: 6n })),
  );
  return els;
}

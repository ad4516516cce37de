/**
 * A thin adapter around ts-mls 1.6.4 (https://github.com/LukaJCB/ts-mls, MIT), used as an
 * independent MLS peer in the interoperability tests.
 *
 * ts-mls has a positional, immutable-state API with its own TS shapes (string enums such as
 * `"mls_public_message"`, `"basic"`). None of them leaves this file: a {@link TsMlsClient} speaks
 * TLS-encoded MLSMessage bytes (RFC 9420 §6) and plain values (bigint epochs, leaf indices,
 * Uint8Array secrets), so the test drives it exactly like a remote client on the wire.
 *
 * One client = one ts-mls member with one KeyPackage (RFC 9420 §10), in at most one group.
 * @module
 */
import type { CiphersuiteImpl, ClientState, KeyPackage, MLSMessage, PrivateKeyPackage, Proposal } from "ts-mls";
import {
  acceptAll,
  createApplicationMessage,
  createCommit,
  createGroup,
  createProposal,
  decodeMlsMessage,
  emptyPskIndex,
  encodeMlsMessage,
  joinGroup,
  makePskIndex,
  mlsExporter,
  processMessage,
} from "ts-mls";
import { encodeGroupContext } from "ts-mls/groupContext.js";
import { tsMlsCipherSuite, tsMlsKeyPackage } from "../../bench/ts-mls-setup.js";

/** Suites ts-mls runs with the packages this project already has (1: X25519/AES-GCM, 3: X25519/ChaCha20). */
export const TS_MLS_SUITES = [1, 3] as const;
export type TsMlsSuiteId = (typeof TS_MLS_SUITES)[number];

/** What a received message did to the ts-mls member. */
export type TsMlsReceived =
  | { readonly kind: "application"; readonly data: Uint8Array }
  | { readonly kind: "handshake"; readonly accepted: boolean };

export interface TsMlsCommitOptions {
  /** KeyPackages to add, each as an encoded MLSMessage (`mls_key_package`), committed by value. */
  readonly add?: readonly Uint8Array[];
  /** Leaf indices to remove, committed by value. */
  readonly remove?: readonly number[];
  /** Send the Commit as PublicMessage (ts-mls default: PrivateMessage). */
  readonly publicMessage: boolean;
  /** Put the ratchet tree into the Welcome's GroupInfo (RFC 9420 §12.4.3.3). Default true. */
  readonly ratchetTreeExtension?: boolean;
  readonly authenticatedData?: Uint8Array;
}

export interface TsMlsCommit {
  /** The Commit as an encoded MLSMessage. */
  readonly commit: Uint8Array;
  /** The Welcome as an encoded MLSMessage, or null when the Commit adds nobody. */
  readonly welcome: Uint8Array | null;
  /** Whether the Commit carries an UpdatePath (RFC 9420 §12.4). */
  readonly hasPath: boolean;
}

function decode(bytes: Uint8Array, what: string): MLSMessage {
  const r = decodeMlsMessage(bytes, 0);
  if (r === undefined) throw new Error(`ts-mls could not decode the ${what}`);
  if (r[1] !== bytes.length) throw new Error(`ts-mls decoded the ${what} with ${bytes.length - r[1]} trailing bytes`);
  return r[0];
}

function decodeKeyPackageMessage(bytes: Uint8Array): KeyPackage {
  const m = decode(bytes, "KeyPackage");
  if (m.wireformat !== "mls_key_package") throw new Error(`expected an mls_key_package MLSMessage, got ${m.wireformat}`);
  return m.keyPackage;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** One ts-mls member. Every operation replaces its (immutable) ts-mls state. */
export class TsMlsClient {
  #state: ClientState | null = null;

  private constructor(
    readonly identity: string,
    readonly suite: TsMlsSuiteId,
    private readonly impl: CiphersuiteImpl,
    private readonly keyPackage: KeyPackage,
    private readonly privatePackage: PrivateKeyPackage,
  ) {}

  /** A client with a fresh KeyPackage (basic credential, ts-mls's default capabilities and lifetime). */
  static async create(suite: TsMlsSuiteId, identity: string): Promise<TsMlsClient> {
    const impl = await tsMlsCipherSuite(suite);
    const kp = await tsMlsKeyPackage(impl, identity);
    return new TsMlsClient(identity, suite, impl, kp.publicPackage, kp.privatePackage);
  }

  /** Our KeyPackage as an encoded MLSMessage (`mls_key_package`). */
  keyPackageMessage(): Uint8Array {
    return encodeMlsMessage({ version: "mls10", wireformat: "mls_key_package", keyPackage: this.keyPackage });
  }

  /** ts-mls decodes an encoded MLSMessage and re-encodes it (a codec round trip through its structs). */
  reencode(bytes: Uint8Array): Uint8Array {
    return encodeMlsMessage(decode(bytes, "message"));
  }

  private get state(): ClientState {
    if (this.#state === null) throw new Error(`${this.identity} is not in a group`);
    return this.#state;
  }

  async createGroup(groupId: Uint8Array): Promise<void> {
    this.#state = await createGroup(groupId, this.keyPackage, this.privatePackage, [], this.impl);
  }

  /** Join from an encoded Welcome MLSMessage whose GroupInfo carries the ratchet tree. */
  async join(welcomeBytes: Uint8Array): Promise<void> {
    const m = decode(welcomeBytes, "Welcome");
    if (m.wireformat !== "mls_welcome") throw new Error(`expected an mls_welcome MLSMessage, got ${m.wireformat}`);
    this.#state = await joinGroup(m.welcome, this.keyPackage, this.privatePackage, emptyPskIndex, this.impl);
  }

  /** Create a Commit (all cached proposals by reference, `add`/`remove` by value) and move to the new epoch. */
  async commit(opts: TsMlsCommitOptions): Promise<TsMlsCommit> {
    const extraProposals: Proposal[] = [
      ...(opts.add ?? []).map((kp): Proposal => ({ proposalType: "add", add: { keyPackage: decodeKeyPackageMessage(kp) } })),
      ...(opts.remove ?? []).map((removed): Proposal => ({ proposalType: "remove", remove: { removed } })),
    ];
    const before = this.ownLeafEncryptionKey();
    const r = await createCommit(
      { state: this.state, cipherSuite: this.impl },
      {
        extraProposals,
        wireAsPublicMessage: opts.publicMessage,
        ratchetTreeExtension: opts.ratchetTreeExtension ?? true,
        ...(opts.authenticatedData === undefined ? {} : { authenticatedData: opts.authenticatedData }),
      },
    );
    this.#state = r.newState;
    return {
      commit: encodeMlsMessage(r.commit),
      welcome: r.welcome === undefined ? null : encodeMlsMessage({ version: "mls10", wireformat: "mls_welcome", welcome: r.welcome }),
      // An UpdatePath always replaces the committer's leaf encryption key (RFC 9420 §7.5).
      hasPath: !sameBytes(before, this.ownLeafEncryptionKey()),
    };
  }

  private ownLeafEncryptionKey(): Uint8Array {
    const n = this.state.ratchetTree[2 * this.state.privatePath.leafIndex];
    if (n === undefined || n.nodeType !== "leaf") throw new Error(`${this.identity}: own leaf is blank`);
    return n.leaf.hpkePublicKey;
  }

  /** A Remove proposal (RFC 9420 §12.1.3), cached by ts-mls for its next Commit. */
  async proposeRemove(leafIndex: number, publicMessage: boolean): Promise<Uint8Array> {
    const r = await createProposal(this.state, publicMessage, { proposalType: "remove", remove: { removed: leafIndex } }, this.impl);
    this.#state = r.newState;
    return encodeMlsMessage(r.message);
  }

  /** An application message (always PrivateMessage, RFC 9420 §6). */
  async send(data: Uint8Array, authenticatedData?: Uint8Array): Promise<Uint8Array> {
    const r = await createApplicationMessage(this.state, data, this.impl, authenticatedData);
    this.#state = r.newState;
    return encodeMlsMessage({ version: "mls10", wireformat: "mls_private_message", privateMessage: r.privateMessage });
  }

  /** Process an encoded PublicMessage or PrivateMessage; proposals and Commits are accepted and applied. */
  async receive(bytes: Uint8Array): Promise<TsMlsReceived> {
    const m = decode(bytes, "message");
    if (m.wireformat !== "mls_public_message" && m.wireformat !== "mls_private_message") throw new Error(`not a group message: ${m.wireformat}`);
    const r = await processMessage(m, this.state, makePskIndex(this.state, {}), acceptAll, this.impl);
    this.#state = r.newState;
    if (r.kind === "applicationMessage") return { kind: "application", data: r.message };
    return { kind: "handshake", accepted: r.actionTaken === "accept" };
  }

  get inGroup(): boolean {
    return this.#state !== null;
  }

  get epoch(): bigint {
    return this.state.groupContext.epoch;
  }

  get leafIndex(): number {
    return this.state.privatePath.leafIndex;
  }

  /** "active", "removed" (a Commit removed us) or "pendingReinit". */
  get status(): "active" | "removed" | "pendingReinit" {
    const k = this.state.groupActiveState.kind;
    return k === "active" ? "active" : k === "removedFromGroup" ? "removed" : "pendingReinit";
  }

  /** RFC 9420 §8.7 epoch_authenticator of the current epoch. */
  get epochAuthenticator(): Uint8Array {
    return this.state.keySchedule.epochAuthenticator;
  }

  /** The TLS encoding of the current GroupContext (RFC 9420 §8.1). */
  get groupContextBytes(): Uint8Array {
    return encodeGroupContext(this.state.groupContext);
  }

  /** Leaf indices of the members (non-blank leaves). */
  get memberLeaves(): number[] {
    const out: number[] = [];
    this.state.ratchetTree.forEach((n, i) => {
      if (i % 2 === 0 && n !== undefined) out.push(i / 2);
    });
    return out;
  }

  /** RFC 9420 §8.5 MLS-Exporter. */
  exportSecret(label: string, context: Uint8Array, length: number): Promise<Uint8Array> {
    return mlsExporter(this.state.keySchedule.exporterSecret, label, context, length, this.impl);
  }
}

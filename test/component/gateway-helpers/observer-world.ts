/**
 * A hub with the PublicGroup observer and real MLS members, without XMPP: a store, the Sequencer
 * with the observer validator, a room's affiliations as a map, and members whose states are
 * advanced by the engine (PublicMessage handshakes, GroupInfo with ratchet_tree). What the unit
 * tests of ./../observer-validator.test.ts drive.
 */
import { expect } from "vitest";
import { AffiliationSync } from "../../../src/component/affiliation-sync.js";
import { CONFIG_DEFAULTS, type GroupPolicy } from "../../../src/component/config.js";
import type { Delivery, Reflection } from "../../../src/component/delivery.js";
import { createDsIdentity, type DsIdentity } from "../../../src/component/ds-identity.js";
import { silentLogger } from "../../../src/component/log.js";
import type { Affiliation } from "../../../src/component/muc.js";
import type { AffiliationSource } from "../../../src/component/observer-policy.js";
import { createObserverValidator, observerAuthenticationService, type ObserverValidator } from "../../../src/component/observer-validator.js";
import { Sequencer, type Verdict } from "../../../src/component/sequencer.js";
import type { DsStore, GroupRecord } from "../../../src/component/store/types.js";
import { xmppBindingExtension } from "../../../src/xmpp/binding-extension.js";
import { nativeProvider } from "../../../src/crypto/native/index.js";
import { extensionTypes } from "../../../src/mls/core/extension.js";
import { encodeExternalSenders } from "../../../src/mls/core/external-senders.js";
import { proposalTypes } from "../../../src/mls/core/protocol.js";
import { decodeMlsMessage, encodeMlsMessage, type MlsMessage } from "../../../src/mls/framing/mls-message.js";
import {
  createCommit,
  createGroup,
  createGroupInfo,
  groupConfig,
  groupInfoMessage,
  joinFromWelcome,
  mergeStagedCommit,
  processMessage,
  type CreateCommitOptions,
  type CreatedCommit,
  type GroupConfig,
  type GroupState,
} from "../../../src/mls/group/index.js";
import type { Proposal } from "../../../src/mls/messages/proposal.js";
import { toHex } from "../../../src/util/bytes.js";
import { cs, makeKeyPackage, type TestKeyPackage } from "./mls-fixtures.js";

export const HUB = "mls.example.org";
export const ROOM = "room@conference.example.org";
export const wire = (m: MlsMessage): Uint8Array => encodeMlsMessage(m);

/** The members' config: PublicMessage handshakes, the hub's Authentication Service. */
export const memberConfig: GroupConfig = groupConfig({ authenticationService: observerAuthenticationService, handshakeWireFormat: "public" });

export const DEFAULT_POLICY: GroupPolicy = {
  whoMayAdd: CONFIG_DEFAULTS.policy.whoMayAdd,
  whoMayRemove: CONFIG_DEFAULTS.policy.whoMayRemove,
  allowExternalJoin: CONFIG_DEFAULTS.policy.allowExternalJoin,
  groupInfoReadableBy: CONFIG_DEFAULTS.policy.groupInfoReadableBy,
};

/** The room's affiliations as the hub reads them. */
export class FakeAffiliations implements AffiliationSource {
  readonly map = new Map<string, Affiliation>();
  refreshes = 0;
  async affiliationOf(_room: string, jid: string): Promise<Affiliation> {
    return this.map.get(jid.split("/")[0]!.toLowerCase()) ?? "none";
  }
  refresh(): void {
    this.refreshes++;
  }
}

export interface Submission {
  readonly proposals?: readonly Uint8Array[];
  readonly commit?: Uint8Array;
  readonly welcome?: Uint8Array;
  readonly groupInfo?: Uint8Array;
}

export class ObserverWorld {
  readonly members = new Map<string, GroupState>();
  readonly reflections: Reflection[] = [];
  readonly affiliations = new FakeAffiliations();
  validator!: ObserverValidator;
  sequencer!: Sequencer;
  sync!: AffiliationSync;
  groupId = "";

  constructor(
    public store: DsStore,
    readonly identity: DsIdentity = createDsIdentity({ jid: HUB, provider: nativeProvider }),
    readonly options: { checkpointInterval?: number; now?: () => number } = {},
  ) {
    this.attach(store);
  }

  /** (Re)build the hub's parts over `store`, as a restarted gateway would. */
  attach(store: DsStore): void {
    this.store = store;
    let sync: AffiliationSync | undefined;
    this.validator = createObserverValidator({
      store, provider: nativeProvider, identity: this.identity, logger: silentLogger, affiliations: this.affiliations,
      ...(this.options.checkpointInterval !== undefined && { checkpointInterval: this.options.checkpointInterval }),
      ...(this.options.now !== undefined && { now: this.options.now }),
      onCommitApplied: (g) => sync?.afterCommit(g),
    });
    const delivery = {
      reflect: async (_g: GroupRecord, entries: readonly Reflection[]) => {
        this.reflections.push(...entries);
        return true;
      },
      recipients: (refs: readonly string[], added: readonly { jid: string; keyPackageRef: string }[] | undefined) => ({
        recipients: refs.flatMap((r) => added?.filter((a) => a.keyPackageRef === r) ?? []),
        unroutable: [],
      }),
      deliverWelcome: async () => {},
    } as unknown as Delivery;
    this.sequencer = new Sequencer({ store, validator: this.validator, delivery, domain: HUB, logger: silentLogger });
    this.sync = new AffiliationSync({
      store, sequencer: this.sequencer, identity: this.identity, provider: nativeProvider, domain: HUB, logger: silentLogger,
      affiliations: this.affiliations, viewOf: (g) => this.validator.viewOf(g),
    });
    sync = this.sync;
  }

  /** `creator` (a room owner) creates and registers the group. */
  async create(creator: string, policy: GroupPolicy = DEFAULT_POLICY): Promise<void> {
    this.affiliations.map.set(creator.split("/")[0]!, "owner");
    const kp = await makeKeyPackage(creator);
    const state = await createGroup({
      cs, config: memberConfig, leaf: { keyPackage: kp.keyPackage, privateKeys: kp.privateKeys },
      extensions: [xmppBindingExtension(ROOM, HUB), { extensionType: extensionTypes.external_senders, extensionData: encodeExternalSenders([this.identity.externalSender(1)]) }],
    });
    this.members.set(creator, state);
    this.groupId = toHex(state.groupId);
    const gi = wire(groupInfoMessage(await createGroupInfo(state)));
    const group = this.store.createGroup({
      groupId: this.groupId, roomJid: ROOM, policy, createdBy: creator, epoch: 0n, handshakeWireFormat: "public", createdAt: 1,
      groupInfo: gi, externalSenders: { bytes: encodeExternalSenders([this.identity.externalSender(1)]), dsIndex: 0 },
    });
    await this.validator.groupCreated!(group, gi);
  }

  get group(): GroupRecord {
    return this.store.getGroup(this.groupId);
  }

  get(name: string): GroupState {
    const s = this.members.get(name);
    if (s === undefined) throw new Error(`no member ${name}`);
    return s;
  }

  leafOf(name: string): number {
    return this.get(name).ownLeafIndex;
  }

  submit(from: string, s: Submission, epoch: bigint = this.group.epoch): Promise<Verdict> {
    return this.sequencer.submit({ groupId: this.groupId, epoch, proposals: s.proposals ?? [], submitter: from, ...(s.commit && { commit: s.commit }), ...(s.welcome && { welcome: s.welcome }), ...(s.groupInfo && { groupInfo: s.groupInfo }) });
  }

  /** `committer` builds a Commit (PublicMessage, GroupInfo with ratchet_tree). */
  commit(committer: string, opts: CreateCommitOptions = {}): Promise<CreatedCommit> {
    return createCommit(this.get(committer), opts);
  }

  /** Submit `created` as `committer`'s; on acceptance everybody processes it and joiners join. */
  async submitCommit(committer: string, created: CreatedCommit, joiners: readonly TestKeyPackage[] = [], o: { groupInfo?: boolean } = {}): Promise<Verdict> {
    const v = await this.submit(committer, {
      commit: wire(created.commitMessage),
      ...(created.welcome !== null && { welcome: wire(created.welcome) }),
      ...(created.groupInfo !== null && (o.groupInfo ?? true) && { groupInfo: wire(created.groupInfo) }),
    });
    await this.deliverCommit(created.commitMessage, committer, created);
    for (const kp of joiners) {
      const joined = await joinFromWelcome({ cs, config: memberConfig, welcome: decodeMlsMessage(wire(created.welcome!)), keyPackage: kp.keyPackage, keyPackagePrivateKeys: kp.privateKeys });
      this.members.set(observerAuthenticationService.identity(joined.state.ownLeafNode.credential), joined.state);
    }
    return v;
  }

  /** Every member processes an accepted Commit (the committer merges its own). */
  async deliverCommit(message: MlsMessage, committer: string | null, own?: CreatedCommit): Promise<void> {
    for (const [name, state] of [...this.members]) {
      if (name === committer && own !== undefined) {
        this.members.set(name, mergeStagedCommit(state, own.staged));
        continue;
      }
      const r = await processMessage(state, wire(message));
      if (r.kind !== "commit") throw new Error(`expected a commit, got ${r.kind}`);
      const next = mergeStagedCommit(state, r.staged);
      if (r.staged.removedSelf) this.members.delete(name);
      else this.members.set(name, next);
    }
  }

  /** Every member (but `except`) processes an accepted proposal. */
  async deliverProposal(bytes: Uint8Array, except?: string): Promise<void> {
    for (const [name, state] of [...this.members]) {
      if (name === except) continue;
      const r = await processMessage(state, bytes);
      if (r.kind !== "proposal") throw new Error(`expected a proposal, got ${r.kind}`);
      this.members.set(name, r.state);
    }
  }

  /** The observer agrees with every member on epoch, tree hash, transcript hash and membership. */
  async expectInSync(): Promise<void> {
    const view = await this.validator.viewOf(this.group);
    expect(view).not.toBeNull();
    for (const s of this.members.values()) {
      expect(view!.epoch).toBe(s.epoch);
      expect(toHex(view!.treeHash)).toBe(toHex(s.groupContext.treeHash));
      expect(toHex(view!.confirmedTranscriptHash)).toBe(toHex(s.groupContext.confirmedTranscriptHash));
      expect(view!.members().map((m) => m.identity)).toEqual(s.members().map((m) => m.identity));
    }
  }

  /** Everything the store holds, comparable. */
  snapshot(): string[] {
    return [...[...this.store.scanBlobs()].map((b) => `${b.location}|${b.key}|${toHex(b.bytes)}`).sort(), `epoch ${this.group.epoch}`];
  }
}

/** An inline Add of `kp`. */
export function addOf(kp: TestKeyPackage): Proposal {
  return { proposalType: proposalTypes.add, add: { keyPackage: kp.keyPackage } };
}

/** A Remove of `leaf`. */
export function removeOf(leaf: number): Proposal {
  return { proposalType: proposalTypes.remove, remove: { removed: leaf } };
}

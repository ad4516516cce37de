/**
 * A toy Delivery Service for multi-member group tests: every member's state by name, in-order
 * delivery of proposals and Commits through their wire encoding, joiners by Welcome, and a check
 * that all members agree on epoch, tree hash and epoch authenticator (RFC 9420 §8.7).
 */
import { expect } from "vitest";
import type { CipherSuite } from "../../src/crypto/cipher-suite.js";
import { unsafeTestingAuthenticationService } from "../../src/mls/auth/authentication-service.js";
import type { Extension } from "../../src/mls/core/extension.js";
import { credentialTypes, proposalTypes } from "../../src/mls/core/protocol.js";
import { decodeMlsMessage, encodeMlsMessage, type MlsMessage } from "../../src/mls/framing/mls-message.js";
import {
  createCommit,
  createGroup,
  groupConfig,
  joinFromWelcome,
  mergeStagedCommit,
  processMessage,
  type CreateCommitOptions,
  type CreatedCommit,
  type GroupConfig,
  type GroupConfigInput,
  type GroupState,
  type StagedCommit,
} from "../../src/mls/group/index.js";
import { createKeyPackage, type CreatedKeyPackage } from "../../src/mls/messages/key-package-ops.js";
import type { Proposal } from "../../src/mls/messages/proposal.js";
import { bytesEqual, toHex, utf8 } from "../../src/util/bytes.js";

export const wire = (m: MlsMessage): Uint8Array => encodeMlsMessage(m);

export function testConfig(input: Partial<GroupConfigInput> = {}): GroupConfig {
  return groupConfig({ authenticationService: unsafeTestingAuthenticationService, ...input });
}

export const basic = (name: string) => ({ credentialType: credentialTypes.basic, identity: utf8(name) }) as const;

/**
 * The members of a test group by name: their states, the KeyPackages the harness made for those
 * not yet joined, and the agreement check. How messages are delivered is the subclass's rule
 * ({@link GroupHarness}, or a stricter one in a test).
 */
export class GroupMembers {
  readonly states = new Map<string, GroupState>();
  readonly pending = new Map<string, CreatedKeyPackage>();
  readonly removed = new Map<string, GroupState>();

  constructor(
    readonly cs: CipherSuite,
    readonly config: GroupConfig,
  ) {}

  /** A group of one, `creator`, as an instance of the class it is called on. */
  static async create<G extends GroupMembers>(
    this: new (cs: CipherSuite, config: GroupConfig) => G,
    cs: CipherSuite,
    config: GroupConfig,
    creator: string,
    extensions?: readonly Extension[],
  ): Promise<G> {
    const g = new this(cs, config);
    const kp = await g.keyPackage(creator);
    g.pending.delete(creator);
    g.states.set(creator, await createGroup({ cs, config, leaf: { keyPackage: kp.keyPackage, privateKeys: kp.privateKeys }, extensions }));
    return g;
  }

  async keyPackage(name: string): Promise<CreatedKeyPackage> {
    const kp = await createKeyPackage({ cs: this.cs, credential: basic(name) });
    this.pending.set(name, kp);
    return kp;
  }

  /** Fresh KeyPackages for `names`, as Add proposals by value. */
  async addProposals(names: readonly string[]): Promise<Proposal[]> {
    const kps = await Promise.all(names.map((n) => this.keyPackage(n)));
    return kps.map((k) => ({ proposalType: proposalTypes.add, add: { keyPackage: k.keyPackage } }));
  }

  get(name: string): GroupState {
    const s = this.states.get(name);
    if (s === undefined) throw new Error(`no member ${name}`);
    return s;
  }

  names(): string[] {
    return [...this.states.keys()];
  }

  leafOf(name: string): number {
    return this.get(name).ownLeafIndex;
  }

  /**
   * Every member but `committer` processes and merges an accepted Commit, in order; those it
   * removes move to `removed`. Returns each processor's StagedCommit, in processing order.
   */
  protected async processCommit(bytes: Uint8Array, committer: string | undefined): Promise<Map<string, StagedCommit>> {
    const staged = new Map<string, StagedCommit>();
    for (const name of this.names()) {
      if (name === committer) continue;
      const r = await processMessage(this.get(name), bytes);
      if (r.kind !== "commit") throw new Error(`expected a commit, got ${r.kind}`);
      staged.set(name, r.staged);
      const next = mergeStagedCommit(this.get(name), r.staged);
      if (r.staged.removedSelf) {
        expect(next.status.kind).toBe("removed");
        this.states.delete(name);
        this.removed.set(name, next);
      } else {
        this.states.set(name, next);
      }
    }
    return staged;
  }

  /** The added members whose KeyPackage the harness made join from `welcome`; others are the caller's. */
  protected async joinAdded(added: StagedCommit["changes"]["added"], welcome: MlsMessage | null | undefined): Promise<void> {
    for (const a of added) {
      const kp = this.pending.get(a.identity);
      if (kp === undefined) continue; // an external joiner, handled by the caller
      if (welcome === null || welcome === undefined) throw new Error("adds without a Welcome");
      const joined = await joinFromWelcome({ cs: this.cs, config: this.config, welcome: decodeMlsMessage(wire(welcome)), keyPackage: kp.keyPackage, keyPackagePrivateKeys: kp.privateKeys });
      this.pending.delete(a.identity);
      this.states.set(a.identity, joined.state);
    }
  }

  expectInSync(): void {
    const states = [...this.states.values()];
    const first = states[0]!;
    for (const s of states) {
      expect(s.epoch).toBe(first.epoch);
      expect(toHex(s.groupContext.treeHash)).toBe(toHex(first.groupContext.treeHash));
      expect(toHex(s.epochAuthenticator())).toBe(toHex(first.epochAuthenticator()));
      expect(s.tree.members().length).toBe(states.length);
    }
    expect(new Set(states.map((s) => s.ownLeafIndex)).size).toBe(states.length);
  }
}

/** A toy Delivery Service over {@link GroupMembers}: proposals and Commits in order, joiners by Welcome. */
export class GroupHarness extends GroupMembers {
  /** Every member but `sender` (whose state already caches it, if it is a member) processes a proposal. */
  async deliverProposal(message: MlsMessage, sender?: { name: string; state: GroupState }, ref?: Uint8Array): Promise<void> {
    if (sender !== undefined) this.states.set(sender.name, sender.state);
    const bytes = wire(message);
    for (const name of this.names()) {
      if (name === sender?.name) continue;
      const r = await processMessage(this.get(name), bytes);
      if (r.kind !== "proposal") throw new Error(`expected a proposal, got ${r.kind}`);
      if (ref !== undefined) expect(bytesEqual(r.ref, ref)).toBe(true);
      this.states.set(name, r.state);
    }
  }

  /**
   * The DS accepted a Commit: every member but the committer processes and merges it, then the
   * committer merges `ownStaged` (when it is a member) and new members whose KeyPackage the
   * harness made join from the Welcome. Then all must agree, unless `checkSync` is false (an
   * external joiner the caller adds itself).
   */
  async accept(commitMessage: MlsMessage, opts: { committer?: string; ownStaged?: StagedCommit; welcome?: MlsMessage | null; checkSync?: boolean } = {}): Promise<Map<string, StagedCommit>> {
    const staged = await this.processCommit(wire(commitMessage), opts.committer);
    let added: StagedCommit["changes"]["added"] = [...staged.values()].at(-1)?.changes.added ?? [];
    if (opts.committer !== undefined && opts.ownStaged !== undefined) {
      this.states.set(opts.committer, mergeStagedCommit(this.get(opts.committer), opts.ownStaged));
      added = opts.ownStaged.changes.added;
    }
    await this.joinAdded(added, opts.welcome);
    if (opts.checkSync ?? true) this.expectInSync();
    return staged;
  }

  async commit(committer: string, opts: CreateCommitOptions = {}): Promise<CreatedCommit> {
    const created = await createCommit(this.get(committer), opts);
    await this.accept(created.commitMessage, { committer, ownStaged: created.staged, welcome: created.welcome });
    return created;
  }

  async add(committer: string, ...names: string[]): Promise<CreatedCommit> {
    return this.commit(committer, { proposals: await this.addProposals(names) });
  }
}

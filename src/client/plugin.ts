/**
 * The client plugin: one MLS client (device) on an xmpp.js connection, in xmpp.js plugin style.
 *
 *   const mlsClient = mls({ entity, middleware, iqCaller, iqCallee }, { store, ... });
 *   mlsClient.on("message", (m) => ...);
 *   await xmpp.start();                        // "online" → device, DS, KeyPackages, rooms catch up
 *   await mlsClient.createRoom("room@conference.example.org");
 *   await mlsClient.invite("room@conference.example.org", "bob@example.org");
 *   await mlsClient.sendText("room@conference.example.org", "hi");
 *
 * Incoming stanzas pass through the middleware untouched (other handlers still see them):
 * `<welcome/>` and `<key-packages-low/>` messages from the DS, room presences and groupchat
 * `<mls/>` messages are routed to the rooms. On every (re)connect the plugin rejoins its rooms and
 * catches up before sending anything; sends made meanwhile wait.
 * @module
 */
import { EventEmitter } from "node:events";
import type { CipherSuite } from "../crypto/cipher-suite.js";
import { UsageError } from "../errors.js";
import { credentialTypes, proposalTypes, wireFormats } from "../mls/core/protocol.js";
import { decodeMlsMessage } from "../mls/framing/mls-message.js";
import { groupConfig, type GroupConfig } from "../mls/group/group-config.js";
import { parallelSignatureVerifier, withWorkerPool, WorkerPool } from "../mls/parallel/index.js";
import { keyPackageRef, validateKeyPackage } from "../mls/messages/key-package-ops.js";
import type { KeyPackage } from "../mls/messages/key-package.js";
import { bytesEqual, fromUtf8, toHex } from "../util/bytes.js";
import { parseWelcomeMessage } from "../xmpp/delivery-stanzas.js";
import type { DsInfo } from "../xmpp/ds-info.js";
import { bareJid } from "../xmpp/jid.js";
import { parseKeyPackagesLow } from "../xmpp/key-package-stanzas.js";
import { NS_DISCO_INFO, NS_MLS } from "../xmpp/ns.js";
import { xml, type Element } from "../xmpp/xml.js";
import { loadOrCreateDevice, splitIdentity, xmppAuthenticationService, type Device } from "./device.js";
import { discoInfo, discoverDs, dsInfoOf, DsClient } from "./ds-client.js";
import { MlsClientError } from "./errors.js";
import { deviceRef, type DeviceRef, type MlsEvents } from "./events.js";
import { Io, type MlsEntityParts } from "./io.js";
import { KeyPackagePool } from "./key-package-pool.js";
import { hasAffiliation, leaveRoom, parseOccupantPresence, setAffiliation } from "./muc.js";
import { Mutex } from "./mutex.js";
import { resolveOptions, type MlsOptions, type ResolvedOptions } from "./options.js";
import { commit, proposeLeave, sendText as sendInRoom, updateDue, type SentMessage } from "./room-outbound.js";
import { createBoundRoom, joinWelcome } from "./room-setup.js";
import type { RoomContext } from "./room-common.js";
import { RoomSession } from "./room-session.js";
import { defaultGroupStateCodec, RoomStore, type GroupStateCodec } from "./room-store.js";

export interface MlsPluginOptions extends MlsOptions {
  /** How group states are persisted. Default: the group layer's format (src/mls/group/persistence.ts); null: memory only. */
  readonly groupStateCodec?: GroupStateCodec | null;
}

export interface InviteResult {
  /** The devices the Commit added. */
  readonly added: readonly DeviceRef[];
  readonly epoch: bigint;
}

const lower = (s: string): string => s.toLowerCase();

/** The plugin object: API methods plus typed events (see events.ts). */
export class MlsClient extends EventEmitter<MlsEvents> {
  readonly options: ResolvedOptions;
  readonly #io: Io;
  readonly #cs: CipherSuite;
  readonly #config: GroupConfig;
  readonly #rooms: RoomStore;
  readonly #sessions = new Map<string, RoomSession>();
  readonly #setup = new Mutex();
  #device: Device | null = null;
  #ds: { client: DsClient; info: DsInfo } | null = null;
  #pool: KeyPackagePool | null = null;
  /** A worker pool of our own (option `workers: n`), closed by stop(); the shared one is not. */
  #ownPool: WorkerPool | null = null;
  #restored = false;
  #startup: Promise<void> | null = null;
  #startupWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  #cadence: ReturnType<typeof setInterval> | undefined;
  #stopped = false;
  readonly #onOnline = (): void => void this.#start();
  readonly #onOffline = (): void => this.#wentOffline();

  constructor(parts: MlsEntityParts, options: MlsPluginOptions = {}) {
    super();
    this.options = resolveOptions(options);
    this.#io = new Io(parts, this.options.requestTimeoutMs);
    const workers = this.options.workers;
    const pool = workers === true ? WorkerPool.shared() : workers === false || workers === 0 ? null : new WorkerPool({ size: workers });
    if (pool !== null && workers !== true) this.#ownPool = pool;
    const cs = this.options.provider.suite(this.options.cipherSuite);
    // Large batches (a big room's member signatures on join, a Commit's HPKE seals) on worker
    // threads; native suites only (the pool runs the native provider).
    this.#cs = pool === null || cs.provider !== "native" ? cs : withWorkerPool(cs, pool);
    this.#config = groupConfig({
      authenticationService: xmppAuthenticationService(),
      handshakeWireFormat: this.options.handshakeWireFormat,
      ...(pool !== null && cs.provider === "native" && { verifySignatures: parallelSignatureVerifier(pool) }),
    });
    this.#rooms = new RoomStore(this.options.store, options.groupStateCodec === undefined ? defaultGroupStateCodec : options.groupStateCodec);
    parts.middleware.use((ctx, next) => {
      if (!this.#stopped) {
        this.#io.dispatch(ctx.stanza);
        this.#route(ctx.stanza);
      }
      return next();
    });
    // XEP "Client Support": advertise the feature.
    parts.iqCallee?.get(NS_DISCO_INFO, "query", () =>
      xml("query", { xmlns: NS_DISCO_INFO }, xml("identity", { category: "client", type: "pc" }), xml("feature", { var: NS_DISCO_INFO }), xml("feature", { var: NS_MLS })),
    );
    parts.entity.on("online", this.#onOnline);
    parts.entity.on("offline", this.#onOffline);
    parts.entity.on("disconnect", this.#onOffline);
    if (parts.entity.jid !== null && parts.entity.status === "online") void this.#start();
  }

  /** This device's id, once online. */
  get deviceId(): string | undefined {
    return this.#device?.deviceId;
  }

  /** This device's credential identity `bare/device`, once online. */
  get identity(): string | undefined {
    return this.#device?.identity;
  }

  /** The Delivery Service in use, once online. */
  get deliveryService(): string | undefined {
    return this.#ds?.client.jid;
  }

  #emitError(error: unknown, context: string, room?: string): void {
    this.options.logger.warn(`${context} failed`, { room, error: error instanceof Error ? error.message : String(error) });
    if (this.listenerCount("error") > 0) this.emit("error", room === undefined ? { error, context } : { error, room, context });
  }

  // ---------------------------------------------------------------- lifecycle

  /** Resolves when the device is online and caught up (rejects if the startup failed). */
  ready(): Promise<void> {
    if (this.#startup !== null) return this.#startup;
    return new Promise((resolve, reject) => this.#startupWaiters.push({ resolve, reject }));
  }

  #start(): Promise<void> {
    const p = this.#startupSequence();
    this.#startup = p;
    p.then(
      () => {
        for (const w of this.#startupWaiters.splice(0)) w.resolve();
        this.emit("online");
      },
      (e: unknown) => {
        for (const w of this.#startupWaiters.splice(0)) w.reject(e);
        this.#emitError(e, "starting up");
      },
    );
    return p;
  }

  async #startupSequence(): Promise<void> {
    const jid = this.#io.jid;
    if (jid === null) throw new MlsClientError("client.not_online", "the entity has no bound JID");
    const o = this.options;
    if (this.#device === null) {
      const { device, created } = await loadOrCreateDevice(o.store, this.#cs, jid.toString(), o.deviceId);
      this.#device = device;
      if (created) o.logger.info("created device", { identity: device.identity });
      if (jid.resource !== device.deviceId) o.logger.warn("the XMPP resource is not the device id: Welcome messages go to the device id", { resource: jid.resource, deviceId: device.deviceId });
    }
    const device = this.#device;
    if (this.#ds === null) {
      const found = o.deliveryService === undefined ? await discoverDs(this.#io, jid.domain, o.logger) : { jid: o.deliveryService, info: await dsInfoOf(this.#io, o.deliveryService) };
      this.#ds = { client: new DsClient(this.#io, found.jid), info: found.info };
      this.#pool = new KeyPackagePool(o.store, this.#cs, device, { poolSize: o.keyPackagePoolSize, lowWater: o.keyPackageLowWater, logger: o.logger, provider: o.provider });
    } else {
      // XEP: "clients SHOULD re-read them at least once per session".
      this.#ds.info = await dsInfoOf(this.#io, this.#ds.client.jid);
    }
    if (!this.#restored) {
      this.#restored = true;
      await this.#restoreRooms();
    }
    const ds = this.#ds.client;
    const results = await Promise.allSettled([this.#pool!.ensure(ds), ...[...this.#sessions.values()].map((s) => this.#resync(s))]);
    for (const r of results) if (r.status === "rejected") this.#emitError(r.reason, "publishing KeyPackages");
    this.#startCadence();
  }

  /** Catch a room up; on failure, retry with back-off while we stay online (the next connect retries anyway). */
  #resync(s: RoomSession, attempt = 0): Promise<void> {
    return s.resync().catch((e: unknown) => {
      this.#emitError(e, "catching up", s.room);
      if (s.gone || attempt >= 5 || (e as { code?: string }).code === "client.catch_up_failed") return;
      const startup = this.#startup;
      const t = setTimeout(() => {
        if (this.#startup === startup && startup !== null) void this.#resync(s, attempt + 1);
      }, 1000 * 2 ** attempt);
      t.unref?.();
    });
  }

  #wentOffline(): void {
    this.#startup = null;
    for (const s of this.#sessions.values()) s.offline();
  }

  /**
   * Save every room, stop timers and detach from the entity (the connection itself is the
   * application's). Waits for work in progress in each room.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#cadence !== undefined) clearInterval(this.#cadence);
    this.#cadence = undefined;
    this.#io.entity.off("online", this.#onOnline);
    this.#io.entity.off("offline", this.#onOffline);
    this.#io.entity.off("disconnect", this.#onOffline);
    await Promise.allSettled(
      [...this.#sessions.values()].map((s) =>
        s.mutex.run(async () => {
          s.offline();
          await s.flush();
        }),
      ),
    );
    await this.#ownPool?.close();
  }

  #startCadence(): void {
    if (this.#cadence !== undefined) return;
    const every = Math.max(1000, Math.min(this.options.updateIntervalMs / 4, 3600_000));
    this.#cadence = setInterval(() => {
      for (const s of this.#sessions.values()) if (s.ready && updateDue(s)) this.#selfUpdate(s);
    }, every);
    this.#cadence.unref?.();
  }

  #selfUpdate(s: RoomSession): void {
    s.mutex.run(() => (s.ready && !s.gone && updateDue(s) ? commit(s, { label: "self-update", forcePath: true }) : null)).catch((e: unknown) => this.#emitError(e, "self-update", s.room));
  }

  // ---------------------------------------------------------------- rooms

  #roomContext(): RoomContext {
    return {
      io: this.#io,
      device: this.#device!,
      opts: this.options,
      emit: (event, ...args) => {
        if (event === "error") {
          const ev = args[0] as MlsEvents["error"][0];
          this.#emitError(ev.error, ev.context, ev.room);
          return;
        }
        (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
      },
      hub: (jid) => (this.#ds !== null && lower(jid) === lower(this.#ds.client.jid) ? this.#ds.client : new DsClient(this.#io, jid)),
      persist: (s) => (s.gone ? Promise.resolve() : this.#rooms.save(s.record(), s.state)),
      dropped: (s) => void this.#drop(s),
    };
  }

  #register(session: RoomSession): void {
    this.#sessions.set(session.groupHex, session);
    session.onCommitTimer = () => {
      session.mutex
        .run(() => (session.ready && !session.gone ? commit(session, { label: "pending proposals" }) : null))
        .catch((e: unknown) => this.#emitError(e, "committing pending proposals", session.room));
    };
  }

  async #drop(s: RoomSession): Promise<void> {
    this.#sessions.delete(s.groupHex);
    try {
      await this.#rooms.drop(s.groupHex);
      await leaveRoom(this.#io, s.room, s.nick);
    } catch (e) {
      this.#emitError(e, "leaving a room we were removed from", s.room);
    }
  }

  async #restoreRooms(): Promise<void> {
    const ctx = this.#roomContext();
    for (const g of await this.#rooms.groups()) {
      try {
        const loaded = await this.#rooms.load(g, { provider: this.options.provider, config: this.#config });
        if (loaded === null) {
          this.options.logger.warn("a stored room has no restorable group state", { group: g });
          continue;
        }
        this.#register(new RoomSession(ctx, loaded.record, loaded.state));
      } catch (e) {
        this.#emitError(e, "restoring a room");
      }
    }
  }

  #session(room: string): RoomSession {
    for (const s of this.#sessions.values()) if (lower(s.room) === lower(room)) return s;
    throw new MlsClientError("client.unknown_room", `this device is in no group for ${room}`);
  }

  /** The rooms this device is in. */
  rooms(): string[] {
    return [...this.#sessions.values()].map((s) => s.room);
  }

  /** The devices in the room's group (from the ratchet tree). */
  members(room: string): DeviceRef[] {
    return this.#session(room).state.members().map((m) => deviceRef(m.identity));
  }

  /** The room's MLS group id, hex. */
  groupId(room: string): string {
    return this.#session(room).groupHex;
  }

  epoch(room: string): bigint {
    return this.#session(room).epoch;
  }

  /** The verification code of the room's current epoch (XEP "Authentication Service Compromise"). */
  verificationCode(room: string): string {
    return this.#session(room).verificationCode();
  }

  async #online(): Promise<{ device: Device; ds: { client: DsClient; info: DsInfo }; pool: KeyPackagePool }> {
    await this.ready();
    return { device: this.#device!, ds: this.#ds!, pool: this.#pool! };
  }

  #setupContext(device: Device) {
    return { io: this.#io, cs: this.#cs, config: this.#config, device, logger: this.options.logger, requestTimeoutMs: this.options.requestTimeoutMs };
  }

  #nick(device: Device, room: string): string {
    return this.options.nick({ local: device.bareJid.slice(0, device.bareJid.indexOf("@")), deviceId: device.deviceId, room });
  }

  /** Create `room`, bind it to a new group and register it with the DS (XEP "Binding a Room to a Group"). */
  async createRoom(room: string, opts: { name?: string } = {}): Promise<void> {
    const { device, ds } = await this.#online();
    await this.#setup.run(async () => {
      if (this.rooms().some((r) => lower(r) === lower(room))) throw new MlsClientError("client.room_exists", `this device already has a group for ${room}`);
      const { record, state } = await createBoundRoom(this.#setupContext(device), ds, bareJid(room), this.#nick(device, room), opts);
      const session = new RoomSession(this.#roomContext(), record, state);
      this.#register(session);
      await this.#rooms.save(record, state);
      await this.#resync(session);
      this.emit("joined", { room: record.room, epoch: session.epoch, members: this.members(record.room), created: true });
      this.emit("verification-code", { room: record.room, epoch: session.epoch, code: session.verificationCode() });
    });
  }

  /**
   * Add every device of `user` (XEP "Adding and Leaving"): member affiliation, claim their
   * KeyPackages, Commit with the Adds + Welcome, retrying lost races.
   */
  async invite(room: string, user: string): Promise<InviteResult> {
    const { ds } = await this.#online();
    const s = this.#session(room);
    const jid = bareJid(user);
    // XEP "Adding and Leaving": grant membership first (never demote an owner or admin).
    if (!(await hasAffiliation(this.#io, s.room, jid, ["owner", "admin"], this.options.logger))) await setAffiliation(this.#io, s.room, jid, "member");
    const claimed = await ds.client.claim(jid, this.#cs.params.id, s.groupId);
    const kps: KeyPackage[] = [];
    for (const c of claimed.keyPackages) {
      try {
        kps.push(await this.#checkClaimed(jid, c.device, c.ref, c.keyPackage));
      } catch (e) {
        // XEP "Claiming KeyPackages": "It MUST ignore KeyPackages that fail these checks."
        this.#emitError(e, `checking a KeyPackage of ${jid}/${c.device}`, s.room);
      }
    }
    if (kps.length === 0) throw new MlsClientError("client.no_key_packages", `no usable KeyPackage for ${jid}`);
    const staged = await s.mutex.run(async () => {
      const fresh = kps.filter((kp) => s.state.tree.findLeafBySignatureKey(kp.leafNode.signatureKey) === undefined);
      return commit(s, { label: `invite ${jid}`, proposals: fresh.map((keyPackage) => ({ proposalType: proposalTypes.add, add: { keyPackage } })) });
    });
    return { added: staged === null ? [] : staged.changes.added.map((m) => deviceRef(m.identity)), epoch: s.epoch };
  }

  async #checkClaimed(jid: string, device: string, ref: Uint8Array, bytes: Uint8Array): Promise<KeyPackage> {
    const msg = decodeMlsMessage(bytes);
    if (msg.wireFormat !== wireFormats.mls_key_package) throw new MlsClientError("client.no_key_packages", "not an MLSMessage(KeyPackage)");
    const kp = msg.keyPackage;
    if (!bytesEqual(keyPackageRef(this.#cs, kp), ref)) throw new MlsClientError("client.no_key_packages", "the KeyPackageRef does not match 'ref'");
    const identity = kp.leafNode.credential.credentialType === credentialTypes.basic ? fromUtf8(kp.leafNode.credential.identity) : "";
    if (identity !== `${jid}/${device}`) throw new MlsClientError("client.no_key_packages", `the credential identity is ${identity}, not ${jid}/${device}`);
    return validateKeyPackage(this.#cs, kp, { authService: this.#config.authenticationService });
  }

  /** Remove every device of `user`, then revoke their membership of the room. */
  async remove(room: string, user: string): Promise<readonly DeviceRef[]> {
    await this.#online();
    const s = this.#session(room);
    const jid = lower(bareJid(user));
    const staged = await s.mutex.run(() => {
      const state = s.state;
      const pendingRemoves = new Set(state.proposals().flatMap((p) => (p.proposal.proposalType === proposalTypes.remove ? [p.proposal.remove.removed] : [])));
      const leaves = state.members().filter((m) => lower(splitIdentity(m.identity).jid) === jid && m.leafIndex !== state.ownLeafIndex && !pendingRemoves.has(m.leafIndex));
      return commit(s, { label: `remove ${jid}`, proposals: leaves.map((m) => ({ proposalType: proposalTypes.remove, remove: { removed: m.leafIndex } })) });
    });
    if (jid !== lower(this.#device!.bareJid)) await setAffiliation(this.#io, s.room, jid, "none");
    return staged === null ? [] : staged.changes.removed.map((m) => deviceRef(m.identity));
  }

  /** Propose our own removal (XEP "Adding and Leaving"); `removed` fires once a member commits it. */
  async leave(room: string): Promise<void> {
    await this.#online();
    const s = this.#session(room);
    await s.whenReady();
    await s.mutex.run(() => proposeLeave(s));
  }

  /** A self-update Commit (fresh leaf and path keys: post-compromise security). */
  async updateKeys(room: string): Promise<bigint> {
    await this.#online();
    const s = this.#session(room);
    await s.whenReady();
    await s.mutex.run(() => commit(s, { label: "self-update", forcePath: true }));
    return s.epoch;
  }

  /** Send a text message to the room (queued until the room has caught up). */
  async sendText(room: string, text: string): Promise<SentMessage> {
    if (typeof text !== "string") throw new UsageError("bad_text", "text must be a string");
    await this.#online();
    const s = this.#session(room);
    const sent = await sendInRoom(s, text);
    if (updateDue(s)) this.#selfUpdate(s);
    return sent;
  }

  /** Publish KeyPackages up to the pool size (also done on every connect). */
  async replenishKeyPackages(): Promise<number> {
    const { ds, pool } = await this.#online();
    return pool.ensure(ds.client);
  }

  // ---------------------------------------------------------------- incoming

  #route(el: Element): void {
    if (el.is("presence")) {
      const p = parseOccupantPresence(el);
      if (p === null) return;
      for (const s of this.#sessions.values()) if (lower(s.room) === lower(p.room)) s.onPresence(p);
      return;
    }
    if (!el.is("message")) return;
    if (el.attrs.type === "groupchat") {
      if (el.getChild("mls", NS_MLS) === undefined) return;
      const room = lower(bareJid(el.attrs.from ?? ""));
      for (const s of this.#sessions.values()) if (lower(s.room) === room) s.onGroupchat(el);
      return;
    }
    if (el.getChild("welcome", NS_MLS) !== undefined) {
      this.#setup.run(() => this.#onWelcome(el)).catch((e: unknown) => this.#emitError(e, "joining from a Welcome"));
      return;
    }
    const low = el.getChild("key-packages-low", NS_MLS);
    if (low !== undefined) void this.#onLowWater(el, low);
  }

  async #onLowWater(stanza: Element, el: Element): Promise<void> {
    try {
      const { device, ds, pool } = await this.#online();
      if (lower(bareJid(stanza.attrs.from ?? "")) !== lower(ds.client.jid)) return;
      const notice = parseKeyPackagesLow(el);
      if (notice.device !== device.deviceId || notice.cipherSuite !== this.#cs.params.id) return;
      await pool.replenish(ds.client, notice.remaining);
    } catch (e) {
      this.#emitError(e, "replenishing KeyPackages");
    }
  }

  async #onWelcome(stanza: Element): Promise<void> {
    const { device, ds, pool } = await this.#online();
    const { from, welcome } = parseWelcomeMessage(stanza);
    if (this.#sessions.has(toHex(welcome.group))) return;
    // XEP: the Welcome must come from a DS (and the binding must name it, checked in joinWelcome).
    if (lower(bareJid(from)) !== lower(ds.client.jid) && !(await discoInfo(this.#io, from)).features.has(NS_MLS)) {
      throw new MlsClientError("client.binding_mismatch", `a Welcome from ${from}, which is not a Delivery Service`);
    }
    const stamp = stanza.getChild("delay", "urn:xmpp:delay")?.attrs.stamp;
    const receivedAt = stamp !== undefined && !Number.isNaN(Date.parse(stamp)) ? new Date(stamp) : new Date();
    const joined = await joinWelcome(this.#setupContext(device), pool, from, welcome, (room) => this.#nick(device, room), receivedAt, (g) => this.#sessions.has(toHex(g)));
    if (joined === null) return;
    await pool.consumed(ds.client, joined.used).catch((e: unknown) => this.#emitError(e, "retiring a used KeyPackage"));
    const session = new RoomSession(this.#roomContext(), joined.record, joined.state);
    this.#register(session);
    await this.#rooms.save(joined.record, joined.state);
    // Announce the room once it has caught up (the log after the Welcome's seq, the archive).
    await this.#resync(session);
    if (session.gone) return;
    this.emit("joined", { room: joined.record.room, epoch: session.epoch, members: this.members(joined.record.room), created: false });
    this.emit("verification-code", { room: joined.record.room, epoch: session.epoch, code: session.verificationCode() });
  }
}

/** xmpp.js-style factory: `mls({ entity, middleware, iqCaller, iqCallee }, options)`. */
export function mls(parts: MlsEntityParts, options: MlsPluginOptions = {}): MlsClient {
  return new MlsClient(parts, options);
}

/** Convenience for an @xmpp/client instance (it carries its own parts). */
export function setupMls(
  xmppClient: MlsEntityParts["entity"] & Pick<MlsEntityParts, "middleware" | "iqCaller" | "iqCallee">,
  options: MlsPluginOptions = {},
): MlsClient {
  return mls({ entity: xmppClient, middleware: xmppClient.middleware, iqCaller: xmppClient.iqCaller, iqCallee: xmppClient.iqCallee }, options);
}

/**
 * The Delivery Service gateway: an XEP-0114 component (`@xmpp/component` 0.13) wired to the DS
 * handlers. What ./cli.ts loads ({@link GatewayModule}).
 *
 *   startGateway(config) ── store (SQLite, or memory for ":memory:") ── DS identity (key file
 *     beside the database) ── createServices ── Router + handlers ── component: connect, then
 *     on every (re)connection re-join the bound rooms
 *
 * Routes (all on the bare component domain):
 *   get  disco#info, disco#items                                   ./disco.ts
 *   get/set pubsub (publish, retract, items, create)               ./pubsub-handlers.ts
 *   set  {urn:x-xmpp-mls:0}claim                                   ./claim-handler.ts
 *   set  {urn:x-xmpp-mls:0}create, get {…}group-info               ./group-handlers.ts
 *   set  {urn:x-xmpp-mls:0}submit                                  ./submit-handler.ts
 *   get  {urn:x-xmpp-mls:0}log                                     ./log-handler.ts
 *   presence and messages from rooms                               ./muc.ts
 *
 * The commit validator is the observer (./observer-validator.ts) unless {@link GatewayOptions.validator}
 * replaces it; revoked affiliations become the hub's Remove proposals (./affiliation-sync.ts)
 * unless {@link GatewayHooks.affiliationRevoked} replaces that.
 * @module
 */
import { createRequire } from "node:module";
import type { CryptoProvider } from "../crypto/cipher-suite.js";
import { nativeProvider } from "../crypto/native/index.js";
import type { GatewayHandle } from "./cli.js";
import type { CommitValidator } from "./commit-validator.js";
import type { GatewayConfig } from "./config.js";
import { registerClaim } from "./claim-handler.js";
import { registerDisco } from "./disco.js";
import { createDsIdentity, type DsIdentity } from "./ds-identity.js";
import { portOf, type GatewayEntity, type XmppPort } from "./entity.js";
import { registerGroups } from "./group-handlers.js";
import type { ValidateKeyPackage } from "./key-directory.js";
import type { Logger } from "./log.js";
import { registerLog } from "./log-handler.js";
import type { AffiliationRevoked } from "./muc.js";
import { registerPubsub } from "./pubsub-handlers.js";
import { Router } from "./router.js";
import { createServices, type DsServices } from "./services.js";
import { MemoryStore } from "./store/memory-store.js";
import { openSqliteStore } from "./store/sqlite-store.js";
import type { DsStore, GroupRecord } from "./store/types.js";
import { registerSubmit } from "./submit-handler.js";

export interface GatewayHooks {
  /**
   * An account lost its membership of a bound room (XEP "Removal by the Delivery Service"). The
   * default, `services.affiliationSync.revoke`, proposes the Remove of each of the account's
   * leaves as the group's external sender (`services.sequencer.appendOwnProposal`).
   */
  readonly affiliationRevoked?: (event: AffiliationRevoked & { readonly group: GroupRecord }, services: DsServices) => void | Promise<void>;
}

export interface GatewayOptions {
  readonly logger: Logger;
  /** Default: SQLite at `config.database` (memory for `:memory:`); closed by `stop()` only when opened here. */
  readonly store?: DsStore;
  /** Default: the native provider. */
  readonly provider?: CryptoProvider;
  /** Default: keys in `<database>.ds-keys.json` (in memory for `:memory:`). */
  readonly identity?: DsIdentity;
  /**
   * Default: the observer (./observer-validator.ts): PublicMessage groups are validated and held to
   * the group policy; PrivateMessage groups (config `policy.handshakeWireFormat: "private"`) are
   * sequenced with framing checks only. Pass `framingCommitValidator` to sequence everything.
   */
  readonly validator?: CommitValidator;
  /** Default: the MLS engine. */
  readonly validateKeyPackage?: ValidateKeyPackage;
  readonly hooks?: GatewayHooks;
  /** ms since 1970. */
  readonly now?: () => number;
  /** MUC nick. Default `mls-ds`. */
  readonly nick?: string;
  /** Timeout of room joins, ms. */
  readonly joinTimeoutMs?: number;
  /** Accept registrations of groups past epoch 0. Default false. */
  readonly allowExistingGroups?: boolean;
}

export interface BuiltGateway {
  readonly services: DsServices;
  readonly router: Router;
}

/** Build services, router and handlers on top of an {@link XmppPort} (no connection yet). */
export function buildGateway(
  config: GatewayConfig,
  xmpp: XmppPort,
  options: GatewayOptions & { readonly store: DsStore; readonly provider: CryptoProvider; readonly identity: DsIdentity },
): BuiltGateway {
  const services = createServices({
    config, xmpp,
    store: options.store, logger: options.logger, provider: options.provider, identity: options.identity,
    ...(options.validator !== undefined && { validator: options.validator }),
    ...(options.validateKeyPackage !== undefined && { validateKeyPackage: options.validateKeyPackage }),
    ...(options.now !== undefined && { now: options.now }),
    ...(options.nick !== undefined && { nick: options.nick }),
    ...(options.joinTimeoutMs !== undefined && { joinTimeoutMs: options.joinTimeoutMs }),
  });
  const router = new Router({ domain: config.domain, logger: options.logger, limits: services.limits });
  registerDisco(router, services);
  registerPubsub(router, services);
  registerClaim(router, services);
  registerGroups(router, services, { allowExistingGroups: options.allowExistingGroups ?? false });
  registerSubmit(router, services);
  registerLog(router, services);

  const { muc } = services;
  router.onPresence((p) => muc.handlePresence(p));
  router.onMessage((m) => {
    const from = m.attrs.from ?? "";
    if (m.attrs.type === "error" && from !== "") muc.handleRoomError(from.split("/")[0] ?? from);
    else muc.handleMessage(m);
  });
  const hook = options.hooks?.affiliationRevoked;
  muc.onAffiliationRevoked(async (ev) => {
    const group = services.store.findGroupByRoom(ev.room);
    if (group === undefined) return;
    if (hook === undefined) {
      await services.affiliationSync.revoke(group, ev.jid);
      return;
    }
    await hook({ ...ev, group }, services);
  });
  return { services, router };
}

/** A running gateway. */
export interface Gateway extends GatewayHandle {
  readonly services: DsServices;
  readonly router: Router;
  readonly done: Promise<void>;
}

/** The `@xmpp/component` entity as the gateway drives it. */
interface ComponentEntity extends GatewayEntity {
  start(): Promise<unknown>;
  stop(): Promise<unknown>;
  readonly reconnect: { stop(): void };
  /** The TCP socket of the current connection (xmpp.js sets it on connect). */
  readonly socket?: { setNoDelay?(noDelay: boolean): unknown } | null;
}

/** Stream errors after which reconnecting is pointless (wrong secret, unknown domain, ...). */
const FATAL_CONDITIONS = new Set(["not-authorized", "host-unknown", "host-gone", "invalid-namespace", "improper-addressing"]);

function createComponent(config: GatewayConfig): ComponentEntity {
  // @xmpp/component 0.13 is CommonJS without types: load it through require and type what we use.
  const require = createRequire(import.meta.url);
  const mod = require("@xmpp/component") as { component(o: { service: string; domain: string; password: string }): unknown };
  return mod.component({ service: config.service, domain: config.domain, password: config.secret.reveal() }) as ComponentEntity;
}

/** Rooms of all bound groups, when the store can list them. */
function boundRooms(store: DsStore): string[] {
  const list = (store as { listGroups?: () => readonly GroupRecord[] }).listGroups;
  return typeof list === "function" ? list.call(store).map((g) => g.roomJid) : [];
}

/**
 * Connect the DS and serve until `stop()`. Resolves once the component is online.
 * `deps.entity` replaces the `@xmpp/component` entity (tests).
 */
export async function startGateway(config: GatewayConfig, deps: GatewayOptions & { readonly entity?: ComponentEntity }): Promise<Gateway> {
  const log = deps.logger.child({ module: "gateway" });
  const ownsStore = deps.store === undefined;
  const store = deps.store ?? (config.database === ":memory:" ? new MemoryStore() : openSqliteStore(config.database));
  const provider = deps.provider ?? nativeProvider;
  try {
    const identity =
      deps.identity ??
      createDsIdentity({ jid: config.domain, provider, ...(config.database !== ":memory:" && { keyFile: `${config.database}.ds-keys.json` }) });
    const entity = deps.entity ?? createComponent(config);
    const { services, router } = buildGateway(config, portOf(entity), { ...deps, store, provider, identity });
    router.attach(entity);

    let settle!: { resolve(): void; reject(e: unknown): void };
    const done = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    done.catch(() => {}); // observed by the caller through `done`; never an unhandled rejection
    let stopped = false;
    entity.on("error", (e: unknown) => {
      const condition = (e as { condition?: unknown }).condition;
      if (typeof condition === "string" && FATAL_CONDITIONS.has(condition)) {
        log.error("fatal stream error", { condition });
        entity.reconnect.stop();
        settle.reject(e);
      } else {
        log.warn("connection error", { error: e });
      }
    });
    // The component often writes two stanzas back to back to the server (a verdict and the
    // reflected handshake): without TCP_NODELAY, Nagle's algorithm holds the second one until the
    // server's delayed ACK (~40 ms on Linux).
    entity.on("connect", () => entity.socket?.setNoDelay?.(true));
    entity.on("offline", () => services.muc.markDisconnected());
    entity.on("disconnect", () => services.muc.markDisconnected());
    entity.on("online", () => {
      log.info("online", { domain: config.domain });
      void services.muc.rejoinAll(boundRooms(store));
    });

    await entity.start();
    log.info("serving", { routes: router.routes().length });

    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      entity.reconnect.stop();
      await Promise.allSettled(services.muc.joinedRooms().map((r) => services.muc.leave(r)));
      try {
        await entity.stop();
      } catch (e) {
        log.warn("closing the stream failed", { error: e });
      }
      if (ownsStore) store.close();
      settle.resolve();
    };
    return { services, router, done, stop };
  } catch (e) {
    if (ownsStore) store.close();
    throw e;
  }
}

/**
 * This device's KeyPackages (XEP "KeyPackage Directory"): N ordinary ones and one last-resort one
 * published on the DS, their private keys in the store until a Welcome uses them.
 *
 *   ensure()      on (re)connect: list our node, retract items we hold no keys for, publish up to
 *                 the pool size, make sure a last-resort KeyPackage is there
 *   replenish(n)  on a low-water notice: publish up to the pool size
 *   find(refs)    a Welcome arrived: which of its KeyPackageRefs is ours
 *   consumed(ref) joined: delete an ordinary KeyPackage's keys; rotate the last-resort one
 *
 * Private keys are written to the store (in the group layer's PersistedKeyPackage format,
 * src/mls/group/persistence.ts) before the KeyPackage is published, so a Welcome that arrives
 * right after a claim always finds them.
 * @module
 */
import type { CipherSuite, CryptoProvider } from "../crypto/cipher-suite.js";
import { buildCapabilities, withExtensionTypes } from "../mls/core/capabilities-ops.js";
import { protocolVersions, wireFormats } from "../mls/core/protocol.js";
import { encodeMlsMessage } from "../mls/framing/mls-message.js";
import { loadPendingKeyPackage, savePendingKeyPackage } from "../mls/group/persistence.js";
import { createKeyPackage, lastResortExtension, type KeyPackagePrivateKeys } from "../mls/messages/key-package-ops.js";
import type { KeyPackage } from "../mls/messages/key-package.js";
import { bytesEqual, fromHex, fromUtf8, toHex, utf8, wipe } from "../util/bytes.js";
import { XMPP_BINDING_EXTENSION_TYPE } from "../xmpp/ns.js";
import type { Device } from "./device.js";
import type { DsClient } from "./ds-client.js";
import { Mutex } from "./mutex.js";
import type { Logger } from "./options.js";
import type { ClientStore } from "./store/client-store.js";

const INDEX = "key-packages";
const blobName = (ref: string): string => `kp/${ref}`;
/** Keys of claimed-but-unused KeyPackages are dropped after the KeyPackage lifetime (90 days). */
const MAX_AGE_MS = 90 * 24 * 3600 * 1000;
/** Retired last-resort KeyPackages whose keys are still kept for in-flight Welcomes. */
const KEEP_RETIRED = 2;

interface IndexEntry {
  readonly ref: string;
  readonly lastResort: boolean;
  readonly createdAt: number;
  /** Set when a newer last-resort KeyPackage replaced this one. */
  readonly retiredAt?: number;
}

export interface OwnKeyPackage {
  readonly ref: Uint8Array;
  readonly keyPackage: KeyPackage;
  readonly privateKeys: KeyPackagePrivateKeys;
  readonly lastResort: boolean;
}

export interface PoolOptions {
  readonly poolSize: number;
  readonly lowWater: number;
  readonly logger: Logger;
  /** Loads stored KeyPackages (their suite). */
  readonly provider: CryptoProvider;
}

export class KeyPackagePool {
  readonly #store: ClientStore;
  readonly #cs: CipherSuite;
  readonly #device: Device;
  readonly #opts: PoolOptions;
  readonly #mutex = new Mutex();
  #index: IndexEntry[] | null = null;

  constructor(store: ClientStore, cs: CipherSuite, device: Device, opts: PoolOptions) {
    this.#store = store;
    this.#cs = cs;
    this.#device = device;
    this.#opts = opts;
  }

  async #load(): Promise<IndexEntry[]> {
    if (this.#index === null) {
      const raw = await this.#store.get(INDEX);
      this.#index = raw === null ? [] : (JSON.parse(fromUtf8(raw)) as { entries: IndexEntry[] }).entries;
    }
    return this.#index;
  }

  async #save(entries: IndexEntry[]): Promise<void> {
    this.#index = entries;
    await this.#store.put(INDEX, utf8(JSON.stringify({ v: 1, entries })));
  }

  /** The refs this device holds keys for (tests, diagnostics). */
  async refs(): Promise<{ ref: string; lastResort: boolean; retired: boolean }[]> {
    return (await this.#load()).map((e) => ({ ref: e.ref, lastResort: e.lastResort, retired: e.retiredAt !== undefined }));
  }

  /** Create one KeyPackage, store its keys, publish it. */
  async #publishOne(ds: DsClient, lastResort: boolean): Promise<string> {
    const cs = this.#cs;
    const created = await createKeyPackage({
      cs,
      credential: this.#device.credential,
      signaturePrivateKey: this.#device.signaturePrivateKey,
      // XEP "Publishing KeyPackages" check 5: the capabilities list xmpp_binding.
      capabilities: withExtensionTypes(buildCapabilities({ grease: (n) => cs.randomBytes(n) }), [XMPP_BINDING_EXTENSION_TYPE]),
      extensions: lastResort ? [lastResortExtension()] : [],
    });
    const ref = toHex(created.ref);
    const bytes = encodeMlsMessage({ version: protocolVersions.mls10, wireFormat: wireFormats.mls_key_package, keyPackage: created.keyPackage });
    await this.#store.put(blobName(ref), savePendingKeyPackage({ keyPackage: created.keyPackage, privateKeys: created.privateKeys, lastResort }));
    const entries = await this.#load();
    await this.#save([...entries, { ref, lastResort, createdAt: Date.now() }]);
    try {
      await ds.publish(this.#device.bareJid, created.ref, { device: this.#device.deviceId, cipherSuite: cs.params.id, lastResort, keyPackage: bytes });
    } catch (e) {
      await this.#forget(ref);
      throw e;
    } finally {
      wipe(created.privateKeys.initPrivateKey, created.privateKeys.encryptionPrivateKey);
    }
    return ref;
  }

  async #forget(ref: string): Promise<void> {
    await this.#store.delete(blobName(ref));
    await this.#save((await this.#load()).filter((e) => e.ref !== ref));
  }

  /** A new last-resort KeyPackage; the previous ones are kept (retired) for Welcomes in flight. */
  async #rotateLastResort(ds: DsClient): Promise<void> {
    const before = (await this.#load()).filter((e) => e.lastResort && e.retiredAt === undefined).map((e) => e.ref);
    const fresh = await this.#publishOne(ds, true);
    const now = Date.now();
    let entries = (await this.#load()).map((e) => (before.includes(e.ref) ? { ...e, retiredAt: now } : e));
    const retired = entries.filter((e) => e.retiredAt !== undefined).sort((a, b) => (b.retiredAt ?? 0) - (a.retiredAt ?? 0));
    for (const old of retired.slice(KEEP_RETIRED)) {
      await this.#store.delete(blobName(old.ref));
      entries = entries.filter((e) => e.ref !== old.ref);
    }
    await this.#save(entries);
    this.#opts.logger.debug("rotated the last-resort KeyPackage", { ref: fresh.slice(0, 16) });
  }

  /**
   * Reconcile with the directory and top up (on every connect). Returns how many KeyPackages
   * were published.
   */
  ensure(ds: DsClient): Promise<number> {
    return this.#mutex.run(async () => {
      const log = this.#opts.logger;
      let entries = await this.#load();
      // Claimed KeyPackages whose Welcome never came: drop their keys after the lifetime.
      const cutoff = Date.now() - MAX_AGE_MS;
      for (const e of entries.filter((x) => x.createdAt < cutoff)) await this.#store.delete(blobName(e.ref));
      entries = entries.filter((x) => x.createdAt >= cutoff);
      await this.#save(entries);

      const local = new Set(entries.map((e) => e.ref));
      let ordinary: number;
      let haveLastResort: boolean;
      try {
        const listed = (await ds.listOwn(this.#device.bareJid)).filter((i) => i.kp.device === this.#device.deviceId && i.kp.cipherSuite === this.#cs.params.id);
        for (const i of listed) {
          if (local.has(i.ref)) continue;
          // A KeyPackage of ours we hold no keys for (an older install of this device id): useless to joiners.
          log.warn("retracting a published KeyPackage without local keys", { ref: i.ref.slice(0, 16) });
          await ds.retract(this.#device.bareJid, fromHex(i.ref)).catch(() => {});
        }
        const usable = listed.filter((i) => local.has(i.ref));
        ordinary = usable.filter((i) => !i.kp.lastResort).length;
        haveLastResort = usable.some((i) => i.kp.lastResort && entries.some((e) => e.ref === i.ref && e.retiredAt === undefined));
      } catch (e) {
        // Listing is owner-only and optional to support: fall back to what we published ourselves.
        log.warn("could not list our KeyPackages; counting the local ones", { error: e instanceof Error ? e.message : String(e) });
        ordinary = entries.filter((x) => !x.lastResort).length;
        haveLastResort = entries.some((x) => x.lastResort && x.retiredAt === undefined);
      }
      let published = 0;
      if (!haveLastResort) {
        await this.#rotateLastResort(ds);
        published++;
      }
      for (let i = ordinary; i < this.#opts.poolSize; i++) {
        await this.#publishOne(ds, false);
        published++;
      }
      if (published > 0) log.info("published KeyPackages", { count: published, ordinaryBefore: ordinary });
      return published;
    });
  }

  /** The DS says `remaining` ordinary KeyPackages are left: publish up to the pool size. */
  replenish(ds: DsClient, remaining: number): Promise<number> {
    return this.#mutex.run(async () => {
      let n = 0;
      for (let i = remaining; i < this.#opts.poolSize; i++) {
        await this.#publishOne(ds, false);
        n++;
      }
      if (n > 0) this.#opts.logger.info("replenished KeyPackages after a low-water notice", { remaining, published: n });
      return n;
    });
  }

  /** The first of `refs` this device holds keys for. */
  async find(refs: readonly Uint8Array[]): Promise<OwnKeyPackage | null> {
    const entries = await this.#load();
    for (const r of refs) {
      const ref = toHex(r);
      const e = entries.find((x) => x.ref === ref);
      if (e === undefined) continue;
      const raw = await this.#store.get(blobName(ref));
      if (raw === null) continue;
      const p = loadPendingKeyPackage(raw, { provider: this.#opts.provider });
      if (!bytesEqual(p.ref, r)) continue;
      return { ref: r, keyPackage: p.keyPackage, privateKeys: p.privateKeys, lastResort: p.lastResort };
    }
    return null;
  }

  /**
   * A Welcome used this KeyPackage. XEP: "devices MUST delete the private keys of consumed
   * KeyPackages after joining and rotate last-resort KeyPackages".
   */
  consumed(ds: DsClient | null, kp: OwnKeyPackage): Promise<void> {
    return this.#mutex.run(async () => {
      const ref = toHex(kp.ref);
      if (!kp.lastResort) {
        await this.#forget(ref);
        return;
      }
      if (ds !== null) await this.#rotateLastResort(ds);
    });
  }
}

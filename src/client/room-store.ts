/**
 * Persistence of the rooms this device is in: the index, each room's record (seq, archive
 * position, cadence counters) and the MLS group state, encoded with the group layer's versioned
 * format (src/mls/group/persistence.ts) unless another {@link GroupStateCodec} is given. With
 * the codec set to null the group state lives in memory only and rooms survive reconnects but
 * not a restart of the process.
 * @module
 */
import type { CryptoProvider } from "../crypto/cipher-suite.js";
import type { GroupConfig } from "../mls/group/group-config.js";
import type { GroupState } from "../mls/group/group-state.js";
import { loadGroupState, saveGroupState } from "../mls/group/persistence.js";
import { fromUtf8, utf8 } from "../util/bytes.js";
import type { RoomRecord } from "./room-common.js";
import type { ClientStore } from "./store/client-store.js";

/** Turns a GroupState into bytes and back. */
export interface GroupStateCodec {
  encode(state: GroupState): Uint8Array;
  decode(bytes: Uint8Array, ctx: { readonly provider: CryptoProvider; readonly config: GroupConfig }): GroupState;
}

/** The group layer's format ("XMLS", versioned, checked on load). */
export const defaultGroupStateCodec: GroupStateCodec = Object.freeze({
  encode: (state: GroupState) => saveGroupState(state),
  decode: (bytes: Uint8Array, ctx: { readonly provider: CryptoProvider; readonly config: GroupConfig }) => loadGroupState(bytes, ctx),
});

const INDEX = "rooms";
const recordName = (group: string): string => `room/${group}`;
const stateName = (group: string): string => `group/${group}`;

export class RoomStore {
  readonly #store: ClientStore;
  readonly #codec: GroupStateCodec | null;

  constructor(store: ClientStore, codec: GroupStateCodec | null) {
    this.#store = store;
    this.#codec = codec;
  }

  get persistsGroupState(): boolean {
    return this.#codec !== null;
  }

  async groups(): Promise<string[]> {
    const raw = await this.#store.get(INDEX);
    return raw === null ? [] : (JSON.parse(fromUtf8(raw)) as { groups: string[] }).groups;
  }

  async #setGroups(groups: string[]): Promise<void> {
    await this.#store.put(INDEX, utf8(JSON.stringify({ v: 1, groups })));
  }

  async save(record: RoomRecord, state: GroupState): Promise<void> {
    if (this.#codec !== null) await this.#store.put(stateName(record.group), this.#codec.encode(state));
    await this.#store.put(recordName(record.group), utf8(JSON.stringify(record)));
    const groups = await this.groups();
    if (!groups.includes(record.group)) await this.#setGroups([...groups, record.group]);
  }

  /** The stored room, or null when it (or its group state) is not there. */
  async load(group: string, ctx: { readonly provider: CryptoProvider; readonly config: GroupConfig }): Promise<{ record: RoomRecord; state: GroupState } | null> {
    if (this.#codec === null) return null;
    const [rec, st] = await Promise.all([this.#store.get(recordName(group)), this.#store.get(stateName(group))]);
    if (rec === null || st === null) return null;
    return { record: JSON.parse(fromUtf8(rec)) as RoomRecord, state: this.#codec.decode(st, ctx) };
  }

  async drop(group: string): Promise<void> {
    await this.#store.delete(stateName(group));
    await this.#store.delete(recordName(group));
    await this.#setGroups((await this.groups()).filter((g) => g !== group));
  }
}

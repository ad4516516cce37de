/**
 * The HPKE private keys a member holds for nodes of the ratchet tree (RFC 9420 §4.2: its own leaf
 * and some nodes of its direct path), by node index. Immutable like {@link TreeState}: every
 * change returns a new value sharing the key buffers.
 *
 * Because old values may still be in use (a pending commit, the previous epoch), replaced keys are
 * not wiped here; whoever drops the last reference to an epoch's state wipes what it no longer
 * needs (RFC 9420 §9.2).
 * @module
 */
import type { NodeIndex } from "./tree-math.js";
import type { TreeState } from "./tree-state.js";

export class TreePrivateKeys {
  readonly #keys: ReadonlyMap<number, Uint8Array>;

  private constructor(keys: ReadonlyMap<number, Uint8Array>) {
    this.#keys = keys;
  }

  static readonly empty: TreePrivateKeys = new TreePrivateKeys(new Map());

  static from(entries: Iterable<readonly [number, Uint8Array]>): TreePrivateKeys {
    return new TreePrivateKeys(new Map(entries));
  }

  get size(): number {
    return this.#keys.size;
  }

  get(node: number): Uint8Array | undefined {
    return this.#keys.get(node);
  }

  has(node: number): boolean {
    return this.#keys.has(node);
  }

  /** The node indices with a key, in increasing order. */
  nodes(): NodeIndex[] {
    return [...this.#keys.keys()].sort((a, b) => a - b) as NodeIndex[];
  }

  entries(): [NodeIndex, Uint8Array][] {
    return this.nodes().map((n) => [n, this.#keys.get(n)!]);
  }

  /** A copy with `entries` added or replaced. */
  with(entries: Iterable<readonly [number, Uint8Array]>): TreePrivateKeys {
    const m = new Map(this.#keys);
    for (const [n, k] of entries) m.set(n, k);
    return new TreePrivateKeys(m);
  }

  /** A copy without the keys of `nodes`. */
  without(nodes: Iterable<number>): TreePrivateKeys {
    const m = new Map(this.#keys);
    let changed = false;
    for (const n of nodes) changed = m.delete(n) || changed;
    return changed ? new TreePrivateKeys(m) : this;
  }

  /** A copy without the keys of nodes that are blank (or gone) in `tree`. */
  retainNonBlank(tree: TreeState): TreePrivateKeys {
    const drop: number[] = [];
    for (const n of this.#keys.keys()) if (n >= tree.nodeCount || tree.nodes[n] === null) drop.push(n);
    return this.without(drop);
  }
}

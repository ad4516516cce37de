/**
 * The memo of per-node tree hashes (RFC 9420 §7.8) behind a {@link TreeState}, internal to the
 * tree modules: tree-hash.ts fills it lazily; a TreeState derived by an operation clones it and
 * drops the entries of the changed nodes and their ancestors.
 *
 * Flat storage: one `width × Nh` byte buffer plus one presence byte per node, instead of one
 * Uint8Array per node. At 10,000 members (32,767 nodes) that is 1 MiB in two allocations, where
 * an array of per-node hashes costs ~9 MiB in 65,000 heap and backing-store objects, and a clone
 * is two memcpys.
 *
 * Invariant (kept by the callers): a node without a hash has no ancestor with a hash. Entries of a
 * memo owned by a frozen TreeState are only ever added, never overwritten or dropped, so views
 * returned by {@link TreeHashMemo.get} stay valid for as long as that memo is alive.
 * @internal
 * @module
 */

export class TreeHashMemo {
  /** Hash function the entries were computed with. */
  readonly alg: string;
  #width: number;
  /** Hash length; 0 until the first entry is set. */
  #nh = 0;
  #buf: Uint8Array = new Uint8Array(0);
  /** 1 where the node's hash is present. */
  #have: Uint8Array;

  constructor(alg: string, width: number) {
    this.alg = alg;
    this.#width = width;
    this.#have = new Uint8Array(width);
  }

  get width(): number {
    return this.#width;
  }

  /** An independent copy (copy-on-write for a derived tree). */
  clone(): TreeHashMemo {
    const m = new TreeHashMemo(this.alg, 0);
    m.#width = this.#width;
    m.#nh = this.#nh;
    m.#buf = this.#buf.slice();
    m.#have = this.#have.slice();
    return m;
  }

  has(x: number): boolean {
    return this.#have[x] === 1;
  }

  /** The hash of node `x` as a view into the memo (do not modify), or undefined if not computed. */
  get(x: number): Uint8Array | undefined {
    if (this.#have[x] !== 1) return undefined;
    const nh = this.#nh;
    return this.#buf.subarray(x * nh, x * nh + nh);
  }

  set(x: number, h: Uint8Array): void {
    if (x < 0 || x >= this.#width) throw new RangeError(`node ${x} is outside a memo of ${this.#width} nodes`);
    if (this.#nh === 0) {
      if (h.length === 0) throw new RangeError("a tree hash cannot be empty");
      this.#nh = h.length;
      this.#buf = new Uint8Array(this.#width * h.length);
    } else if (h.length !== this.#nh) {
      throw new RangeError(`tree hash of ${h.length} bytes in a memo of ${this.#nh}-byte hashes`);
    }
    this.#buf.set(h, x * this.#nh);
    this.#have[x] = 1;
  }

  /** Forget node `x`'s hash; returns whether it was present. */
  drop(x: number): boolean {
    const had = this.#have[x] === 1;
    this.#have[x] = 0;
    return had;
  }

  /** Grow (new nodes have no hash) or shrink to `width` nodes. */
  resize(width: number): void {
    if (width === this.#width) return;
    const have = new Uint8Array(width);
    have.set(this.#have.subarray(0, Math.min(width, this.#width)));
    if (this.#nh !== 0) {
      const buf = new Uint8Array(width * this.#nh);
      buf.set(this.#buf.subarray(0, Math.min(width, this.#width) * this.#nh));
      this.#buf = buf;
    }
    this.#have = have;
    this.#width = width;
  }
}

/**
 * The secret tree of one epoch (RFC 9420 §9) and the sender-data key (§6.3.2).
 *
 * ```
 *            encryption_secret = tree_node_[root]_secret
 *                    |  ExpandWithLabel(., "tree", "left" | "right", Nh)
 *                    v
 *            tree_node_[leaf]_secret
 *              |                      \
 *      "handshake" (Nh)             "application" (Nh)
 *              v                        v
 *     ratchet_secret_[0] --"secret"--> ratchet_secret_[1] --> ...
 *        |-- "key"   (Nk) = key   of generation 0
 *        '-- "nonce" (Nn) = nonce of generation 0
 * ```
 *
 * **Mutable by design.** Group state is otherwise an immutable value, but the secret tree is the
 * one mutable, owned piece of epoch state: RFC 9420 §9.2 requires consumed secrets to be deleted
 * from *all* representations, which a copy-on-write value (old snapshots still holding the keys)
 * would defeat. Every call that hands out a key changes the tree in place, and there is no clone.
 * (OpenMLS makes the same choice.)
 *
 * **Lazy.** Only the root secret exists at first. Reaching a leaf derives the secrets on its
 * direct path, keeps the off-path children (the frontier) and wipes each parent as soon as both
 * children exist; a leaf secret is wiped once its two ratchets are initialised (§9.2).
 *
 * **Out of order.** A receiver may skip at most `maxForwardDistance` generations ahead and keeps
 * at most `maxPastKeys` unused skipped keys per ratchet. Keys are deleted once used, so asking
 * for a used generation fails with `valid.key_reused`, and one that was dropped with
 * `valid.generation_too_old`.
 * @module
 */
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { expandWithLabel } from "../../crypto/labeled.js";
import { InternalError, UsageError, ValidationError } from "../../errors.js";
import { EMPTY, utf8, wipe } from "../../util/bytes.js";
import { MAX_LEAVES, left, leafToNode, log2, parent as parentOf, right, root, type LeafIndex, type NodeIndex } from "../tree/tree-math.js";
import { SenderRatchet, type RatchetKey, type RatchetLimits, type RatchetType, type SenderRatchetSnapshot } from "./sender-ratchet.js";

export type { RatchetKey, RatchetLimits, RatchetType, SenderRatchetSnapshot } from "./sender-ratchet.js";

/**
 * The whole state of a {@link SecretTree}, for persistence: the frontier of node secrets not yet
 * consumed, and both ratchets of every leaf reached so far. Holds secrets.
 */
export interface SecretTreeSnapshot {
  readonly nLeaves: number;
  /** Node secrets by node index, ascending. */
  readonly nodes: readonly { readonly node: number; readonly secret: Uint8Array }[];
  readonly ratchets: readonly { readonly leaf: number; readonly handshake: SenderRatchetSnapshot; readonly application: SenderRatchetSnapshot }[];
}

/** Defaults as in OpenMLS: 1000 generations ahead, 5 past keys per ratchet. */
export const DEFAULT_RATCHET_LIMITS: RatchetLimits = Object.freeze({ maxForwardDistance: 1000, maxPastKeys: 5 });

const LEFT = utf8("left");
const RIGHT = utf8("right");

interface LeafRatchets {
  readonly handshake: SenderRatchet;
  readonly application: SenderRatchet;
}

export class SecretTree {
  /** Node secrets not yet consumed: the frontier below which nothing has been derived. */
  private readonly nodes = new Map<number, Uint8Array>();
  private readonly ratchets = new Map<number, LeafRatchets>();
  private readonly limits: RatchetLimits;
  private destroyed = false;

  /**
   * @param encryptionSecret the epoch's encryption_secret; copied, so the caller should wipe its
   *   own copy once done with it (RFC 9420 §9.2).
   * @param nLeaves leaf count of the epoch's ratchet tree (a power of two, RFC 9420 §7.7).
   */
  constructor(
    private readonly cs: CipherSuite,
    encryptionSecret: Uint8Array,
    readonly nLeaves: number,
    limits: Partial<RatchetLimits> = {},
  ) {
    if (!Number.isInteger(nLeaves) || nLeaves < 1 || nLeaves > MAX_LEAVES || 2 ** log2(nLeaves) !== nLeaves) {
      throw new RangeError(`"nLeaves" expected a power of two (RFC 9420 §7.7), got ${nLeaves}`);
    }
    if (encryptionSecret.length !== cs.params.Nh) throw new RangeError(`"encryptionSecret" expected ${cs.params.Nh} bytes, got length=${encryptionSecret.length}`);
    const l = { ...DEFAULT_RATCHET_LIMITS, ...limits };
    for (const [name, v] of Object.entries(l)) {
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`"${name}" expected a non-negative integer, got ${v}`);
    }
    this.limits = Object.freeze(l);
    // RFC 9420 §9: the root of the secret tree is the encryption_secret.
    this.nodes.set(root(nLeaves), encryptionSecret.slice());
  }

  /**
   * Encrypt with the next key of `leaf`'s ratchet (normally our own leaf). The key is consumed
   * whatever `use` does, and wiped when it returns (RFC 9420 §9.1: never used twice).
   */
  withEncryptionKey<T>(leaf: LeafIndex, type: RatchetType, use: (k: RatchetKey) => T): T {
    const k = this.ratchet(leaf, type).takeNext();
    try {
      return use(k);
    } finally {
      wipe(k.key, k.nonce);
    }
  }

  /**
   * Decrypt with the key of `generation` of `leaf`'s ratchet. If `use` returns, the key is
   * consumed: deleted and wiped (RFC 9420 §9.2). If it throws (say the AEAD tag did not verify),
   * the key stays available as an unused past key, so a forged message cannot burn it.
   */
  withDecryptionKey<T>(leaf: LeafIndex, type: RatchetType, generation: number, use: (k: RatchetKey) => T): T {
    const r = this.ratchet(leaf, type);
    try {
      const k = r.peek(generation);
      const out = use(k);
      r.consume(generation);
      return out;
    } finally {
      r.evict();
    }
  }

  /** The next generation `leaf`'s ratchet will produce, deriving the ratchet if needed. */
  nextGeneration(leaf: LeafIndex, type: RatchetType): number {
    return this.ratchet(leaf, type).nextGeneration;
  }

  /** Wipe every secret; the tree is unusable afterwards (end of epoch). */
  destroy(): void {
    for (const s of this.nodes.values()) wipe(s);
    this.nodes.clear();
    for (const r of this.ratchets.values()) {
      r.handshake.destroy();
      r.application.destroy();
    }
    this.ratchets.clear();
    this.destroyed = true;
  }

  /** A copy of the whole state (RFC 9420 §9.2 secrets included: store it as securely as the tree). */
  snapshot(): SecretTreeSnapshot {
    if (this.destroyed) throw new UsageError("secret_tree_destroyed", "the secret tree of this epoch has been destroyed");
    return {
      nLeaves: this.nLeaves,
      nodes: [...this.nodes].sort((a, b) => a[0] - b[0]).map(([node, secret]) => ({ node, secret: secret.slice() })),
      ratchets: [...this.ratchets]
        .sort((a, b) => a[0] - b[0])
        .map(([leaf, r]) => ({ leaf, handshake: r.handshake.snapshot(), application: r.application.snapshot() })),
    };
  }

  /**
   * A tree from {@link snapshot} (secrets copied). RangeError when the snapshot is inconsistent:
   * node or leaf indices outside the tree or repeated, secrets of the wrong length, a leaf with
   * both its node secret and ratchets, or a leaf with neither ratchets nor a secret above it.
   */
  static fromSnapshot(cs: CipherSuite, s: SecretTreeSnapshot, limits: Partial<RatchetLimits> = {}): SecretTree {
    const { Nh } = cs.params;
    const t = new SecretTree(cs, new Uint8Array(Nh), s.nLeaves, limits);
    t.nodes.clear();
    const width = 2 * s.nLeaves - 1;
    for (const { node, secret } of s.nodes) {
      if (!Number.isInteger(node) || node < 0 || node >= width || t.nodes.has(node)) throw new RangeError(`secret tree node ${node} is outside the tree or repeated`);
      if (secret.length !== Nh) throw new RangeError(`secret tree node ${node} expected ${Nh} bytes, got length=${secret.length}`);
      t.nodes.set(node, secret.slice());
    }
    for (const r of s.ratchets) {
      if (!Number.isInteger(r.leaf) || r.leaf < 0 || r.leaf >= s.nLeaves || t.ratchets.has(r.leaf)) throw new RangeError(`secret tree leaf ${r.leaf} is outside the tree or repeated`);
      if (t.nodes.has(leafToNode(r.leaf as LeafIndex))) throw new RangeError(`leaf ${r.leaf} has both a node secret and ratchets`);
      t.ratchets.set(r.leaf, {
        handshake: SenderRatchet.fromSnapshot(cs, "handshake", r.handshake, t.limits),
        application: SenderRatchet.fromSnapshot(cs, "application", r.application, t.limits),
      });
    }
    // Every leaf must stay reachable: its ratchets, or a held secret on its path (O(n log n)).
    const top = root(s.nLeaves);
    for (let leaf = 0; leaf < s.nLeaves; leaf++) {
      if (t.ratchets.has(leaf)) continue;
      let n = leafToNode(leaf as LeafIndex);
      while (!t.nodes.has(n) && n !== top) n = parentOf(n, s.nLeaves);
      if (!t.nodes.has(n)) throw new RangeError(`leaf ${leaf} has neither ratchets nor a secret on its path`);
    }
    return t;
  }

  /** How many node secrets are held (for tests of the deletion schedule). */
  get storedNodeCount(): number {
    return this.nodes.size;
  }

  /** @internal for tests: the past keys held by one ratchet. */
  _pastKeyCount(leaf: LeafIndex, type: RatchetType): number {
    return this.ratchet(leaf, type).pastKeyCount;
  }

  private ratchet(leaf: LeafIndex, type: RatchetType): SenderRatchet {
    if (this.destroyed) throw new UsageError("secret_tree_destroyed", "the secret tree of this epoch has been destroyed");
    if (!Number.isInteger(leaf) || leaf < 0 || leaf >= this.nLeaves) {
      throw new ValidationError("leaf_index_out_of_range", `leaf ${leaf} is outside a tree of ${this.nLeaves} leaves`, "RFC 9420 §6.3.2");
    }
    let r = this.ratchets.get(leaf);
    if (r === undefined) {
      const leafSecret = this.leafSecret(leafToNode(leaf));
      const { Nh } = this.cs.params;
      // RFC 9420 §9: the roots of the two hash ratchets.
      r = {
        handshake: new SenderRatchet(this.cs, "handshake", expandWithLabel(this.cs, leafSecret, "handshake", EMPTY, Nh), this.limits),
        application: new SenderRatchet(this.cs, "application", expandWithLabel(this.cs, leafSecret, "application", EMPTY, Nh), this.limits),
      };
      wipe(leafSecret);
      this.ratchets.set(leaf, r);
    }
    return r[type];
  }

  /** Derive tree_node_[leaf]_secret, removing it from the tree (the caller consumes it). */
  private leafSecret(leaf: NodeIndex): Uint8Array {
    // Walk up to the lowest ancestor whose secret is still held: O(log n).
    const path: NodeIndex[] = [];
    const top = root(this.nLeaves);
    let n = leaf;
    let secret = this.nodes.get(n);
    while (secret === undefined) {
      if (n === top) throw new InternalError(`secret tree lost the path to node ${leaf}`);
      path.push(n);
      n = parentOf(n, this.nLeaves);
      secret = this.nodes.get(n);
    }
    this.nodes.delete(n);
    // Walk down, deriving both children and wiping the parent (RFC 9420 §9, §9.2).
    for (let i = path.length - 1; i >= 0; i--) {
      const next = path[i]!;
      const l = left(n);
      const r = right(n);
      const { Nh } = this.cs.params;
      const ls = expandWithLabel(this.cs, secret, "tree", LEFT, Nh);
      const rs = expandWithLabel(this.cs, secret, "tree", RIGHT, Nh);
      wipe(secret);
      if (next === l) {
        this.nodes.set(r, rs);
        secret = ls;
      } else {
        this.nodes.set(l, ls);
        secret = rs;
      }
      n = next;
    }
    return secret;
  }
}

/** The AEAD key and nonce protecting a PrivateMessage's SenderData. */
export interface SenderDataKey {
  readonly key: Uint8Array;
  readonly nonce: Uint8Array;
}

/**
 * RFC 9420 §6.3.2:
 *   ciphertext_sample = ciphertext[0..KDF.Nh-1]
 *   sender_data_key = ExpandWithLabel(sender_data_secret, "key", ciphertext_sample, AEAD.Nk)
 *   sender_data_nonce = ExpandWithLabel(sender_data_secret, "nonce", ciphertext_sample, AEAD.Nn)
 * A ciphertext shorter than KDF.Nh is used whole.
 */
export function deriveSenderDataKey(cs: CipherSuite, senderDataSecret: Uint8Array, ciphertext: Uint8Array): SenderDataKey {
  const { Nh, Nk, Nn } = cs.params;
  const sample = ciphertext.subarray(0, Math.min(Nh, ciphertext.length));
  return {
    key: expandWithLabel(cs, senderDataSecret, "key", sample, Nk),
    nonce: expandWithLabel(cs, senderDataSecret, "nonce", sample, Nn),
  };
}

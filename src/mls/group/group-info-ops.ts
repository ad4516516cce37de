/**
 * Building, signing and checking GroupInfo (RFC 9420 §12.4.3): the signed description of the
 * group at an epoch that goes, encrypted, into a Welcome, and is published for external joins.
 *
 * GroupInfo.extensions may carry the ratchet tree (§12.4.3.3), the external public key
 * (§12.4.3.2) and, as §13.5 suggests, a random GREASE extension. Unknown GroupInfo extensions are
 * ignored on receipt (§12.4.3 "unknown extensions in GroupInfo.extensions MUST be ignored").
 * @module
 */
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { signWithLabel, verifyWithLabel } from "../../crypto/labeled.js";
import { CryptoError, ValidationError } from "../../errors.js";
import { extensionTypes, findExtension, type Extension } from "../core/extension.js";
import { encodeExternalPub } from "../core/external-pub.js";
import { greaseExtension } from "../core/grease.js";
import { protocolVersions, wireFormats } from "../core/protocol.js";
import type { MlsMessage } from "../framing/mls-message.js";
import { encodeGroupInfoTbs, type GroupInfo, type GroupInfoTbs } from "../messages/group-info.js";
import { deriveExternalPub } from "../schedule/key-schedule.js";
import { decodeRatchetTree, encodeRatchetTree } from "../tree/ratchet-tree.js";
import { TreeState } from "../tree/tree-state.js";
import type { GroupState } from "./group-state.js";

const LABEL = "GroupInfoTBS";

/** RFC 9420 §12.4.3: `signature = SignWithLabel(., "GroupInfoTBS", GroupInfoTBS)`. */
export function signGroupInfo(cs: CipherSuite, signaturePrivateKey: Uint8Array, tbs: GroupInfoTbs): GroupInfo {
  return { ...tbs, signature: signWithLabel(cs, signaturePrivateKey, LABEL, encodeGroupInfoTbs(tbs)) };
}

/**
 * RFC 9420 §12.4.3: "New members also MUST verify the signature using the public key taken from
 * the leaf node of the ratchet tree with leaf index signer." Throws `crypto.bad_signature`.
 */
export function verifyGroupInfoSignature(cs: CipherSuite, gi: GroupInfo, signatureKey: Uint8Array): void {
  if (!verifyWithLabel(cs, signatureKey, LABEL, encodeGroupInfoTbs(gi), gi.signature)) {
    throw new CryptoError("bad_signature", "the GroupInfo signature does not verify");
  }
}

/** The signer's leaf of `tree` and the signature check (RFC 9420 §12.4.3.1: blank signer is an error). */
export function verifyGroupInfoWithTree(cs: CipherSuite, gi: GroupInfo, tree: TreeState): void {
  const leaf = gi.signer < tree.nLeaves ? tree.leaf(gi.signer) : null;
  if (leaf === null) throw new ValidationError("group_info_signer_blank", `GroupInfo signer ${gi.signer} is not a member`, "RFC 9420 §12.4.3.1");
  verifyGroupInfoSignature(cs, gi, leaf.signatureKey);
}

export interface GroupInfoOptions {
  /** Include the ratchet_tree extension (RFC 9420 §12.4.3.3). Default: the group's config. */
  readonly ratchetTree?: boolean;
  /** Include external_pub (RFC 9420 §12.4.3.2), enabling external joins. Default true. */
  readonly externalPub?: boolean;
  /** Further application extensions. */
  readonly extensions?: readonly Extension[];
  /** Add a random GREASE extension (RFC 9420 §13.5). Default true. */
  readonly grease?: boolean;
}

/** The ratchet_tree extension of a tree (RFC 9420 §12.4.3.3). */
export function ratchetTreeExtension(tree: TreeState): Extension {
  return { extensionType: extensionTypes.ratchet_tree, extensionData: encodeRatchetTree(tree.toRatchetTree()) };
}

/** RFC 9420 §12.4.3: the GroupInfo of `state`'s epoch, signed by us. */
export async function createGroupInfo(state: GroupState, opts: GroupInfoOptions = {}): Promise<GroupInfo> {
  const { cs } = state;
  const extensions: Extension[] = [];
  if (opts.ratchetTree ?? state.config.useRatchetTreeExtension) extensions.push(ratchetTreeExtension(state.tree));
  if (opts.externalPub ?? true) {
    // RFC 9420 §8: external_pub from external_secret; §12.4.3.2 ExternalPub.
    const externalPub = await deriveExternalPub(cs, state.epochSecrets.externalSecret);
    extensions.push({ extensionType: extensionTypes.external_pub, extensionData: encodeExternalPub({ externalPub }) });
  }
  extensions.push(...(opts.extensions ?? []));
  if (opts.grease ?? true) extensions.push(greaseExtension((n) => cs.randomBytes(n)));
  return signGroupInfo(cs, state.signaturePrivateKey, {
    groupContext: state.groupContext,
    extensions,
    confirmationTag: state.confirmationTag,
    signer: state.ownLeafIndex,
  });
}

/** A GroupInfo as an MLSMessage (RFC 9420 §6). */
export function groupInfoMessage(groupInfo: GroupInfo): MlsMessage {
  return { version: protocolVersions.mls10, wireFormat: wireFormats.mls_group_info, groupInfo };
}

/**
 * The tree carried in a GroupInfo's ratchet_tree extension, or null if it has none.
 * @param options.shareExtensionData the extension's bytes belong to the caller alone and are never
 *   modified (a GroupInfo decoded with views from its own decrypted plaintext): the tree's nodes
 *   are views into them instead of into a copy.
 */
export function ratchetTreeOf(gi: GroupInfo, options: { readonly shareExtensionData?: boolean } = {}): TreeState | null {
  const ext = findExtension(gi.extensions, extensionTypes.ratchet_tree);
  return ext === null ? null : TreeState.fromRatchetTree(decodeRatchetTree(ext.extensionData, { inputIsPrivate: options.shareExtensionData ?? false }));
}

/**
 * The step from one epoch to the next that committers and receivers of a Commit share
 * (RFC 9420 §8, §8.2, §12.4.1, §12.4.2):
 *
 *   provisional GroupContext (epoch + 1, new tree hash, OLD confirmed transcript hash, new extensions)
 *     ─► confirmed_transcript_hash = Hash(interim_[n-1] || ConfirmedTranscriptHashInput)
 *     ─► GroupContext_[n] ─► key schedule (init_secret, commit_secret, psk_secret)
 *     ─► confirmation_tag = MAC(confirmation_key, confirmed_transcript_hash)
 *     ─► interim_transcript_hash_[n]
 *
 * and assembling the next {@link GroupState} from the result.
 * @module
 */
import type { CipherSuite } from "../../crypto/cipher-suite.js";
import { wipe } from "../../util/bytes.js";
import type { Extension } from "../core/extension.js";
import { confirmedTranscriptHashInput, type FramedContent } from "../framing/framed-content.js";
import { encodeGroupContext, type GroupContext } from "../schedule/group-context.js";
import { runKeySchedule, type KeyScheduleOutput } from "../schedule/key-schedule.js";
import { confirmationTag as computeConfirmationTag, confirmedTranscriptHash, interimTranscriptHash } from "../schedule/transcript-hash.js";
import { rootTreeHash } from "../tree/tree-hash.js";
import type { LeafIndex } from "../tree/tree-math.js";
import type { TreePrivateKeys } from "../tree/tree-private-keys.js";
import type { TreeState } from "../tree/tree-state.js";
import { EpochRuntime, GroupState, type GroupStatus, type PastEpoch } from "./group-state.js";

/**
 * RFC 9420 §12.4.1, §12.4.2: the provisional GroupContext: next epoch, the tree hash of the new
 * tree, the old confirmed transcript hash, the new extensions.
 */
export function provisionalGroupContext(cs: CipherSuite, old: GroupContext, tree: TreeState, extensions: readonly Extension[]): GroupContext {
  return { ...old, epoch: old.epoch + 1n, treeHash: rootTreeHash(cs, tree), extensions };
}

/** The signed Commit as it enters the transcript (RFC 9420 §8.2 ConfirmedTranscriptHashInput). */
export interface SignedCommit {
  readonly wireFormat: number;
  readonly content: FramedContent;
  readonly signature: Uint8Array;
}

export interface NextEpochInput {
  readonly cs: CipherSuite;
  /** interim_transcript_hash of the epoch the Commit ends. */
  readonly interimTranscriptHash: Uint8Array;
  readonly provisional: GroupContext;
  readonly commit: SignedCommit;
  /** init_secret of the old epoch, or the external init secret (RFC 9420 §8.3). */
  readonly initSecret: Uint8Array;
  readonly commitSecret: Uint8Array;
  readonly pskSecret: Uint8Array;
}

export interface NextEpoch {
  readonly groupContext: GroupContext;
  readonly groupContextBytes: Uint8Array;
  readonly keySchedule: KeyScheduleOutput;
  readonly confirmationTag: Uint8Array;
  readonly interimTranscriptHash: Uint8Array;
}

/** RFC 9420 §8, §8.2, §6.1: everything the Commit determines about the new epoch. */
export function deriveNextEpoch(p: NextEpochInput): NextEpoch {
  const { cs } = p;
  const input = confirmedTranscriptHashInput({ wireFormat: p.commit.wireFormat, content: p.commit.content, auth: { signature: p.commit.signature, confirmationTag: new Uint8Array(0) } });
  // RFC 9420 §8.2: confirmed_transcript_hash_[epoch] = Hash(interim_transcript_hash_[epoch - 1] || ConfirmedTranscriptHashInput_[epoch])
  const confirmed = confirmedTranscriptHash(cs, p.interimTranscriptHash, input);
  const groupContext: GroupContext = { ...p.provisional, confirmedTranscriptHash: confirmed };
  const groupContextBytes = encodeGroupContext(groupContext);
  const keySchedule = runKeySchedule(cs, { initSecret: p.initSecret, commitSecret: p.commitSecret, pskSecret: p.pskSecret, groupContext: groupContextBytes });
  // RFC 9420 §6.1: confirmation_tag = MAC(confirmation_key, GroupContext.confirmed_transcript_hash)
  const tag = computeConfirmationTag(cs, keySchedule.epochSecrets.confirmationKey, confirmed);
  return { groupContext, groupContextBytes, keySchedule, confirmationTag: tag, interimTranscriptHash: interimTranscriptHash(cs, confirmed, tag) };
}

export interface NextStateInput {
  readonly next: NextEpoch;
  readonly tree: TreeState;
  readonly privateKeys: TreePrivateKeys;
  readonly status?: GroupStatus;
  readonly ownLeafIndex?: LeafIndex;
}

/**
 * The state of the new epoch, derived from `old`: a fresh SecretTree (RFC 9420 §9), the old
 * epoch kept for late messages (bounded by `maxPastEpochs`), the new resumption PSK kept
 * (bounded by `maxResumptionPsks`), an empty proposal cache (proposals do not outlive their
 * epoch, RFC 9420 §12.1). The old epoch is not retired here: that happens on merge.
 */
export function buildNextState(old: GroupState, p: NextStateInput): GroupState {
  const { cs, config } = old;
  const secrets = p.next.keySchedule.epochSecrets;
  const epoch = p.next.groupContext.epoch;
  const runtime = EpochRuntime.create(cs, epoch, secrets.encryptionSecret, secrets.senderDataSecret, p.tree.nLeaves, config.ratchetLimits);
  // RFC 9420 §9.2: encryption_secret is consumed once the secret tree has its root.
  wipe(secrets.encryptionSecret);
  const past: PastEpoch = { epoch: old.epoch, tree: old.tree, groupContextBytes: old.groupContextBytes, runtime: old.runtime };
  const pastEpochs = config.maxPastEpochs === 0 ? [] : [...old.pastEpochs, past].slice(-config.maxPastEpochs);
  const resumptionPsks = [...old.resumptionPsks, { epoch, psk: secrets.resumptionPsk }].slice(-Math.max(1, config.maxResumptionPsks));
  return GroupState.fromFields({
    ...old.fields(),
    groupContext: p.next.groupContext,
    tree: p.tree,
    interimTranscriptHash: p.next.interimTranscriptHash,
    confirmationTag: p.next.confirmationTag,
    epochSecrets: secrets,
    runtime,
    ownLeafIndex: p.ownLeafIndex ?? old.ownLeafIndex,
    privateKeys: p.privateKeys,
    pendingProposals: new Map(),
    ownUpdateKeys: new Map(),
    resumptionPsks,
    pastEpochs,
    status: p.status ?? { kind: "active" },
  }, p.next.groupContextBytes);
}

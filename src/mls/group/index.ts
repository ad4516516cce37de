/**
 * The member-side MLS group API (RFC 9420 §11, §12, §15).
 *
 * ```
 *   createGroup ─┐                      ┌─ protect (application data)
 *   joinFromWelcome ─► GroupState ──────┼─ proposeAdd / proposeRemove / proposeUpdate / propose…Psk / …
 *                        ▲              ├─ createCommit ─► { commitMessage, welcome, groupInfo, staged }
 *                        │              └─ processMessage ─► application │ proposal │ commit (staged) │ own
 *                        └──── mergeStagedCommit(state, staged) once the Delivery Service accepted it
 *
 *   joinExternally(GroupInfo) ─► { commitMessage, staged } ─► completeExternalJoin(staged) ─► GroupState
 *   createExternalProposal / createNewMemberProposal ─► PublicMessage for the members (RFC 9420 §12.1.8)
 *   createReinitGroup / branchGroup ─► { state, welcome };  joinReinitGroup / joinBranchGroup (§11.2, §11.3)
 *   PublicGroup (Delivery Service observer): fromGroupInfo ─► processProposal / validateCommit ─► applyCommit
 *   saveGroupState / loadGroupState, savePendingKeyPackage / loadPendingKeyPackage (versioned "XMLS" blobs)
 * ```
 *
 * States are immutable values (the epoch's SecretTree is the one shared, mutable part; see
 * group-state.ts). Commits are two-phase: nothing changes until a StagedCommit is merged.
 * @module
 */
export { groupConfig, externalPskStore, NO_EXTERNAL_PSKS, verifySignaturesSequentially, type SignatureBatchVerifier, type GroupConfig, type GroupConfigInput, type HandshakeWireFormat, type LifetimePolicy, type ExternalPskStore } from "./group-config.js";
export { GroupState, EpochRuntime, type GroupStateFields, type GroupStatus, type MemberInfo, type PastEpoch, type PendingProposal } from "./group-state.js";
export { GenerationTracker, MAX_TRACKED_MISSING, type SenderGenerationGaps } from "./generation-tracker.js";
export { createGroup, type CreateGroupParams, type CreatorLeaf } from "./create.js";
export {
  proposeAdd,
  proposeRemove,
  proposeUpdate,
  proposeExternalPsk,
  proposeResumptionPsk,
  proposeReInit,
  proposeGroupContextExtensions,
  externalPskId,
  proposalRef,
  processProposal,
  type SentProposal,
  type ReceivedProposal,
  type ProposeOptions,
  type ProposeUpdateOptions,
  type ReInitParams,
} from "./proposals.js";
export { validateProposal, validateProposalList, checkAppliedProposals, type ValidationContext, type Committer, type ProposalValidationOptions } from "./proposal-validation.js";
export { applyProposals, isPathRequired, reserveJoinerLeaf, type ResolvedProposal, type AppliedProposals, type AddedMember, type UpdatedMember, type RemovedMember } from "./apply-proposals.js";
export { createCommit, selectPendingProposals, type CreateCommitOptions } from "./commit-create.js";
export { processCommit, type ProcessCommitOptions } from "./commit-process.js";
export {
  mergeStagedCommit,
  rebaseProposals,
  type StagedCommit,
  type CreatedCommit,
  type MembershipChanges,
  type MemberChange,
  type MemberUpdate,
} from "./staged-commit.js";
export { joinFromWelcome, openWelcome, buildWelcome, welcomeMessage, validateJoinTree, type JoinFromWelcomeParams, type JoinedGroup, type OpenWelcomeParams, type OpenedWelcome, type JoinTreeValidationParams, type WelcomeRecipient, type WelcomeResumption } from "./welcome.js";
export { createGroupInfo, signGroupInfo, verifyGroupInfoSignature, verifyGroupInfoWithTree, groupInfoMessage, ratchetTreeOf, ratchetTreeExtension, type GroupInfoOptions } from "./group-info-ops.js";
export { protect } from "./application.js";
export { processMessage, type ProcessedMessage, type ApplicationMessage, type ProposalMessage, type CommitMessage, type OwnMessage, type ProcessMessageOptions } from "./process-message.js";
export { verifyInbound, type VerifiedMessage, type InboundMessage } from "./inbound.js";
export { lookupPsks, pskSecretFor, checkPskProposalId, freshPskNonce, ownGroupResumption, type PskLookup, type ResumptionPskSource } from "./psk-lookup.js";
export { buildNextState, deriveNextEpoch, provisionalGroupContext, type NextEpoch, type NextEpochInput, type SignedCommit } from "./epoch-transition.js";
export { credentialFactsOf, groupFactsOf, checkLeafFitsGroup, checkAllMembersSupport, checkUniqueLeafKeys, leafBySignatureKey, KeySet } from "./group-facts.js";
export {
  joinExternally,
  completeExternalJoin,
  createExternalProposal,
  createNewMemberProposal,
  type JoinExternallyParams,
  type ExternalJoin,
  type ExternalProposal,
  type ExternalProposalParams,
  type NewMemberProposalParams,
} from "./external.js";
export {
  createReinitGroup,
  branchGroup,
  joinReinitGroup,
  joinBranchGroup,
  type ResumedGroup,
  type ReinitGroupParams,
  type BranchGroupParams,
  type JoinResumedParams,
} from "./reinit.js";
export { PublicGroup, type PublicMember, type AddedPublicMember, type UpdatedPublicMember, type CommitValidation, type PublicProposal } from "./public-group.js";
export {
  saveGroupState,
  loadGroupState,
  savePendingKeyPackage,
  loadPendingKeyPackage,
  PERSISTENCE_FORMAT_VERSION,
  PERSISTENCE_MAGIC,
  persistedKinds,
  type PersistedKind,
  type LoadGroupStateOptions,
  type PendingKeyPackage,
} from "./persistence.js";

/**
 * Application messages (RFC 9420 §15): always PrivateMessage (§6), encrypted with the sender's
 * application ratchet of the current epoch's secret tree (§9), signed over the GroupContext.
 *
 * Sending is synchronous and does not return a new state: the only thing that changes is the
 * epoch's SecretTree, which is shared by design (see group-state.ts). Receiving goes through
 * {@link processMessage}; messages of the last `maxPastEpochs` epochs still decrypt (§15.3), and
 * each sender's generations are tracked to report gaps (RFC 9750 §8.1.4,
 * {@link GroupState.generationGaps}).
 * @module
 */
import { UsageError } from "../../errors.js";
import { EMPTY } from "../../util/bytes.js";
import { contentTypes } from "../core/protocol.js";
import type { MlsMessage } from "../framing/mls-message.js";
import type { GroupState } from "./group-state.js";
import { frameContent, protectContent, signContent } from "./outbound.js";

/**
 * Encrypt `data` for the group as a PrivateMessage. UsageError when we are not an active member,
 * and, unless `config.commitBeforeApplication` is off, while proposals of this epoch are pending
 * (RFC 9420 §12.4: "MUST send a Commit message before sending application data").
 */
export function protect(state: GroupState, data: Uint8Array, authenticatedData: Uint8Array = EMPTY): MlsMessage {
  state.assertCurrent();
  if (state.status.kind === "removed") throw new UsageError("removed", "cannot send: we were removed from the group");
  if (state.status.kind === "pendingReinit") throw new UsageError("pending_reinit", "cannot send: the group is being reinitialized (RFC 9420 §12.4.2)");
  if (state.config.commitBeforeApplication && state.pendingProposals.size > 0) {
    throw new UsageError("pending_proposals", `${state.pendingProposals.size} proposal(s) of this epoch are pending: commit them before sending application data (RFC 9420 §12.4)`);
  }
  const ac = signContent(state, frameContent(state, { contentType: contentTypes.application, applicationData: data }, authenticatedData));
  return protectContent(state, ac);
}

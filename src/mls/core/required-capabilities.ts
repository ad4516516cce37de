/**
 * The `required_capabilities` GroupContext extension (RFC 9420 §11.1): the `extension_data` of an
 * Extension with type `extensionTypes.required_capabilities`.
 * @module
 */
import { decode, type Reader } from "../../codec/reader.js";
import { encode, type Writer } from "../../codec/writer.js";
import { readUint16List, writeUint16List } from "./capabilities.js";

/**
 * RFC 9420 §11.1:
 *   struct {
 *       ExtensionType extension_types<V>;
 *       ProposalType proposal_types<V>;
 *       CredentialType credential_types<V>;
 *   } RequiredCapabilities;
 */
export interface RequiredCapabilities {
  readonly extensionTypes: readonly number[];
  readonly proposalTypes: readonly number[];
  readonly credentialTypes: readonly number[];
}

export function readRequiredCapabilities(r: Reader): RequiredCapabilities {
  const extensionTypes = r.field("extension_types", () => readUint16List(r));
  const proposalTypes = r.field("proposal_types", () => readUint16List(r));
  const credentialTypes = r.field("credential_types", () => readUint16List(r));
  return { extensionTypes, proposalTypes, credentialTypes };
}

export function writeRequiredCapabilities(w: Writer, v: RequiredCapabilities): void {
  writeUint16List(w, v.extensionTypes);
  writeUint16List(w, v.proposalTypes);
  writeUint16List(w, v.credentialTypes);
}

/** The `extension_data` bytes of a required_capabilities extension. */
export function encodeRequiredCapabilities(v: RequiredCapabilities): Uint8Array {
  return encode(v, writeRequiredCapabilities);
}

export function decodeRequiredCapabilities(extensionData: Uint8Array): RequiredCapabilities {
  return decode(extensionData, readRequiredCapabilities, "RequiredCapabilities");
}

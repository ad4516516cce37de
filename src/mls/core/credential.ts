/**
 * Credentials (RFC 9420 §5.3): the identity a member presents, bound to its signature key by the
 * Authentication Service. Only the layout lives here; validation is the application's AS.
 *
 * An unknown credential type cannot be skipped: `Credential` has no length prefix around its
 * select, and a new type's layout is whatever the application that registered it chose (§13.3),
 * so the end of an unknown body is not knowable. Such credentials fail with `codec.bad_enum`
 * (GREASE credential types only ever appear inside capabilities lists, §13.5).
 * @module
 */
import { decode, type Reader } from "../../codec/reader.js";
import { encode, type Writer } from "../../codec/writer.js";
import { credentialTypes } from "./protocol.js";

/** The `basic` arm: an application-defined identity (RFC 9420 §5.3). */
export interface BasicCredential {
  readonly credentialType: typeof credentialTypes.basic;
  readonly identity: Uint8Array;
}

/**
 * The `x509` arm. RFC 9420 §5.3 wraps each DER certificate in `struct { opaque cert_data<V>; }
 * Certificate;`; the single-field wrapper is flattened, so each entry is the `cert_data`.
 */
export interface X509Credential {
  readonly credentialType: typeof credentialTypes.x509;
  readonly certificates: readonly Uint8Array[];
}

/**
 * RFC 9420 §5.3:
 *   struct {
 *       opaque cert_data<V>;
 *   } Certificate;
 *
 *   struct {
 *       CredentialType credential_type;
 *       select (Credential.credential_type) {
 *           case basic:
 *               opaque identity<V>;
 *
 *           case x509:
 *               Certificate certificates<V>;
 *       };
 *   } Credential;
 */
export type Credential = BasicCredential | X509Credential;

export function readCredential(r: Reader): Credential {
  const credentialType = r.field("credential_type", () => r.u16());
  switch (credentialType) {
    case credentialTypes.basic: {
      const identity = r.field("identity", () => r.opaque());
      return { credentialType, identity };
    }
    case credentialTypes.x509: {
      const certificates = r.field("certificates", () => r.vector(() => r.field("cert_data", () => r.opaque())));
      return { credentialType, certificates };
    }
    default:
      // RFC 9420 §5.3: the select decides the layout, so an unknown type leaves the rest undecodable.
      return r.field("credential_type", () => r.fail("bad_enum", `unknown CredentialType ${credentialType}`));
  }
}

export function writeCredential(w: Writer, v: Credential): void {
  w.u16(v.credentialType);
  switch (v.credentialType) {
    case credentialTypes.basic:
      w.opaque(v.identity);
      break;
    case credentialTypes.x509:
      w.array(v.certificates, (w, c) => w.opaque(c));
      break;
  }
}

export function encodeCredential(v: Credential): Uint8Array {
  return encode(v, writeCredential);
}

export function decodeCredential(bytes: Uint8Array): Credential {
  return decode(bytes, readCredential, "Credential");
}

/**
 * One error hierarchy for the whole project.
 *
 * Subclass by source, code by cause: callers use `instanceof` to decide what to do (drop the
 * message, tell the user, file a bug) and `code` for the exact, stable reason.
 *
 * - {@link CodecError}: bytes are malformed (carries the offset and field path).
 * - {@link ValidationError}: well-formed, but violates an RFC MUST (carries the RFC reference).
 * - {@link CryptoError}: a signature, tag or AEAD check failed; messages never carry secrets.
 * - {@link UsageError}: the caller misused the API or the object is in the wrong state.
 * - {@link InternalError}: should never happen; a bug in this library.
 *
 * Error text never contains key material.
 * @module
 */

export type ErrorSource = "codec" | "validation" | "crypto" | "usage" | "internal" | "config" | "protocol";

export interface XmppMlsErrorOptions {
  readonly cause?: unknown;
}

export class XmppMlsError extends Error {
  /** Stable machine-readable code, e.g. `codec.non_minimal_varint`. */
  readonly code: string;
  constructor(code: string, message: string, options?: XmppMlsErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

/** Malformed bytes. `offset` is where the reader stood, `field` the dotted path being read. */
export class CodecError extends XmppMlsError {
  readonly offset: number;
  readonly field: string;
  constructor(code: string, message: string, offset: number, field: string, options?: XmppMlsErrorOptions) {
    super(code.startsWith("codec.") ? code : `codec.${code}`, `${message} (field ${field || "<root>"} at offset ${offset})`, options);
    this.offset = offset;
    this.field = field;
  }
}

/** Well-formed input that breaks a rule of the protocol. `rfc` names the section, e.g. "RFC 9420 §10.1". */
export class ValidationError extends XmppMlsError {
  readonly rfc: string | undefined;
  constructor(code: string, message: string, rfc?: string, options?: XmppMlsErrorOptions) {
    super(code.startsWith("valid.") ? code : `valid.${code}`, rfc ? `${message} [${rfc}]` : message, options);
    this.rfc = rfc;
  }
}

/** A cryptographic check failed. Deliberately uniform messages: no oracle, no secrets. */
export class CryptoError extends XmppMlsError {
  constructor(code: string, message: string, options?: XmppMlsErrorOptions) {
    super(code.startsWith("crypto.") ? code : `crypto.${code}`, message, options);
  }
}

/** Wrong use of the API: bad argument, wrong lifecycle state. */
export class UsageError extends XmppMlsError {
  constructor(code: string, message: string, options?: XmppMlsErrorOptions) {
    super(code.startsWith("usage.") ? code : `usage.${code}`, message, options);
  }
}

/** A bug in this library ("should never happen"). */
export class InternalError extends XmppMlsError {
  constructor(message: string, options?: XmppMlsErrorOptions) {
    super("internal", message, options);
  }
}

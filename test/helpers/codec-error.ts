import { CodecError } from "../../src/errors.js";

/** The CodecError thrown by `f`, or a failure if it throws nothing or something else. */
export function codecError(f: () => unknown): CodecError {
  try {
    f();
  } catch (e) {
    if (e instanceof CodecError) return e;
    throw new Error(`expected a CodecError, got ${String(e)}`);
  }
  throw new Error("expected a CodecError, nothing was thrown");
}

/** The two crypto providers every vector test runs under. */
import type { CryptoProvider } from "../../src/crypto/cipher-suite.js";
import { nativeProvider } from "../../src/crypto/native/index.js";
import { portableProvider } from "../../src/crypto/portable/index.js";

export const PROVIDERS: readonly CryptoProvider[] = [portableProvider, nativeProvider];

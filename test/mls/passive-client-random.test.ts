/**
 * passive-client-random.json (RFC 9420 §12.4.3.1 joining by Welcome, §12.4.2 processing Commits,
 * §12.1 proposals by reference): see test/helpers/passive-client.ts for the procedure.
 */
import { describe, it } from "vitest";
import { PROVIDERS } from "../helpers/providers.js";
import { runPassiveClient, type PassiveClientCase } from "../helpers/passive-client.js";
import { describeVectors } from "../helpers/vectors.js";

describeVectors<PassiveClientCase>("passive-client-random", (cases) => {
  for (const p of PROVIDERS) {
    describe(p.name, () => {
      for (const [i, c] of cases.entries()) {
        it(`#${i} suite ${c.cipher_suite}`, async () => {
          await runPassiveClient(p.suite(c.cipher_suite), c);
        });
      }
    });
  }
});

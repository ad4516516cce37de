import { configDefaults, defineConfig } from "vitest/config";
import { missingServerPackages } from "./test/servers/packages.js";

const IN_CI = process.env.CI === "true" || process.env.CI === "1";
const INTEGRATION = "test/integration/**";

/**
 * Two projects, both run by `npx vitest run`:
 * - "unit": everything except test/integration; never starts a server.
 * - "integration": test/integration against real Prosody and ejabberd on loopback, started once by
 *   test/servers/global-setup.ts; files run one after another.
 * Without the server packages the integration project is left out with a message, except in CI,
 * where it stays in and its global setup fails the run.
 */
const missing = missingServerPackages();
const withIntegration = missing.length === 0 || IN_CI;
// The config file is evaluated more than once per run; say it once.
const warned = Symbol.for("xmpp-mls.integration-skip-warned");
const g = globalThis as { [warned]?: boolean };
if (!withIntegration && g[warned] !== true) {
  g[warned] = true;
  console.warn(
    `[servers] SKIPPING the integration project: ${missing.join(" and ")} not installed. ` +
      "To run it: apt-get update && apt-get install -y --no-install-recommends prosody lua-unbound ejabberd (as root).",
  );
}

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, INTEGRATION],
        },
      },
      ...(withIntegration
        ? [
            {
              extends: true,
              test: {
                name: "integration",
                include: [`${INTEGRATION}/*.test.ts`],
                globalSetup: ["test/servers/global-setup.ts"],
                fileParallelism: false,
                testTimeout: 60_000,
              },
            },
          ]
        : []),
    ],
  },
});

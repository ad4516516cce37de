/**
 * Crypto and message-protection benchmark: per cipher suite and provider, sign, verify, HPKE seal
 * and open, AEAD seal/open of 100 B and 64 KiB, and PrivateMessage protect/unprotect of a 100-byte
 * application message; ts-mls 1.6.4 side by side where it offers the same operation.
 *
 *   npm run bench                      # all suites, both providers
 *   BENCH_SUITES=1 npm run bench       # only suite 1
 *   BENCH_BUDGET_MS=1000 npm run bench # longer runs, steadier numbers
 */
import { ALL_SUITE_IDS, type CipherSuite, type CipherSuiteId, type CryptoProvider } from "../src/crypto/cipher-suite.js";
import { nativeProvider } from "../src/crypto/native/index.js";
import { portableProvider } from "../src/crypto/portable/index.js";
import { bench, fmtOps, printTable } from "./harness.js";
import { privateMessageBench } from "./private-message.js";
import { tsMlsPrivateMessageBench } from "./ts-mls-peer.js";

const providers: readonly CryptoProvider[] = [portableProvider, nativeProvider];
const suites: CipherSuiteId[] = process.env.BENCH_SUITES
  ? (process.env.BENCH_SUITES.split(",").map(Number) as CipherSuiteId[])
  : [...ALL_SUITE_IDS];

interface Row {
  suite: number;
  provider: string;
  values: Record<string, number>;
}

const COLUMNS = [
  "sign",
  "verify",
  "hpke seal",
  "hpke open",
  "aead seal 100B",
  "aead open 100B",
  "aead seal 64KiB",
  "aead open 64KiB",
  "pm protect",
  "pm unprotect",
] as const;

async function measureSuite(cs: CipherSuite): Promise<Record<string, number>> {
  const v: Record<string, number> = {};
  const msg = cs.randomBytes(100);
  const sig = cs.signatureKeyPair();
  const signature = cs.sign(sig.privateKey, msg);
  v["sign"] = (await bench(() => cs.sign(sig.privateKey, msg))).opsPerSec;
  v["verify"] = (await bench(() => cs.verify(sig.publicKey, msg, signature))).opsPerSec;

  const kp = await cs.hpkeKeyPair();
  const info = cs.randomBytes(32);
  const aad = new Uint8Array(0);
  const sealed = await cs.hpkeSeal(kp.publicKey, info, aad, msg);
  v["hpke seal"] = (await bench(() => cs.hpkeSeal(kp.publicKey, info, aad, msg))).opsPerSec;
  v["hpke open"] = (await bench(() => cs.hpkeOpen(kp.privateKey, sealed.kemOutput, info, aad, sealed.ciphertext))).opsPerSec;

  const key = cs.randomBytes(cs.params.Nk);
  const nonce = cs.randomBytes(cs.params.Nn);
  for (const [label, size] of [["100B", 100], ["64KiB", 65536]] as const) {
    const pt = cs.randomBytes(size);
    const ct = cs.aeadSeal(key, nonce, aad, pt);
    v[`aead seal ${label}`] = (await bench(() => cs.aeadSeal(key, nonce, aad, pt))).opsPerSec;
    v[`aead open ${label}`] = (await bench(() => cs.aeadOpen(key, nonce, aad, ct))).opsPerSec;
  }

  const pm = await privateMessageBench(cs);
  v["pm protect"] = pm.protect;
  v["pm unprotect"] = pm.unprotect;
  return v;
}

async function main(): Promise<void> {
  console.log(`# xmpp-mls crypto bench — node ${process.version}, ${new Date().toISOString()}`);
  console.log("ops/s, median of 5 rounds; pm = PrivateMessage with a 100-byte application payload\n");
  const rows: Row[] = [];
  for (const id of suites) {
    for (const p of providers) {
      const values = await measureSuite(p.suite(id));
      rows.push({ suite: id, provider: p.name, values });
      process.stderr.write(`  suite ${id} ${p.name} done\n`);
    }
  }
  printTable(
    ["suite/provider", ...COLUMNS],
    rows.map((r) => [`${r.suite} ${r.provider}`, ...COLUMNS.map((c) => fmtOps(r.values[c]))]),
  );

  console.log("\nnative ÷ portable speed-up:");
  const ratioRows: string[][] = [];
  for (const id of suites) {
    const a = rows.find((r) => r.suite === id && r.provider === "portable")!;
    const b = rows.find((r) => r.suite === id && r.provider === "native")!;
    ratioRows.push([`suite ${id}`, ...COLUMNS.map((c) => `${(b.values[c]! / a.values[c]!).toFixed(1)}×`)]);
  }
  printTable(["suite", ...COLUMNS], ratioRows);

  if (suites.includes(1)) {
    console.log("\nPeer: ts-mls 1.6.4, suite 1, two-member group, 100-byte application message:");
    const peer = await tsMlsPrivateMessageBench();
    const ours = rows.find((r) => r.suite === 1 && r.provider === "native")!;
    printTable(
      ["implementation", "encrypt msg/s", "decrypt msg/s"],
      [
        ["xmpp-mls (native)", fmtOps(ours.values["pm protect"]), fmtOps(ours.values["pm unprotect"])],
        ["ts-mls 1.6.4", fmtOps(peer.encrypt), fmtOps(peer.decrypt)],
      ],
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

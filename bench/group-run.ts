/**
 * Child process of bench/group.ts: runs one scenario and prints its result as one JSON line
 * (`RESULT {...}`), so that each measurement has a process, and a peak RSS, of its own.
 *
 *   node dist/bench/group-run.js xmpp-mls <N> <sparse|full> [member-input-dir]
 *   node dist/bench/group-run.js member <member-input-dir>
 *   node dist/bench/group-run.js ts-mls <N>
 * @module
 */
async function main(): Promise<unknown> {
  const [impl, arg, variant, dir] = process.argv.slice(2);
  if (impl === "member") return (await import("./group-member.js")).runMember(arg!);
  const n = Number(arg);
  if (!Number.isInteger(n) || n < 4) throw new Error(`bad N: ${arg}`);
  if (impl === "xmpp-mls") return (await import("./group-ours.js")).runOurs(n, variant === "full" ? "full" : "sparse", dir);
  if (impl === "ts-mls") return (await import("./group-ts-mls.js")).runTsMls(n);
  throw new Error(`unknown implementation ${impl}`);
}

main().then(
  (result) => {
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);

/**
 * Acceptance: two members commit in the same epoch, 20 times in a row. Each member's first
 * submission of a round is held until the other's is ready too, then both go out together, so
 * the hub really sees two Commits for one epoch. Every round: exactly one is accepted, the other
 * gets conflict + <wrong-epoch current=E+1/>; the loser rebases and is accepted at E+1; all
 * members converge on the same epoch and verification code.
 */
import { beforeAll, expect, it } from "vitest";
import { describeEachServer } from "../servers/context.js";
import { uniqueId } from "../servers/stanzas.js";
import type { ServerInfo } from "../servers/types.js";
import { converge, errorsOf, gatewayErrors, roomWith, scenario, waitEvent, type Dev, type DsRequest, type SubmitGate } from "./helpers/acceptance.js";

const ROUNDS = 20;

/** Gates that let the first submit of each device through only once all `n` are waiting. */
function barrier(n: number): () => SubmitGate {
  let waiting = 0;
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return () => {
    let used = false;
    return async () => {
      if (used) return;
      used = true;
      if (++waiting === n) open();
      await opened;
    };
  };
}

describeEachServer("acceptance: commit races", (server: ServerInfo) => {
  const h = scenario(server);
  const room = `${uniqueId("acc-race")}@${server.mucDomain}`;
  let alice: Dev, bob: Dev, carol: Dev;

  beforeAll(async () => {
    await h.startGateway();
    [alice, bob, carol] = await Promise.all([h.device("alice", "race"), h.device("bob", "race"), h.device("carol", "race")]);
    await roomWith(h, room, alice, [bob, carol]);
  });

  it(`${ROUNDS} rounds of two concurrent self-updates: one accepted, one wrong-epoch, everybody converges`, async () => {
    const winners: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const e = alice.mls.epoch(room);
      const marks = [bob.requests.length, carol.requests.length];
      const gate = barrier(2);
      bob.gate = gate();
      carol.gate = gate();
      const [eb, ec] = await Promise.all([bob.mls.updateKeys(room), carol.mls.updateKeys(room)]);
      bob.gate = carol.gate = null;

      const subs = (d: Dev, mark: number): DsRequest[] => d.requests.slice(mark).filter((r) => r.name === "submit");
      const [sb, sc] = [subs(bob, marks[0]!), subs(carol, marks[1]!)];
      const ctx = `round ${round}`;
      // Both first submissions were for epoch e: the race was real.
      expect([sb[0]?.epoch, sc[0]?.epoch], ctx).toEqual([e, e]);
      const firsts = [sb[0]!, sc[0]!];
      const won = firsts.filter((r) => r.accepted !== undefined);
      const lost = firsts.filter((r) => r.error !== undefined);
      expect(won.length, ctx).toBe(1);
      expect(lost.length, ctx).toBe(1);
      expect(won[0]!.accepted!.epoch, ctx).toBe(e + 1n);
      const err = lost[0]!.error as { condition?: string; type?: string; app?: unknown };
      expect([err.type, err.condition, err.app], ctx).toEqual(["modify", "conflict", { name: "wrong-epoch", current: e + 1n }]);
      // The winner submitted once; the loser once more, rebased onto e+1, and was accepted.
      const [winnerSubs, loserSubs] = sb[0]!.accepted !== undefined ? [sb, sc] : [sc, sb];
      winners.push(sb[0]!.accepted !== undefined ? "bob" : "carol");
      expect(winnerSubs.length, ctx).toBe(1);
      expect(loserSubs.map((r) => r.epoch), ctx).toEqual([e, e + 1n]);
      expect(loserSubs[1]!.accepted?.epoch, ctx).toBe(e + 2n);
      expect(loserSubs[1]!.accepted!.seq, ctx).toBe(won[0]!.accepted!.seq + 1);
      expect([eb, ec].sort((x, y) => (x < y ? -1 : 1)), ctx).toEqual([e + 1n, e + 2n]);

      await converge([alice, bob, carol], room, e + 2n);
      const codes = [alice, bob, carol].map((d) => d.mls.verificationCode(room));
      expect(new Set(codes).size, `${ctx}: verification codes ${codes.join(" / ")}`).toBe(1);
    }
    // The hub's log: one commit per epoch, contiguous, in seq order.
    const g = h.gateway!.services.store.findGroupByRoom(room)!;
    expect(g.epoch).toBe(2n + 2n * BigInt(ROUNDS));
    const page = h.gateway!.services.store.readLog(g.groupId, { afterEpoch: 0n, max: 1000 });
    const commits = page.entries.filter((x) => x.kind === "commit");
    expect(commits.map((x) => x.epoch)).toEqual(Array.from({ length: Number(g.epoch) }, (_, i) => BigInt(i)));
    expect(page.entries.map((x) => x.seq)).toEqual(page.entries.map((_, i) => i + 1));
    expect(g.groupId).toBe(alice.mls.groupId(room));
    // Who wins is up to the hub's arrival order; both outcomes are fine, each round had exactly one.
    expect(winners).toHaveLength(ROUNDS);
  });

  it("everybody still talks, and nothing reported an error", async () => {
    const text = `after the races ${uniqueId("r")}`;
    await bob.mls.sendText(room, text);
    await waitEvent(alice, "message", (m) => m.text === text, "alice reads bob");
    await waitEvent(carol, "message", (m) => m.text === text, "carol reads bob");
    for (const d of h.devices) expect(errorsOf(d, room), d.name).toEqual([]);
    expect(gatewayErrors(h.gatewayLog)).toEqual([]);
  });
});

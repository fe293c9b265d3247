import { afterEach, describe, expect, it } from 'vitest';
import { playInbound } from '../../src/simulator/scenarios.js';
import { newCallSid, readTexml } from '../../src/simulator/telnyx-player.js';
import { startServer, type TestServer } from '../helper.js';
import { uniquePrefix } from '../setup/redis.js';

const ALICE = 'sip:alice@sip.telnyx.com';
const BOB = 'sip:bob@sip.telnyx.com';
const CAROL = 'sip:carol@sip.telnyx.com';

/**
 * docs/interface.md §5 through real callback flows: two instances share one Redis, calls alternate
 * between them, and the first <Dial> of the next call shows what routing learned.
 */
describe('routing end to end (two instances, one Redis)', () => {
  let a: TestServer;
  let b: TestServer;
  const start = async (env: Record<string, string> = {}) => {
    const keyPrefix = uniquePrefix();
    a = await startServer({ keyPrefix, env });
    b = await startServer({ keyPrefix, env });
  };
  afterEach(async () => {
    await a?.close();
    await b?.close();
  });

  /** A call answered by whichever agent the script's first target is: the player answers with the first <Sip>. */
  const answeredBy = async (server: TestServer, from: string, opts: { chaos?: boolean } = {}) =>
    playInbound(server.player, { from, answerInRound: 1, answerAfter: 5, talkSeconds: 20, ...opts });

  const firstDial = async (server: TestServer, from: string) => {
    const sid = newCallSid();
    const res = await server.player.post('/texml/inbound', server.player.base(sid, from, '+18005550199'));
    // The caller hangs up before anyone answers: the agents offered the call are free again
    // (docs/interface.md §5: an offered agent is not offered a second call).
    await server.player.post('/texml/status', {
      ...server.player.base(sid, from, '+18005550199'),
      CallStatus: 'completed',
    });
    return readTexml(res.body).dial?.targets.map((t) => t.uri) ?? [];
  };

  it('sticky: after two answered calls with Alice (one callback duplicated), the caller rings Alice alone first', async () => {
    await start({ ROUTING_STRATEGY: 'ring-all' });
    const caller = '+13125550177';
    expect(await firstDial(a, caller)).toEqual([ALICE, BOB, CAROL]);
    await answeredBy(a, caller, { chaos: true }); // duplicated answered callbacks count once
    await answeredBy(b, caller);
    expect(await firstDial(b, caller)).toEqual([ALICE]);
    // other callers are not sticky; ring-all puts the longest idle first, so Alice comes last now
    expect(await firstDial(a, '+13125550999')).toEqual([BOB, CAROL, ALICE]);
    // a withheld caller never uses history
    await answeredBy(a, 'anonymous');
    await answeredBy(b, 'anonymous');
    expect((await firstDial(b, 'Anonymous')).sort()).toEqual([ALICE, BOB, CAROL]);
  });

  it('sticky stops at exactly the threshold: 3 of 5 is not more than 60 %', async () => {
    await start({ ROUTING_STRATEGY: 'ring-all', STICKY_THRESHOLD: '0.6' });
    const caller = '+13125550178';
    const routing = a.app.services.routing;
    // 3 calls with Alice, 2 with Bob, recorded as the answered effect does
    for (const [i, agent] of ['Alice', 'Alice', 'Alice', 'Bob', 'Bob'].entries()) {
      await routing.recordAnswer(`seed-${i}`, caller, agent);
    }
    expect(await firstDial(b, caller)).toEqual([ALICE, BOB, CAROL]);
    await routing.recordAnswer('seed-5', caller, 'Alice'); // 4 of 6
    expect(await firstDial(b, caller)).toEqual([ALICE]);
  });

  it('round-robin rotates one agent per call across both instances', async () => {
    await start({ ROUTING_STRATEGY: 'round-robin', STICKY_ROUTING: 'false' });
    const rung: string[] = [];
    for (let i = 0; i < 6; i++) rung.push(...(await firstDial(i % 2 ? b : a, `+1312555010${i}`)));
    expect(rung).toHaveLength(6);
    expect(new Set(rung.slice(0, 3))).toEqual(new Set([ALICE, BOB, CAROL]));
    expect(rung.slice(3)).toEqual(rung.slice(0, 3));
  });

  it('longest-idle rings the agent whose last call ended longest ago, one per round', async () => {
    await start({ ROUTING_STRATEGY: 'longest-idle', STICKY_ROUTING: 'false' });
    // Nobody has taken a call: ties broken by name, Alice first. After Alice's call ends, Bob is longest idle.
    expect(await firstDial(a, '+13125550201')).toEqual([ALICE]);
    await answeredBy(a, '+13125550202');
    expect(await firstDial(b, '+13125550203')).toEqual([BOB]);
  });

  it('fewest-calls rings the agent with the fewest answered calls today, not the one idle longest', async () => {
    await start({ ROUTING_STRATEGY: 'fewest-calls', STICKY_ROUTING: 'false' });
    // Nobody answered a call today and nobody has been rung: ties by idle time, then name.
    expect(await firstDial(a, '+13125550401')).toEqual([ALICE]);
    // Alice answers one (every callback sent twice: counted once), then Bob one, on the other instance.
    expect((await answeredBy(a, '+13125550402', { chaos: true })).rounds).toEqual([[ALICE]]);
    expect((await answeredBy(b, '+13125550403')).rounds).toEqual([[BOB]]);
    // Carol has answered none: she rings first, lets it ring out, and Alice (one call, idle longer
    // than Bob) takes it in the second round.
    const third = await playInbound(a.player, {
      from: '+13125550404',
      answerInRound: 2,
      answerAfter: 5,
      talkSeconds: 20,
    });
    expect(third.rounds).toEqual([[CAROL], [ALICE]]);
    // Today: Alice 2, Bob 1, Carol 0. Bob has been idle longest (longest-idle would ring him);
    // Carol, who just let a call ring out, still has the fewest answered calls.
    expect(await firstDial(b, '+13125550405')).toEqual([CAROL]);
    const counts = await b.app.services.routing.load(undefined, { withAnsweredToday: true });
    expect({ ...counts.answeredToday }).toEqual({ Alice: 2, Bob: 1 });
  });

  it('random rings one online agent per round', async () => {
    await start({ ROUTING_STRATEGY: 'random', STICKY_ROUTING: 'false' });
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const t = await firstDial(i % 2 ? a : b, `+131255503${String(i).padStart(2, '0')}`);
      expect(t).toHaveLength(1);
      seen.add(t[0] as string);
    }
    expect(seen.size).toBeGreaterThan(1);
  });

  it('a single-agent strategy never rings the same agent twice in one call until all were tried', async () => {
    await start({ ROUTING_STRATEGY: 'longest-idle', STICKY_ROUTING: 'false', DIAL_ATTEMPTS: '4' });
    const r = await playInbound(a.player, { voicemailSeconds: 3 });
    expect(r.rounds.map((x) => x.length)).toEqual([1, 1, 1, 1]);
    expect(new Set(r.rounds.slice(0, 3).flat()).size).toBe(3);
  });
});

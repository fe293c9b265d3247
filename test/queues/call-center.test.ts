import { expect, it } from 'vitest';
import { eventually } from '../helper.js';
import { describeBackends } from '../support/describe-backends.js';
import { buildRig, shape } from './queue-rig.js';

/**
 * CallCenter (docs/interface.md §5) over real stores, in memory and on Redis: the offer, answer,
 * ring-out and wrap-up life of each agent, what it logs and alerts, and who it reports freed.
 */

describeBackends('CallCenter', (backend) => {
  it('commits one offer per agent: an agent already offered a call is not offered another', async () => {
    const rig = buildRig(backend);
    expect(await rig.center.offer('C1', ['ann', 'bob'], 'support')).toEqual(['ann', 'bob']);
    // A repeated request for the same call: still offered, logged once.
    expect(await rig.center.offer('C1', ['ann'], 'support')).toEqual(['ann']);
    expect(await rig.center.offer('C2', ['ann', 'bob'], 'support')).toEqual([]);
    expect(await rig.center.offerable([rig.center.agent('ann')!])).toEqual(new Set());
    const offers = shape(await rig.logged()).filter((e) => e.type === 'offer');
    expect(offers).toEqual([
      { type: 'offer', queue: 'support', callSid: 'C1', agent: 'ann' },
      { type: 'offer', queue: 'support', callSid: 'C1', agent: 'bob' },
    ]);
  });

  it('offer with events to follow: they are logged in the same write right after the offers, once', async () => {
    const rig = buildRig(backend);
    const writes: string[][] = [];
    const appendMany = rig.events.appendMany.bind(rig.events);
    rig.events.appendMany = (events) => {
      writes.push(events.map((e) => e.type));
      return appendMany(events);
    };
    const enter = () => [
      { type: 'enter-queue' as const, at: 0, queue: 'support', callSid: 'C1', position: 1 },
    ];
    const after = enter();
    rig.advance(5);
    expect(await rig.center.offer('C1', ['ann', 'bob'], 'support', after)).toEqual(['ann', 'bob']);
    expect(after).toEqual([]); // taken: the caller must not log it again
    expect(writes).toEqual([['offer', 'offer', 'enter-queue']]);
    const log = await rig.logged();
    expect(shape(log).map((e) => e.type)).toEqual(['offer', 'offer', 'enter-queue']);
    expect(log[2]?.at).toBe(rig.now()); // stamped when logged, not when built
    // No offer committed (a repeated request; an agent offered another call): nothing taken.
    const again = enter();
    expect(await rig.center.offer('C1', ['ann'], 'support', again)).toEqual(['ann']);
    expect(await rig.center.offer('C2', ['bob'], 'support', again)).toEqual([]);
    expect(again).toHaveLength(1);
    expect(writes).toHaveLength(1);
  });

  it("an offer does not wait for the event log: the caller's ring round goes out while the append is on its way", async () => {
    const rig = buildRig(backend);
    const appendMany = rig.events.appendMany.bind(rig.events);
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let appends = 0;
    rig.events.appendMany = async (events) => {
      appends++;
      await held;
      return appendMany(events);
    };
    // Resolves with the append still held (it would hang here if the offer waited for it).
    expect(await rig.center.offer('C1', ['ann'], 'support')).toEqual(['ann']);
    expect(appends).toBe(1);
    release();
    await eventually(async () =>
      expect(shape(await rig.logged())).toEqual([
        { type: 'offer', queue: 'support', callSid: 'C1', agent: 'ann' },
      ]),
    );
  });

  it('availability judges offerable and engaged agents on one read of the agent states', async () => {
    const rig = buildRig(backend);
    await rig.busy('ann', 'C1');
    let views = 0;
    let reads = 0;
    const agents = rig.agents;
    // Both stores keep a view (src/agents/agent-state-store.ts `view`).
    const view = agents.view!.bind(agents);
    agents.view = () => {
      views++;
      return view();
    };
    const getMany = agents.getMany.bind(agents);
    agents.getMany = (ids) => {
      reads++;
      return getMany(ids);
    };
    const roster = [rig.center.agent('ann')!, rig.center.agent('bob')!];
    const { offerable, engaged } = await rig.center.availability(roster);
    expect([...offerable]).toEqual(['bob']);
    expect([...engaged]).toEqual(['ann']);
    // One view and no other read (it was two views: one per set).
    expect([views, reads]).toEqual([1, 0]);
  });

  it('answer, hang-up, wrap-up: the agent is free again when the wrap-up ends, and the queue is told', async () => {
    const rig = buildRig(backend, { wrapUpSeconds: 30 });
    const freed: string[] = [];
    rig.center.onFreed = (id) => freed.push(id);
    await rig.center.offer('C1', ['ann', 'bob'], 'support');
    await rig.center.answered('ann', 'C1');
    // Ring-all: bob's leg is cancelled when ann answers; no fault of bob's.
    await rig.center.roundEnded('C1', ['ann', 'bob'], 'completed', 'ann');
    expect(await rig.agents.get('ann')).toMatchObject({ state: 'on-call', callSid: 'C1' });
    expect(await rig.agents.get('bob')).toMatchObject({ state: 'idle', noAnswerStreak: 0 });
    expect(freed).toEqual(['bob']);

    rig.advance(120);
    await rig.center.legEnded('ann', 'C1', { answered: true });
    expect(await rig.agents.get('ann')).toMatchObject({ state: 'wrap-up' });
    expect(await rig.center.tick()).toBe(0);
    rig.advance(29);
    expect(await rig.center.tick()).toBe(0);
    rig.advance(1);
    expect(await rig.center.tick()).toBe(1);
    expect(await rig.agents.get('ann')).toMatchObject({ state: 'idle' });
    expect(freed).toEqual(['bob', 'ann']);
    const log = shape(await rig.logged()).filter((e) => e.agent === 'ann');
    expect(log.map((e) => e.type)).toEqual(['offer', 'wrap-up-start', 'wrap-up-end']);
  });

  it('a supervisor ends a wrap-up early; one that is not in wrap-up is refused', async () => {
    const rig = buildRig(backend, { wrapUpSeconds: 300 });
    await rig.busy('ann', 'C1');
    await rig.center.legEnded('ann', 'C1', { answered: true });
    const service = rig.center.statusService();
    expect(await service.endWrapUp('ann')).toMatchObject({ state: 'idle', status: 'available' });
    await expect(service.endWrapUp('ann')).rejects.toMatchObject({ statusCode: 409 });
    await expect(service.endWrapUp('nobody')).rejects.toMatchObject({ statusCode: 404 });
  });

  it('MAX_NO_ANSWER ring-outs in a row put the agent on break with one Slack message', async () => {
    const rig = buildRig(backend, { maxNoAnswer: 3 });
    for (const sid of ['C1', 'C2', 'C3']) {
      expect(await rig.center.offer(sid, ['bob'], 'support')).toEqual(['bob']);
      await rig.center.legEnded('bob', sid, { answered: false, status: 'no-answer' });
      rig.advance(1);
    }
    expect(await rig.agents.get('bob')).toMatchObject({ status: 'break', reason: 'no-answer' });
    expect(await rig.center.signedIn([rig.center.agent('bob')!])).toEqual([]);
    expect(await rig.center.offer('C4', ['bob'], 'support')).toEqual([]);
    const slack = await rig.slack();
    expect(slack.map((m) => m.alert)).toEqual([
      expect.objectContaining({ type: 'agent-auto-paused', agent: 'bob', noAnswers: 3 }),
    ]);
    const log = shape(await rig.logged()).filter((e) => e.agent === 'bob' && e.type !== 'offer');
    expect(log.map((e) => e.type)).toEqual(['no-answer', 'no-answer', 'no-answer', 'status-change']);
  });

  it('an answered call between ring-outs resets the streak; a cancelled ring (the caller hung up) counts nothing', async () => {
    const rig = buildRig(backend, { maxNoAnswer: 2 });
    await rig.center.offer('C1', ['bob'], 'support');
    await rig.center.legEnded('bob', 'C1', { answered: false, status: 'no-answer' });
    await rig.center.offer('C2', ['bob'], 'support');
    await rig.center.callEnded('C2', ['bob']); // caller hung up while bob rang
    expect(await rig.agents.get('bob')).toMatchObject({
      state: 'idle',
      noAnswerStreak: 1,
      status: 'available',
    });
    await rig.busy('bob', 'C3');
    await rig.center.legEnded('bob', 'C3', { answered: true });
    await rig.center.offer('C4', ['bob'], 'support');
    await rig.center.legEnded('bob', 'C4', { answered: false, status: 'busy' });
    expect(await rig.agents.get('bob')).toMatchObject({ status: 'available', noAnswerStreak: 1 });
  });

  it('an offer whose callbacks never came frees the agent after the ring time and a grace', async () => {
    const rig = buildRig(backend);
    await rig.center.offer('C1', ['ann'], 'support');
    rig.advance(20 + 59);
    expect(await rig.center.tick()).toBe(0);
    rig.advance(2);
    expect(await rig.center.tick()).toBe(1);
    expect(await rig.agents.get('ann')).toMatchObject({ state: 'idle' });
  });

  it('status: only available agents are signed in; a break reason is kept and logged', async () => {
    const rig = buildRig(backend);
    const ann = rig.center.agent('ann')!;
    const bob = rig.center.agent('bob')!;
    expect((await rig.center.signedIn([ann, bob])).map((a) => a.id)).toEqual(['ann', 'bob']);
    expect(
      await rig.center.setStatus('ann', 'break', 'lunch', { role: 'agent', agentId: 'ann' }),
    ).toMatchObject({
      status: 'break',
      reason: 'lunch',
    });
    expect((await rig.center.signedIn([ann, bob])).map((a) => a.id)).toEqual(['bob']);
    expect(await rig.center.offerable([ann, bob])).toEqual(new Set(['bob']));
    await expect(
      rig.center.setStatus('zed', 'available', undefined, { role: 'supervisor' }),
    ).rejects.toMatchObject({
      statusCode: 404,
    });
    expect(shape(await rig.logged()).at(-1)).toMatchObject({
      type: 'status-change',
      agent: 'ann',
      to: 'break',
      reason: 'lunch',
      by: 'agent:ann',
    });
  });

  it('an agent Telnyx cannot reach is never offerable nor signed in', async () => {
    const rig = buildRig(backend);
    // Static agents count as registered; a roster agent marked unreachable does not.
    const ann = { ...rig.center.agent('ann')!, unreachable: 'SIP URI calling is disabled' };
    expect(await rig.center.offerable([ann])).toEqual(new Set());
    expect(await rig.center.signedIn([ann])).toEqual([]);
  });
});

import { expect, it } from 'vitest';
import { describeBackends } from '../support/describe-backends.js';
import { buildRig, shape } from './queue-rig.js';

/**
 * QueueFlow (docs/interface.md §7) over real stores, in memory and on Redis: joining, the wait
 * document, the offer to a freed agent, a ring-out back at the same place, abandon, max wait, no
 * agent signed in, a full line. The call-update delivery has its own file (offer-delivery.test.ts).
 */

const callers = { C1: '+13125550101', C2: '+13125550102', C3: '+13125550103' } as const;

describeBackends('QueueFlow', (backend) => {
  it('queues callers while every agent is busy and offers the longest-waiting one to the agent who frees up', async () => {
    const rig = buildRig(backend);
    await rig.busy('ann', 'X1');
    await rig.busy('bob', 'X2');
    expect(await rig.flow.join('C1', callers.C1, 'AC1', 'support')).toEqual({
      kind: 'queued',
      queue: 'support',
      position: 1,
    });
    rig.advance(1);
    expect(await rig.flow.join('C2', callers.C2, 'AC1', 'support')).toEqual({
      kind: 'queued',
      queue: 'support',
      position: 2,
    });
    // A repeated webhook does not queue twice nor log twice.
    expect(await rig.flow.join('C2', callers.C2, 'AC1', 'support')).toEqual({
      kind: 'queued',
      queue: 'support',
      position: 2,
    });

    // Both agents busy: nobody to offer to.
    expect(await rig.flow.dispatch('ann')).toBeUndefined();
    const waiting = await rig.flow.wait('C2');
    expect(waiting).toMatchObject({ leave: false, announce: { position: 2 }, callback: false });

    rig.advance(30);
    await rig.center.legEnded('bob', 'X2', { answered: true }); // wrap-up 0: bob is idle again
    const offered = await rig.flow.dispatch('bob');
    expect(offered).toMatchObject({ callSid: 'C1', offeredTo: 'bob', accountSid: 'AC1' });
    expect(await rig.agents.get('bob')).toMatchObject({ state: 'offered', callSid: 'C1' });
    // Offered once: the next free-agent signal offers nobody twice.
    expect(await rig.flow.dispatch('bob')).toBeUndefined();

    // Without the call-update API the offer reaches C1 by <Leave/>; the Enqueue action dials bob.
    expect(await rig.flow.wait('C1')).toEqual({ leave: true, callback: false });
    expect(await rig.flow.afterQueue('C1', 'leave')).toMatchObject({ kind: 'dial', agent: { id: 'bob' } });
    // C2 moves up.
    expect(await rig.flow.wait('C2')).toMatchObject({ leave: false });
    expect(await rig.queues.position('C2')).toBe(2); // C1 is still in line until connected

    await rig.center.answered('bob', 'C1');
    await rig.flow.connected('C1', 'bob', 40);
    expect(await rig.queues.position('C2')).toBe(1);
    const log = shape(await rig.logged()).filter((e) => e.callSid === 'C1' || e.callSid === 'C2');
    expect(log).toEqual([
      { type: 'enter-queue', queue: 'support', callSid: 'C1', position: 1 },
      { type: 'enter-queue', queue: 'support', callSid: 'C2', position: 2 },
      { type: 'offer', queue: 'support', callSid: 'C1', agent: 'bob' },
      { type: 'connect', queue: 'support', callSid: 'C1', agent: 'bob', wait: 40 },
    ]);
  });

  it('the periodic tick offers each free agent one waiting caller, oldest first', async () => {
    const rig = buildRig(backend);
    await rig.busy('ann', 'X1');
    await rig.busy('bob', 'X2');
    for (const sid of ['C1', 'C2', 'C3'] as const) {
      await rig.flow.join(sid, callers[sid], 'AC1', 'support');
      rig.advance(1);
    }
    expect(await rig.flow.tick()).toBe(0);
    await rig.center.legEnded('ann', 'X1', { answered: true });
    await rig.center.legEnded('bob', 'X2', { answered: true });
    expect(await rig.flow.tick()).toBe(2);
    const offered = await Promise.all(['C1', 'C2', 'C3'].map((sid) => rig.queues.get(sid)));
    expect(offered.map((e) => e?.offeredTo !== undefined)).toEqual([true, true, false]);
    expect(new Set(offered.slice(0, 2).map((e) => e?.offeredTo))).toEqual(new Set(['ann', 'bob']));
    expect(await rig.flow.tick()).toBe(0);
  });

  it('an offer that rings out puts the caller back at the same place; DIAL_ATTEMPTS ring-outs send them to voicemail', async () => {
    const rig = buildRig(backend, { dialAttempts: 2, maxNoAnswer: 5 });
    await rig.busy('ann', 'X1');
    await rig.busy('bob', 'X2');
    await rig.flow.join('C1', callers.C1, 'AC1', 'support');
    rig.advance(1);
    await rig.flow.join('C2', callers.C2, 'AC1', 'support');
    await rig.center.legEnded('bob', 'X2', { answered: true });
    expect(await rig.flow.dispatch('bob')).toMatchObject({ callSid: 'C1' });
    await rig.center.legEnded('bob', 'C1', { answered: false, status: 'no-answer' });

    // Back in line ahead of C2, which joined later; the ring-out is counted.
    expect(await rig.flow.ringEnded('C1', true)).toEqual({ kind: 'enqueue', queue: 'support' });
    expect(await rig.queues.get('C1')).toMatchObject({ ringOuts: 1 });
    expect((await rig.queues.get('C1'))?.offeredTo).toBeUndefined();
    expect(await rig.queues.position('C1')).toBe(1);
    expect(await rig.flow.join('C1', callers.C1, 'AC1', 'support')).toMatchObject({ position: 1 });
    // A repeated ring-end of the same offer counts nothing.
    expect(await rig.flow.ringEnded('C1', true)).toBeUndefined();

    // Bob is idle again and gets C1 again (still the longest waiting), not C2.
    expect(await rig.flow.dispatch('bob')).toMatchObject({ callSid: 'C1' });
    await rig.center.legEnded('bob', 'C1', { answered: false, status: 'no-answer' });
    expect(await rig.flow.ringEnded('C1', true)).toEqual({ kind: 'voicemail', reason: 'no-answer' });
    expect(await rig.queues.get('C1')).toBeUndefined();
    expect(await rig.queues.position('C2')).toBe(1);
    const log = shape(await rig.logged()).filter((e) => e.callSid === 'C1');
    expect(log.map((e) => e.type)).toEqual([
      'enter-queue',
      'offer',
      'no-answer',
      'offer',
      'no-answer',
      'voicemail',
    ]);
    expect(log.at(-1)).toMatchObject({ reason: 'no-answer' });
  });

  it('a caller who hangs up while waiting is an abandon with wait and position, and one Slack message', async () => {
    const rig = buildRig(backend);
    await rig.busy('ann', 'X1');
    await rig.busy('bob', 'X2');
    await rig.flow.join('C1', callers.C1, 'AC1', 'support');
    rig.advance(5);
    await rig.flow.join('C2', callers.C2, 'AC1', 'support');
    rig.advance(40);
    await rig.flow.callerEnded('C2', callers.C2);
    await rig.flow.callerEnded('C2', callers.C2); // a repeated status: nothing more
    expect(await rig.queues.get('C2')).toBeUndefined();
    const log = shape(await rig.logged()).filter((e) => e.callSid === 'C2');
    expect(log.at(-1)).toEqual({ type: 'abandon', queue: 'support', callSid: 'C2', wait: 40, position: 2 });
    const slack = await rig.slack();
    expect(slack.filter((m) => m.alert.type === 'queue-abandoned')).toEqual([
      {
        // The call's closing key: the generic "Abandoned call" of the call state is a duplicate.
        key: 'call:C2:missed',
        alert: expect.objectContaining({ waitSeconds: 40, position: 2, queue: 'support', from: callers.C2 }),
        folded: [],
      },
    ]);
    expect(await rig.outbox.enqueue('call:C2:missed', { type: 'missed' } as never)).toBe(false);
  });

  it('a caller who hangs up while offered frees the agent at once', async () => {
    const rig = buildRig(backend);
    await rig.busy('ann', 'X1');
    await rig.flow.join('C1', callers.C1, 'AC1', 'support');
    expect(await rig.flow.dispatch('bob')).toMatchObject({ callSid: 'C1', offeredTo: 'bob' });
    expect(await rig.agents.get('bob')).toMatchObject({ state: 'offered' });
    // Telnyx's Enqueue action for a hang-up: no <Dial> for a caller who is gone.
    expect(await rig.flow.afterQueue('C1', 'hangup')).toEqual({ kind: 'hangup' });
    await rig.flow.callerEnded('C1', callers.C1);
    expect(await rig.agents.get('bob')).toMatchObject({ state: 'idle' });
    expect(shape(await rig.logged()).at(-1)).toMatchObject({ type: 'abandon', callSid: 'C1', position: 1 });
  });

  it('after maxWaitSeconds the caller leaves for voicemail (exit-timeout)', async () => {
    const rig = buildRig(backend, { settings: { maxWaitSeconds: 120 } });
    await rig.busy('ann', 'X1');
    await rig.busy('bob', 'X2');
    await rig.flow.join('C1', callers.C1, 'AC1', 'support');
    rig.advance(119);
    expect(await rig.flow.wait('C1')).toMatchObject({ leave: false });
    rig.advance(1);
    expect(await rig.flow.wait('C1')).toEqual({ leave: true, callback: false });
    expect(await rig.queues.get('C1')).toBeUndefined();
    expect(await rig.flow.afterQueue('C1', 'leave')).toEqual({ kind: 'voicemail', reason: 'queue-exit' });
    expect(shape(await rig.logged()).at(-1)).toEqual({
      type: 'exit-timeout',
      queue: 'support',
      callSid: 'C1',
      wait: 120,
      position: 1,
    });
  });

  it('with no agent signed in the caller goes to voicemail, and Slack hears it once per streak', async () => {
    const rig = buildRig(backend);
    for (const id of ['ann', 'bob'])
      await rig.center.setStatus(id, 'offline', undefined, { role: 'supervisor' });
    expect(await rig.flow.join('C1', callers.C1, 'AC1', 'support')).toEqual({
      kind: 'voicemail',
      reason: 'no-agents',
    });
    expect(await rig.flow.join('C2', callers.C2, 'AC1', 'support')).toEqual({
      kind: 'voicemail',
      reason: 'no-agents',
    });
    expect(await rig.queues.get('C1')).toBeUndefined();
    const log = shape(await rig.logged()).filter((e) => e.type === 'voicemail');
    expect(log).toEqual([
      { type: 'voicemail', queue: 'support', callSid: 'C1', reason: 'no-agent-signed-in' },
      { type: 'voicemail', queue: 'support', callSid: 'C2', reason: 'no-agent-signed-in' },
    ]);
    const slack = await rig.slack();
    expect(slack.filter((m) => m.alert.type === 'no-agent-signed-in')).toHaveLength(1);
  });

  it('a caller already waiting leaves for voicemail when the last agent signs out (exit-closed)', async () => {
    const rig = buildRig(backend);
    await rig.busy('ann', 'X1');
    await rig.busy('bob', 'X2');
    await rig.flow.join('C1', callers.C1, 'AC1', 'support');
    for (const id of ['ann', 'bob'])
      await rig.center.setStatus(id, 'offline', undefined, { role: 'supervisor' });
    rig.advance(10);
    expect(await rig.flow.wait('C1')).toEqual({ leave: true, callback: false });
    expect(shape(await rig.logged()).at(-1)).toMatchObject({
      type: 'exit-closed',
      callSid: 'C1',
      reason: 'no-agent-signed-in',
    });
  });

  it('a full line sends the next caller to voicemail', async () => {
    const rig = buildRig(backend, { settings: { maxWaiting: 2 } });
    await rig.busy('ann', 'X1');
    await rig.busy('bob', 'X2');
    await rig.flow.join('C1', callers.C1, 'AC1', 'support');
    await rig.flow.join('C2', callers.C2, 'AC1', 'support');
    expect(await rig.flow.join('C3', callers.C3, 'AC1', 'support')).toEqual({
      kind: 'voicemail',
      reason: 'full',
    });
    expect(await rig.queues.get('C3')).toBeUndefined();
    expect(shape(await rig.logged()).at(-1)).toEqual({
      type: 'voicemail',
      queue: 'support',
      callSid: 'C3',
      reason: 'full',
    });
    // Room again once someone leaves.
    await rig.flow.callerEnded('C1', callers.C1);
    expect(await rig.flow.join('C3', callers.C3, 'AC1', 'support')).toMatchObject({
      kind: 'queued',
      position: 2,
    });
  });
});

import type { FakeTelnyxApi } from './fake-telnyx-api.js';
import type { QueueScript } from './queue-wait.js';
import { type InboundScript, playInbound, playOutbound, type ScenarioResult } from './scenarios.js';
import type { TelnyxPlayer } from './telnyx-player.js';

/**
 * The queue scenarios of `npm run simulate` (docs/interface.md §5, §7), played against a running
 * Switchboard whose flow is: inbound → nobody free → `<Enqueue waitUrl=… action=…>`; the wait
 * document plays hold music, says the caller's position and wait, offers a callback with a
 * `<Gather>`; a freed agent gets the longest-waiting caller, moved out of the queue with the
 * call-update API (or `<Leave/>` on the next wait document); callbacks are placed as
 * click-to-call through the Telnyx API this tool plays.
 *
 * To keep every agent busy, a scenario calls in until a caller is queued: each earlier call is
 * answered and stays on the line until the scenario lets that agent hang up.
 */

export interface AgentView {
  id: string;
  name?: string;
  status: string;
  reason?: string;
  state: string;
}

export interface QueueRunContext {
  player: TelnyxPlayer;
  telnyx: FakeTelnyxApi;
  /** A new caller number for each call. */
  newCaller: () => string;
  /** The agents as the server sees them (`GET /api/queues`), when the admin token is known. */
  agents?: () => Promise<AgentView[] | undefined>;
  /** Prints one line as it happens. */
  log: (line: string) => void;
  /** Real seconds to wait for the server (an agent freed, a callback placed) before giving up. */
  patienceSeconds?: number;
  /** Real seconds every agent stays busy once a caller is queued (default 20). */
  busySeconds?: number;
}

export interface QueueRun {
  /** The call the scenario is about. */
  callSid: string;
  /** What happened, in a call-center person's words. */
  outcome: string;
}

interface Blocker {
  agent: string;
  from: string;
  release: () => void;
  done: Promise<ScenarioResult>;
}

/** The callback scenario's caller hangs up after this long when no callback is offered. */
const CALLBACK_PATIENCE_SECONDS = 120;
const sipUser = (uri: string): string => /^sips?:([^@;]+)/.exec(uri)?.[1] ?? uri;
const MAX_AGENTS = 25;

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

async function within<T>(what: string, seconds: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${seconds} s`)), seconds * 1000);
  });
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Calls in until one caller is queued. Returns the queued caller's run and the busy agents'
 * calls; throws when a call ends without being answered or queued (voicemail: the queue is
 * closed, or no agent is signed in).
 */
async function fillAndQueue(
  ctx: QueueRunContext,
  script: InboundScript,
): Promise<{ caller: string; run: Promise<ScenarioResult>; blockers: Blocker[] }> {
  const blockers: Blocker[] = [];
  for (let i = 0; i < MAX_AGENTS; i++) {
    const from = ctx.newCaller();
    const release = deferred();
    const seen = deferred<{ kind: 'answered'; agent: string } | { kind: 'queued' } | { kind: 'ended' }>();
    const run = playInbound(ctx.player, {
      answerInRound: 1,
      answerAfter: 4,
      talkSeconds: 60,
      ...script,
      from,
      hold: release.promise,
      onAnswered: (agent) => seen.resolve({ kind: 'answered', agent }),
      onEnqueued: () => seen.resolve({ kind: 'queued' }),
    }).finally(() => seen.resolve({ kind: 'ended' }));
    const what = await seen.promise;
    if (what.kind === 'answered') {
      ctx.log(`busy: ${sipUser(what.agent)} is talking to ${from}`);
      blockers.push({ agent: sipUser(what.agent), from, release: () => release.resolve(), done: run });
      continue;
    }
    if (what.kind === 'queued') {
      ctx.log(`${from} calls: every agent is busy, so the call waits in the queue`);
      return { caller: from, run, blockers };
    }
    for (const b of blockers) b.release();
    const result = await run;
    throw new Error(
      `call from ${from} ended without being answered or queued (${result.story.at(-1) ?? 'voicemail?'}): ` +
        'is the queue open, with agents signed in?',
    );
  }
  throw new Error(`${MAX_AGENTS} calls answered and nobody queued: too many agents for this scenario`);
}

async function releaseAll(blockers: Blocker[]): Promise<void> {
  for (const b of blockers) b.release();
  await Promise.all(blockers.map((b) => b.done));
}

function tell(ctx: QueueRunContext, result: ScenarioResult): void {
  for (const line of result.story) ctx.log(`  ${line}`);
}

/** All agents busy; a caller waits, hears its place, and is connected when an agent frees up. */
async function queued(ctx: QueueRunContext): Promise<QueueRun> {
  const { run, blockers } = await fillAndQueue(ctx, { answerAfter: 5, talkSeconds: 75 });
  let result: ScenarioResult;
  try {
    await sleep(ctx.busySeconds ?? 20);
    const first = blockers[0];
    if (first) {
      ctx.log(`${first.agent} hangs up with ${first.from}; after wrap-up ${first.agent} is free again`);
      first.release();
    }
    result = await within('waiting for an agent', ctx.patienceSeconds ?? 180, run);
  } finally {
    // Also when the server never connects: the agents' calls end rather than stay "on a call".
    await releaseAll(blockers);
  }
  tell(ctx, result);
  const stay = result.queueStays.at(-1);
  const agent = result.rounds.at(-1)?.[0];
  const outcome =
    result.answeredAfterQueueSeconds !== undefined && agent
      ? `connected to ${sipUser(agent)} after ${result.answeredAfterQueueSeconds} s in queue`
      : `not connected (${stay?.kind === 'ended' ? `ended by the ${stay.by}` : 'left the queue'} after ${stay?.waited ?? '?'} s)`;
  return { callSid: result.callSid, outcome };
}

/** The caller presses 1 for a callback, hangs up, and is called back when an agent frees up. */
async function callback(ctx: QueueRunContext): Promise<QueueRun> {
  // A caller offered no callback (the server does not offer them) gives up after two minutes.
  const queue: QueueScript = { press: { digit: '1' }, hangUpAfter: CALLBACK_PATIENCE_SECONDS };
  const { caller, run, blockers } = await fillAndQueue(ctx, { queue });
  let result: ScenarioResult;
  try {
    result = await within('the callback offer', ctx.patienceSeconds ?? 180, run);
  } catch (err) {
    await releaseAll(blockers);
    throw err;
  }
  tell(ctx, result);
  if (!result.story.some((l) => l.startsWith('pressed 1'))) {
    await releaseAll(blockers);
    return { callSid: result.callSid, outcome: 'no callback was offered while waiting' };
  }
  const from = ctx.telnyx.texmlCalls.length;
  const first = blockers[0];
  if (first) {
    ctx.log(`${first.agent} hangs up with ${first.from}; after wrap-up ${first.agent} is free again`);
    first.release();
  }
  const placed = await within(
    'the callback',
    ctx.patienceSeconds ?? 180,
    ctx.telnyx.waitForCreatedCall(() => true, { from, timeoutMs: (ctx.patienceSeconds ?? 180) * 1000 }),
  );
  ctx.log(`Switchboard calls back: first ${sipUser(String(placed.body.To))}, then ${caller}`);
  const back = await playOutbound(ctx.player, {
    callSid: placed.callSid,
    agentSip: String(placed.body.To),
    url: String(placed.body.Url),
    hotline: String(placed.body.From),
    talkSeconds: 42,
  });
  tell(ctx, back);
  await releaseAll(blockers);
  const reached = back.rounds[0]?.[0];
  return {
    callSid: result.callSid,
    outcome: reached
      ? `called back: ${sipUser(String(placed.body.To))} answered, then ${reached} (talked 42 s)`
      : 'a callback was placed but dialled nobody',
  };
}

/** The caller hangs up after 40 s in line. */
async function queueAbandon(ctx: QueueRunContext): Promise<QueueRun> {
  const { run, blockers } = await fillAndQueue(ctx, { queue: { hangUpAfter: 40 } });
  const result = await within('the caller hanging up', ctx.patienceSeconds ?? 180, run);
  tell(ctx, result);
  await releaseAll(blockers);
  const stay = result.queueStays.at(-1);
  return {
    callSid: result.callSid,
    outcome:
      stay?.kind === 'ended' && stay.by === 'caller'
        ? `abandoned in queue after ${stay.waited} s`
        : `did not abandon: ${result.story.at(-1) ?? 'unknown'}`,
  };
}

/** An agent lets three offers ring out and is put on break (docs/interface.md §5). */
async function noAnswerPause(ctx: QueueRunContext): Promise<QueueRun> {
  const ringOuts = new Map<string, number>();
  let last: ScenarioResult | undefined;
  for (let call = 1; call <= 6 && ![...ringOuts.values()].some((n) => n >= 3); call++) {
    const from = ctx.newCaller();
    ctx.log(`call ${call} from ${from}: nobody picks up`);
    // Back in the queue after a ring-out, the caller gives up after 20 s.
    last = await within(
      `call ${call}`,
      ctx.patienceSeconds ?? 180,
      playInbound(ctx.player, { from, voicemailSeconds: 0, queue: { hangUpAfter: 20 } }),
    );
    tell(ctx, last);
    for (const round of last.rounds) {
      for (const uri of round) ringOuts.set(sipUser(uri), (ringOuts.get(sipUser(uri)) ?? 0) + 1);
    }
  }
  const counted = [...ringOuts.entries()].map(([agent, n]) => `${agent} ${n}`).join(', ');
  const agents = await ctx.agents?.();
  const paused = agents?.filter((a) => a.status === 'break' && a.reason === 'no-answer') ?? [];
  const view = agents
    ? paused.length
      ? `; on break (no-answer): ${paused.map((a) => a.name ?? a.id).join(', ')}`
      : '; nobody is on break yet'
    : '';
  return { callSid: last?.callSid ?? '', outcome: `offers rung out: ${counted || 'none'}${view}` };
}

export const QUEUE_SCENARIOS: Record<
  string,
  { describe: string; run: (ctx: QueueRunContext) => Promise<QueueRun> }
> = {
  queued: {
    describe: 'every agent busy: a caller waits, hears its place, is connected when an agent frees up',
    run: queued,
  },
  callback: {
    describe: 'every agent busy: the caller presses 1, hangs up, and is called back',
    run: callback,
  },
  'queue-abandon': {
    describe: 'every agent busy: the caller hangs up after 40 s in the queue',
    run: queueAbandon,
  },
  'no-answer-pause': {
    describe: 'nobody picks up: after three ring-outs an agent is put on break',
    run: noAnswerPause,
  },
};

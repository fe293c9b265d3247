import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { agentMetricState, createMetrics, type MetricsSources } from '../../src/metrics/metrics.js';
import metricsPlugin from '../../src/metrics/metrics-plugin.js';
import { computeStats } from '../../src/stats/call-stats.js';
import { record } from '../records/call-record-store-suite.js';

const T = Date.parse('2026-11-19T09:00:00Z');

/** The sample lines of one metric family, without HELP/TYPE. */
const samples = (text: string, name: string): string[] =>
  text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));

describe('metrics', () => {
  const apps: FastifyInstance[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  async function serve(sources: MetricsSources = {}, sourceTimeoutMs?: number) {
    const metrics = createMetrics(sources, { sourceTimeoutMs });
    const app = Fastify();
    apps.push(app);
    await app.register(metricsPlugin, { metrics, defaultMetrics: false });
    app.get('/api/calls/:callSid', async (req, reply) =>
      (req.params as { callSid: string }).callSid === 'missing' ? reply.code(404).send({}) : { ok: true },
    );
    app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));
    await app.ready();
    const scrape = async () => {
      const res = await app.inject('/metrics');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      return res.body;
    };
    return { app, metrics, scrape };
  }

  it('counts calls by direction and outcome, with wait and talk histograms', async () => {
    const { metrics, scrape } = await serve();
    metrics.observeCall(record('c1', T, { waitSeconds: 12, talkSeconds: 300 }));
    metrics.observeCall(record('c2', T, { waitSeconds: 20, talkSeconds: 61 }));
    metrics.observeCall(record('c3', T, { outcome: 'abandoned', waitSeconds: 33, talkSeconds: 0 }));
    metrics.observeCall(record('c4', T, { direction: 'outbound', waitSeconds: 0, talkSeconds: 90 }));
    metrics.observeCall(record('c5', T, { outcome: 'failed', waitSeconds: 0, talkSeconds: 0 }));
    const text = await scrape();

    expect(samples(text, 'switchboard_calls_total').sort()).toEqual(
      [
        'switchboard_calls_total{direction="inbound",outcome="answered"} 2',
        'switchboard_calls_total{direction="inbound",outcome="abandoned"} 1',
        'switchboard_calls_total{direction="inbound",outcome="failed"} 1',
        'switchboard_calls_total{direction="outbound",outcome="answered"} 1',
      ].sort(),
    );
    const wait = samples(text, 'switchboard_call_wait_seconds_bucket');
    expect(wait).toContain('switchboard_call_wait_seconds_bucket{le="15",outcome="answered"} 1');
    expect(wait).toContain('switchboard_call_wait_seconds_bucket{le="20",outcome="answered"} 2');
    expect(wait).toContain('switchboard_call_wait_seconds_bucket{le="30",outcome="abandoned"} 0');
    expect(wait).toContain('switchboard_call_wait_seconds_bucket{le="45",outcome="abandoned"} 1');
    expect(wait.some((l) => l.includes('outcome="failed"'))).toBe(false);
    expect(text).toContain('switchboard_call_wait_seconds_sum{outcome="answered"} 32');
    expect(text).toContain('switchboard_call_wait_seconds_count{outcome="answered"} 2');
    expect(text).toContain('switchboard_call_talk_seconds_bucket{le="60",direction="inbound"} 0');
    expect(text).toContain('switchboard_call_talk_seconds_bucket{le="120",direction="inbound"} 1');
    expect(text).toContain('switchboard_call_talk_seconds_sum{direction="inbound"} 361');
    expect(text).toContain('switchboard_call_talk_seconds_count{direction="outbound"} 1');
  });

  it('labels inbound calls and their wait with the queue of the call; outbound calls have none', async () => {
    const metrics = createMetrics();
    metrics.observeCall(record('q1', T, { waitSeconds: 8, queue: 'sales' }));
    metrics.observeCall(record('q2', T, { outcome: 'voicemail', waitSeconds: 4, queue: 'support' }));
    metrics.observeCall(record('q3', T, { direction: 'outbound', waitSeconds: 0 }));
    const text = await metrics.registry.metrics();
    expect(samples(text, 'switchboard_calls_total').sort()).toEqual([
      'switchboard_calls_total{direction="inbound",outcome="answered",queue="sales"} 1',
      'switchboard_calls_total{direction="inbound",outcome="voicemail",queue="support"} 1',
      'switchboard_calls_total{direction="outbound",outcome="answered"} 1',
    ]);
    expect(text).toContain(
      'switchboard_call_wait_seconds_bucket{le="10",outcome="answered",queue="sales"} 1',
    );
    expect(text).toContain('switchboard_call_wait_seconds_count{outcome="voicemail",queue="support"} 1');
  });

  it('counts short abandons apart from abandoned, exactly as /api/stats does', async () => {
    const metrics = createMetrics({}, { shortAbandonSeconds: 5 });
    const records = [
      record('a1', T, { outcome: 'abandoned', waitSeconds: 3, talkSeconds: 0 }),
      record('a2', T, { outcome: 'abandoned', waitSeconds: 5, talkSeconds: 0 }),
      record('a3', T, { outcome: 'abandoned', waitSeconds: 33, talkSeconds: 0 }),
    ];
    for (const r of records) metrics.observeCall(r);
    const text = await metrics.registry.metrics();
    expect(samples(text, 'switchboard_calls_total').sort()).toEqual([
      'switchboard_calls_total{direction="inbound",outcome="abandoned"} 2',
      'switchboard_calls_total{direction="inbound",outcome="short_abandoned"} 1',
    ]);
    expect(text).toContain('switchboard_call_wait_seconds_count{outcome="short_abandoned"} 1');
    const stats = computeStats(records, {
      date: '2026-11-19',
      timeZone: 'UTC',
      serviceLevelSeconds: 20,
      shortAbandonSeconds: 5,
    });
    expect({ abandoned: stats.abandoned, shortAbandoned: stats.shortAbandoned }).toEqual({
      abandoned: 2,
      shortAbandoned: 1,
    });
  });

  it('reads gauges from their sources at scrape time', async () => {
    let active = 3;
    let failures = 0;
    const { scrape } = await serve({
      activeCalls: () => active,
      agentsOnline: async () => 5,
      outboxDepth: async () => 7,
      slackFailures: () => failures,
      jobs: async () => [
        { job: 'roster-sync', lastSuccessAt: '2026-11-19T09:00:00.000Z' },
        { job: 'balance-check' },
      ],
    });
    let text = await scrape();
    expect(samples(text, 'switchboard_active_calls')).toEqual(['switchboard_active_calls 3']);
    expect(samples(text, 'switchboard_agents_online')).toEqual(['switchboard_agents_online 5']);
    expect(samples(text, 'switchboard_slack_outbox_depth')).toEqual(['switchboard_slack_outbox_depth 7']);
    expect(samples(text, 'switchboard_slack_failures_total')).toEqual(['switchboard_slack_failures_total 0']);
    expect(samples(text, 'switchboard_job_last_success_timestamp_seconds')).toEqual([
      `switchboard_job_last_success_timestamp_seconds{job_name="roster-sync"} ${T / 1000}`,
    ]);

    active = 1;
    failures = 2;
    text = await scrape();
    expect(samples(text, 'switchboard_active_calls')).toEqual(['switchboard_active_calls 1']);
    expect(samples(text, 'switchboard_slack_failures_total')).toEqual(['switchboard_slack_failures_total 2']);
    failures = 3;
    expect(samples(await scrape(), 'switchboard_slack_failures_total')).toEqual([
      'switchboard_slack_failures_total 3',
    ]);
  });

  it('exports per-queue gauges from one read of the stores per scrape, every state of a queue', async () => {
    let reads = 0;
    let values = [
      { queue: 'support', waiting: 3, longestWaitSeconds: 95, agents: { idle: 1, 'on-call': 2, break: 1 } },
      { queue: 'sales', waiting: 0, longestWaitSeconds: 0, agents: {} },
    ];
    const { scrape } = await serve({
      queues: async () => {
        reads++;
        return values;
      },
    });
    let text = await scrape();
    expect(reads).toBe(1);
    expect(samples(text, 'switchboard_queue_waiting')).toEqual([
      'switchboard_queue_waiting{queue="support"} 3',
      'switchboard_queue_waiting{queue="sales"} 0',
    ]);
    expect(samples(text, 'switchboard_queue_longest_wait_seconds')).toEqual([
      'switchboard_queue_longest_wait_seconds{queue="support"} 95',
      'switchboard_queue_longest_wait_seconds{queue="sales"} 0',
    ]);
    const agents = samples(text, 'switchboard_agents');
    expect(agents).toHaveLength(12);
    expect(agents).toEqual(
      expect.arrayContaining([
        'switchboard_agents{queue="support",state="idle"} 1',
        'switchboard_agents{queue="support",state="on-call"} 2',
        'switchboard_agents{queue="support",state="break"} 1',
        'switchboard_agents{queue="support",state="wrap-up"} 0',
        'switchboard_agents{queue="sales",state="offline"} 0',
      ]),
    );
    // a queue taken out of the configuration disappears at the next scrape
    values = [values[0]!];
    text = await scrape();
    expect(reads).toBe(2);
    expect(samples(text, 'switchboard_queue_waiting')).toEqual([
      'switchboard_queue_waiting{queue="support"} 3',
    ]);
  });

  it('maps status and activity onto one agent state label', () => {
    expect(agentMetricState('available', 'idle')).toBe('idle');
    expect(agentMetricState('break', 'idle')).toBe('break');
    expect(agentMetricState('offline', 'idle')).toBe('offline');
    expect(agentMetricState('break', 'on-call')).toBe('on-call');
    expect(agentMetricState('available', 'wrap-up')).toBe('wrap-up');
    expect(agentMetricState('available', 'offered')).toBe('offered');
  });

  it('counts folded Slack alerts by kind and how, from the outbox counters', async () => {
    const folded = {
      superseded: { incoming: 2 } as Record<string, number>,
      summarized: {} as Record<string, number>,
    };
    const { scrape } = await serve({ slackFolded: () => folded });
    expect(samples(await scrape(), 'switchboard_slack_folded_total')).toEqual([
      'switchboard_slack_folded_total{kind="incoming",how="superseded"} 2',
    ]);
    folded.superseded.incoming = 5;
    folded.summarized.incoming = 300;
    folded.summarized.completed = 12;
    expect(samples(await scrape(), 'switchboard_slack_folded_total').sort()).toEqual([
      'switchboard_slack_folded_total{kind="completed",how="summarized"} 12',
      'switchboard_slack_folded_total{kind="incoming",how="summarized"} 300',
      'switchboard_slack_folded_total{kind="incoming",how="superseded"} 5',
    ]);
  });

  it('keeps the last value when a source fails or hangs, and still answers', async () => {
    let mode: 'ok' | 'fail' | 'hang' = 'ok';
    const { scrape } = await serve(
      {
        outboxDepth: () => {
          if (mode === 'fail') throw new Error('redis down');
          if (mode === 'hang') return new Promise<number>(() => {});
          return 4;
        },
      },
      50,
    );
    expect(samples(await scrape(), 'switchboard_slack_outbox_depth')).toEqual([
      'switchboard_slack_outbox_depth 4',
    ]);
    mode = 'fail';
    expect(samples(await scrape(), 'switchboard_slack_outbox_depth')).toEqual([
      'switchboard_slack_outbox_depth 4',
    ]);
    mode = 'hang';
    expect(samples(await scrape(), 'switchboard_slack_outbox_depth')).toEqual([
      'switchboard_slack_outbox_depth 4',
    ]);
  });

  it('records HTTP latency per route template and status, not per URL; /metrics itself is not counted', async () => {
    const { app, scrape } = await serve();
    await app.inject('/api/calls/v3:abc');
    await app.inject('/api/calls/v3:def');
    await app.inject('/api/calls/missing');
    await app.inject('/healthz');
    await app.inject('/no/such/route');
    await scrape();
    const text = await scrape();
    const counts = samples(text, 'http_request_duration_seconds_count');
    expect(counts.sort()).toEqual(
      [
        'http_request_duration_seconds_count{method="GET",route="/api/calls/:callSid",status_code="200"} 2',
        'http_request_duration_seconds_count{method="GET",route="/api/calls/:callSid",status_code="404"} 1',
        'http_request_duration_seconds_count{method="GET",route="/healthz",status_code="200"} 1',
      ].sort(),
    );
    expect(text).not.toContain('v3:abc');
    expect(text).not.toContain('http_request_summary_seconds');
  });

  it('two apps in one process keep separate registries', async () => {
    const a = await serve();
    const b = await serve();
    a.metrics.observeCall(record('x', T));
    expect(samples(await a.scrape(), 'switchboard_calls_total')).toHaveLength(1);
    expect(samples(await b.scrape(), 'switchboard_calls_total')).toHaveLength(0);
  });

  it('exports Node.js process metrics when asked', async () => {
    const metrics = createMetrics();
    const app = Fastify();
    apps.push(app);
    await app.register(metricsPlugin, { metrics });
    const text = (await app.inject('/metrics')).body;
    expect(text).toContain('process_cpu_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });
});

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AgentActivity } from '../agents/agent-state.js';
import type { AgentStatus } from '../events/call-center-event.js';
import type { CallRecord } from '../records/call-record.js';
import { isShortAbandon } from '../stats/call-stats.js';
import { withTimeout } from '../with-timeout.js';

/** A value read at scrape time; may be async (Redis), may fail (then the last value stays). */
type Source<T> = () => T | Promise<T>;

export interface MetricsSources {
  /** Calls in progress (`calls.activeCount()`: one count, not a read per call). */
  activeCalls?: Source<number>;
  /** Agents online at the last presence check. */
  agentsOnline?: Source<number>;
  /** Slack messages waiting in the outbox (`outbox.depth()`). */
  outboxDepth?: Source<number>;
  /**
   * Slack messages refused for good by this process so far (`outbox.counters().failed`): a
   * monotonic count, exported as the counter `switchboard_slack_failures_total`.
   */
  slackFailures?: () => number;
  /**
   * Slack alerts this process did not post on their own, by alert type (`outbox.counters()`):
   * `superseded` (folded into a later alert of the same call) and `summarized` (counted into a
   * backlog summary). Monotonic; exported as `switchboard_slack_folded_total{kind,how}`.
   */
  slackFolded?: () => { superseded: Record<string, number>; summarized: Record<string, number> };
  /** Each scheduled job and the ISO time of its last success (`JobStore.getHealth`). */
  jobs?: Source<ReadonlyArray<{ job: string; lastSuccessAt?: string }>>;
  /**
   * Each configured queue (names from configuration, never from requests: the label set stays
   * bounded): callers waiting, the longest wait, and its agents counted by `agentMetricState`.
   * Read once per scrape (the queue store's `summaries` and one `getMany` of agent states).
   */
  queues?: Source<ReadonlyArray<QueueGaugeValues>>;
}

export interface QueueGaugeValues {
  queue: string;
  waiting: number;
  longestWaitSeconds: number;
  agents: Partial<Record<AgentMetricState, number>>;
}

/**
 * The `state` label of `switchboard_agents`: what the agent is doing, one fixed value each, so the
 * states of a queue add up to its agents. Working (offered a call, on a call, in wrap-up) wins
 * over the status (an agent who went on break mid-call is still on the call); an idle agent is
 * `idle` when available, else its status (`break`, `offline`).
 */
export type AgentMetricState = 'idle' | 'offered' | 'on-call' | 'wrap-up' | 'break' | 'offline';
export const AGENT_METRIC_STATES: readonly AgentMetricState[] = [
  'idle',
  'offered',
  'on-call',
  'wrap-up',
  'break',
  'offline',
];

export function agentMetricState(status: AgentStatus, activity: AgentActivity): AgentMetricState {
  if (activity !== 'idle') return activity;
  return status === 'available' ? 'idle' : status;
}

export interface MetricsOptions {
  /** Longest a scrape waits on one source before reporting its last value (default 1 s). */
  sourceTimeoutMs?: number;
  /**
   * SHORT_ABANDON_SECONDS (default 5): abandoned calls that waited less are counted under
   * `outcome="short_abandoned"`, apart from `abandoned`, as `/api/stats` reports them.
   */
  shortAbandonSeconds?: number;
}

export interface Metrics {
  /** Everything Switchboard exports; `/metrics` serves it (HTTP and Node metrics included). */
  registry: Registry;
  /** Counts one finished call; call it once per call (after the record store accepted it). */
  observeCall(record: CallRecord): void;
  calls: Counter<'direction' | 'outcome' | 'queue'>;
  waitSeconds: Histogram<'outcome' | 'queue'>;
  talkSeconds: Histogram<'direction'>;
  activeCalls: Gauge;
  agentsOnline: Gauge;
  slackOutboxDepth: Gauge;
  slackFailures: Counter;
  slackFolded: Counter<'kind' | 'how'>;
  jobLastSuccess: Gauge<'job_name'>;
  /** Unsigned /texml/inbound requests accepted under TELNYX_UNSIGNED_INBOUND=allow. */
  unsignedInbound: Counter;
  queueWaiting: Gauge<'queue'>;
  queueLongestWait: Gauge<'queue'>;
  agents: Gauge<'queue' | 'state'>;
}

/** Ring rounds are 20 s by default; the buckets put the service-level target (20 s) on an edge. */
export const WAIT_BUCKETS = [5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600];
export const TALK_BUCKETS = [15, 30, 60, 120, 180, 300, 600, 900, 1800, 3600, 7200];

function read<T>(source: Source<T>, timeoutMs: number): Promise<T> {
  return withTimeout(source, timeoutMs, 'metric source timed out');
}

/**
 * The Switchboard metrics on a registry of their own (never prom-client's global one, so several
 * apps in one process, as in tests, do not collide). Counters and histograms are updated when a
 * call is recorded; gauges read their sources only when Prometheus scrapes, so nothing is
 * computed on the call path.
 */
export function createMetrics(sources: MetricsSources = {}, options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const timeoutMs = options.sourceTimeoutMs ?? 1_000;
  const shortAbandonSeconds = options.shortAbandonSeconds ?? 5;

  const gaugeFrom = (name: string, help: string, source: Source<number> | undefined): Gauge =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        if (!source) return;
        try {
          const value = await read(source, timeoutMs);
          if (Number.isFinite(value)) this.set(value);
        } catch {
          // The store is unreachable: keep the last value; /readyz reports the outage.
        }
      },
    });

  const calls = new Counter({
    name: 'switchboard_calls_total',
    help: 'Finished calls by direction, outcome (answered, missed, abandoned, short_abandoned, voicemail, failed) and queue (inbound calls; names from the call-center file)',
    labelNames: ['direction', 'outcome', 'queue'] as const,
    registers: [registry],
  });
  const waitSeconds = new Histogram({
    name: 'switchboard_call_wait_seconds',
    help: 'Inbound callers: seconds from the start of the call to answer, voicemail or hang-up, by outcome and queue',
    labelNames: ['outcome', 'queue'] as const,
    buckets: WAIT_BUCKETS,
    registers: [registry],
  });
  const talkSeconds = new Histogram({
    name: 'switchboard_call_talk_seconds',
    help: 'Answered calls: seconds from answer to hang-up, by direction',
    labelNames: ['direction'] as const,
    buckets: TALK_BUCKETS,
    registers: [registry],
  });
  const activeCalls = gaugeFrom('switchboard_active_calls', 'Calls in progress', sources.activeCalls);
  const agentsOnline = gaugeFrom(
    'switchboard_agents_online',
    'Agents online at the last presence check',
    sources.agentsOnline,
  );
  const slackOutboxDepth = gaugeFrom(
    'switchboard_slack_outbox_depth',
    'Slack messages waiting in the outbox',
    sources.outboxDepth,
  );

  let failuresSeen = 0;
  const slackFailures = new Counter({
    name: 'switchboard_slack_failures_total',
    help: 'Slack messages refused for good (dead-lettered) by this process',
    registers: [registry],
    collect() {
      const total = sources.slackFailures?.() ?? failuresSeen;
      if (total > failuresSeen) this.inc(total - failuresSeen);
      failuresSeen = Math.max(failuresSeen, total);
    },
  });

  const foldedSeen = new Map<string, number>();
  const slackFolded = new Counter({
    name: 'switchboard_slack_folded_total',
    help: 'Slack alerts not posted on their own by this process, by alert type (kind) and how: superseded (folded into a later alert of the same call) or summarized (counted into a backlog summary)',
    labelNames: ['kind', 'how'] as const,
    registers: [registry],
    collect() {
      const totals = sources.slackFolded?.();
      if (!totals) return;
      for (const how of ['superseded', 'summarized'] as const) {
        for (const [kind, total] of Object.entries(totals[how])) {
          const id = `${how}|${kind}`;
          const seen = foldedSeen.get(id) ?? 0;
          if (total > seen) this.inc({ kind, how }, total - seen);
          foldedSeen.set(id, Math.max(seen, total));
        }
      }
    },
  });

  // The label is `job_name`, not `job`: Prometheus owns `job` (the scrape job) and would rename
  // ours to `exported_job` (https://prometheus.io/docs/prometheus/latest/configuration/configuration/#scrape_config, honor_labels).
  const jobLastSuccess = new Gauge({
    name: 'switchboard_job_last_success_timestamp_seconds',
    help: 'Unix time of the last successful run of each scheduled job (label job_name)',
    labelNames: ['job_name'] as const,
    registers: [registry],
    async collect() {
      if (!sources.jobs) return;
      try {
        for (const { job, lastSuccessAt } of await read(sources.jobs, timeoutMs)) {
          const ms = lastSuccessAt ? Date.parse(lastSuccessAt) : Number.NaN;
          if (Number.isFinite(ms)) this.set({ job_name: job }, ms / 1000);
        }
      } catch {
        // Keep the last values.
      }
    },
  });

  // The three queue gauges come from one read of the stores per scrape: prom-client collects every
  // metric of a scrape at once (Registry.metrics), so they share the read in flight.
  let queueRead: Promise<ReadonlyArray<QueueGaugeValues> | undefined> | undefined;
  const readQueues = (): Promise<ReadonlyArray<QueueGaugeValues> | undefined> => {
    const source = sources.queues;
    if (!source) return Promise.resolve(undefined);
    queueRead ??= read(source, timeoutMs)
      .catch(() => undefined) // unreachable store: keep the last values
      .finally(() => {
        queueRead = undefined;
      });
    return queueRead;
  };
  const queueWaiting = new Gauge({
    name: 'switchboard_queue_waiting',
    help: 'Callers waiting in each queue, callbacks included',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      const queues = await readQueues();
      if (!queues) return;
      this.reset();
      for (const q of queues) this.set({ queue: q.queue }, q.waiting);
    },
  });
  const queueLongestWait = new Gauge({
    name: 'switchboard_queue_longest_wait_seconds',
    help: 'Seconds the longest-waiting caller of each queue has waited (0 when nobody waits)',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      const queues = await readQueues();
      if (!queues) return;
      this.reset();
      for (const q of queues) this.set({ queue: q.queue }, q.longestWaitSeconds);
    },
  });
  const agents = new Gauge({
    name: 'switchboard_agents',
    help: 'Agents of each queue by state: idle, offered, on-call, wrap-up (working, whatever the status), or break / offline when not working',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      const queues = await readQueues();
      if (!queues) return;
      this.reset();
      for (const q of queues) {
        for (const state of AGENT_METRIC_STATES) this.set({ queue: q.queue, state }, q.agents[state] ?? 0);
      }
    },
  });

  const unsignedInbound = new Counter({
    name: 'switchboard_texml_unsigned_inbound_total',
    help: 'Unsigned /texml/inbound requests accepted because TELNYX_UNSIGNED_INBOUND=allow',
    registers: [registry],
  });

  return {
    registry,
    unsignedInbound,
    queueWaiting,
    queueLongestWait,
    agents,
    calls,
    waitSeconds,
    talkSeconds,
    activeCalls,
    agentsOnline,
    slackOutboxDepth,
    slackFailures,
    slackFolded,
    jobLastSuccess,
    observeCall(record) {
      // Same words as /api/stats: a short abandon is not an abandoned call.
      const outcome = isShortAbandon(record, shortAbandonSeconds) ? 'short_abandoned' : record.outcome;
      // The queue comes from the call-center file (via the call state), never from a request, so
      // the label set stays bounded; outbound calls have none.
      const queue = record.queue ? { queue: record.queue } : {};
      calls.inc({ direction: record.direction, outcome, ...queue });
      if (record.direction === 'inbound' && record.outcome !== 'failed') {
        waitSeconds.observe({ outcome, ...queue }, record.waitSeconds);
      }
      if (record.outcome === 'answered')
        talkSeconds.observe({ direction: record.direction }, record.talkSeconds);
    },
  };
}

import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/metrics.js';
import metricsPlugin from '../../src/metrics/metrics-plugin.js';
import { CALL_OUTCOMES } from '../../src/records/call-record.js';
import { record } from '../records/call-record-store-suite.js';

interface Target {
  refId: string;
  expr: string;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
}

const dashboard = JSON.parse(
  readFileSync(new URL('../../helm/switchboard/dashboards/switchboard.json', import.meta.url), 'utf8'),
) as {
  schemaVersion: number;
  uid: string;
  __inputs: Array<{ name: string; pluginId: string }>;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; definition?: string }> };
};

/** What /metrics exports once every series has a sample: family → label names. */
async function exportedFamilies(): Promise<Map<string, Set<string>>> {
  const metrics = createMetrics({
    activeCalls: () => 1,
    agentsOnline: () => 1,
    outboxDepth: () => 1,
    slackFailures: () => 1,
    jobs: () => [{ job: 'roster-sync', lastSuccessAt: new Date().toISOString() }],
    queues: () => [{ queue: 'support', waiting: 1, longestWaitSeconds: 30, agents: { idle: 1 } }],
  });
  for (const outcome of CALL_OUTCOMES) {
    metrics.observeCall(record(`in-${outcome}`, Date.now(), { outcome, queue: 'support' }));
    metrics.observeCall(record(`out-${outcome}`, Date.now(), { outcome, direction: 'outbound' }));
  }
  const app = Fastify();
  await app.register(metricsPlugin, { metrics, defaultMetrics: false });
  app.get('/x', async () => 'x');
  await app.inject('/x');
  const text = (await app.inject('/metrics')).body;
  await app.close();

  const families = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line);
    if (!m || line.startsWith('#')) continue;
    const labels = families.get(m[1]!) ?? new Set<string>();
    for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="/g)) labels.add(pair[1]!);
    families.set(m[1]!, labels);
  }
  return families;
}

/** Grafana's placeholder for the data source chosen at import (not a JavaScript template). */
const DS_PLACEHOLDER = ['$', '{DS_PROMETHEUS}'].join('');

const exprs = (): Array<{ panel: string; expr: string }> =>
  dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

describe('Grafana dashboard (helm/switchboard/dashboards/switchboard.json)', () => {
  it('is a schema-39 dashboard whose every panel and query uses the DS_PROMETHEUS data source', () => {
    expect(dashboard.schemaVersion).toBe(39);
    expect(dashboard.uid).toBe('switchboard');
    expect(dashboard.__inputs).toEqual([
      expect.objectContaining({ name: 'DS_PROMETHEUS', pluginId: 'prometheus' }),
    ]);
    // A datasource variable of the same name makes the placeholder resolve when the Helm chart's
    // ConfigMap is provisioned by the Grafana sidecar (which does not fill in __inputs).
    expect(dashboard.templating.list.find((v) => v.name === 'DS_PROMETHEUS')?.type).toBe('datasource');
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
      if (panel.type === 'row') continue;
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: DS_PLACEHOLDER });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const t of panel.targets ?? []) expect(t.datasource, panel.title).toEqual(panel.datasource);
    }
  });

  it('queries only metrics and labels that /metrics exports', async () => {
    const families = await exportedFamilies();
    // `job` and `instance` are added by Prometheus at scrape time.
    const scrapeLabels = new Set(['job', 'instance']);
    const queries = [
      ...exprs(),
      ...dashboard.templating.list.flatMap((v) =>
        v.definition ? [{ panel: v.name, expr: v.definition }] : [],
      ),
    ];
    for (const { panel, expr } of queries) {
      const used = [...expr.matchAll(/\b(switchboard_\w+|http_request_\w+)(\{[^}]*\})?/g)];
      expect(used.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      const labelsOfExpr = new Set<string>(scrapeLabels);
      for (const [, name, selector] of used) {
        const labels = families.get(name!);
        expect(labels, `${panel}: ${name} is not exported`).toBeDefined();
        for (const l of labels ?? []) labelsOfExpr.add(l);
        for (const [, label] of (selector ?? '').matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) {
          expect(
            labels?.has(label!) || scrapeLabels.has(label!),
            `${panel}: ${name} has no label ${label}`,
          ).toBe(true);
        }
      }
      for (const [, list] of expr.matchAll(/\bby \(([^)]*)\)/g)) {
        for (const label of list!.split(',').map((s) => s.trim())) {
          expect(labelsOfExpr.has(label), `${panel}: grouped by unknown label ${label}`).toBe(true);
        }
      }
    }
  });

  it('shows what the issue asks for', () => {
    const all = exprs().map((e) => e.expr);
    const has = (re: RegExp) => all.some((e) => re.test(e));
    expect(has(/sum by \(outcome\) \(rate\(switchboard_calls_total/)).toBe(true);
    for (const metric of ['switchboard_call_wait_seconds_bucket', 'switchboard_call_talk_seconds_bucket']) {
      expect(has(new RegExp(`histogram_quantile\\(0\\.5, .*${metric}`))).toBe(true);
      expect(has(new RegExp(`histogram_quantile\\(0\\.9, .*${metric}`))).toBe(true);
    }
    expect(has(/switchboard_active_calls/)).toBe(true);
    expect(has(/switchboard_agents_online/)).toBe(true);
    expect(has(/switchboard_slack_outbox_depth/)).toBe(true);
    expect(has(/switchboard_slack_failures_total/)).toBe(true);
    expect(has(/max by \(queue\) \(switchboard_queue_waiting/)).toBe(true);
    expect(has(/max by \(queue\) \(switchboard_queue_longest_wait_seconds/)).toBe(true);
    expect(has(/max by \(queue, state\) \(switchboard_agents\{/)).toBe(true);
    // Per queue (docs/interface.md §7, §9): a `queue` variable the queue panels filter on.
    const queueVar = dashboard.templating.list.find((v) => v.name === 'queue');
    expect(queueVar?.definition).toMatch(/label_values\(switchboard_queue_waiting.*, queue\)/);
    expect(has(/sum by \(queue, outcome\) \(rate\(switchboard_calls_total\{[^}]*queue=~"\$queue"/)).toBe(
      true,
    );
    expect(
      has(/histogram_quantile\(0\.9, sum by \(le, queue\) \(rate\(switchboard_call_wait_seconds_bucket/),
    ).toBe(true);
    expect(has(/sum by \(queue\) \(increase\(switchboard_call_wait_seconds_bucket\{[^}]*le="20"/)).toBe(true);
    for (const metric of [
      'switchboard_queue_waiting',
      'switchboard_queue_longest_wait_seconds',
      'switchboard_agents',
    ]) {
      expect(has(new RegExp(`${metric}\\{[^}]*queue=~"\\$queue"`)), metric).toBe(true);
    }
    expect(has(/time\(\) - max by \(job_name\) \(switchboard_job_last_success_timestamp_seconds/)).toBe(true);
    expect(
      has(/histogram_quantile\(0\.99, sum by \(le, route\) \(rate\(http_request_duration_seconds_bucket/),
    ).toBe(true);
  });
});

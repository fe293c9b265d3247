import autocannon from 'autocannon';
import type { RouteName, SignedRequest } from './call-mix.js';

/**
 * One load phase: autocannon with N connections, and latencies recorded per route by this module
 * (autocannon only keeps one histogram per run). Each response is attributed to the request it
 * answers: with pipelining 1 a connection's current request is the one just answered when
 * autocannon emits `response`.
 */

export type PhaseRoute = RouteName | 'baseline-texml' | 'baseline-callback';

/**
 * The status each route answers a valid request with (docs/interface.md §3). `/texml/status`
 * answers 200: Telnyx counts any other status as a failed delivery.
 */
const EXPECTED_STATUS: Record<PhaseRoute, number> = {
  inbound: 200,
  status: 200,
  'dial-result': 200,
  'baseline-texml': 200,
  'baseline-callback': 204,
};

export interface RouteStats {
  requests: number;
  /** Responses with another status than the route answers a valid request with. */
  unexpected: number;
  statuses: Record<string, number>;
  perSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface PhaseResult {
  name: string;
  connections: number;
  seconds: number;
  requests: number;
  perSecond: number;
  /** Whole calls played (stateful phases). */
  calls?: number;
  callsPerSecond?: number;
  routes: Partial<Record<PhaseRoute, RouteStats>>;
  errors: number;
  timeouts: number;
  /** Replies whose body was not what the step expects (inbound without <Dial>, dial-result without <Hangup/>). */
  wrongBodies: Record<string, number>;
  /**
   * CPU time per request (user + system, µs) of the server process, Redis and the load generator,
   * and the server's CPU time over wall time. Unlike req/s these hardly move when other processes
   * compete for the cores, so they are what two runs are compared on.
   */
  cpu?: {
    serverUs: number;
    redisUs: number;
    loadgenUs: number;
    serverBusy: number;
    /** Redis commands the server sent per request (MULTI/EXEC not counted). */
    redisCommands: number;
    /** Writes to the Redis sockets per request: one per lone command, pipeline, MULTI or auto-pipelined batch. */
    redisWrites: number;
  };
}

/** Nearest-rank percentile of an ascending array, in ms. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Latencies and statuses per route, and replies with the wrong body. */
export class Recorder {
  private readonly latencies = new Map<PhaseRoute, number[]>();
  private readonly statuses = new Map<PhaseRoute, Record<string, number>>();
  readonly wrongBodies: Record<string, number> = {};

  record(route: PhaseRoute, status: number, ms: number): void {
    let list = this.latencies.get(route);
    if (!list) {
      list = [];
      this.latencies.set(route, list);
      this.statuses.set(route, {});
    }
    list.push(ms);
    const s = this.statuses.get(route) as Record<string, number>;
    s[status] = (s[status] ?? 0) + 1;
  }

  wrongBody(what: string): void {
    this.wrongBodies[what] = (this.wrongBodies[what] ?? 0) + 1;
  }

  stats(seconds: number): Partial<Record<PhaseRoute, RouteStats>> {
    const out: Partial<Record<PhaseRoute, RouteStats>> = {};
    for (const [route, list] of this.latencies) {
      const sorted = Float64Array.from(list).sort();
      const statuses = this.statuses.get(route) as Record<string, number>;
      const ok = statuses[EXPECTED_STATUS[route]] ?? 0;
      out[route] = {
        requests: list.length,
        unexpected: list.length - ok,
        statuses,
        perSecond: list.length / seconds,
        p50: percentile(sorted, 50),
        p90: percentile(sorted, 90),
        p99: percentile(sorted, 99),
        max: sorted[sorted.length - 1] as number,
      };
    }
    return out;
  }
}

type AcRequest = autocannon.Request & { route: PhaseRoute };
type CallContext = { call?: SignedRequest[] };

/** Counts a TeXML reply that does not do what the step expects (a ring round, a hang-up). */
export function checkBody(recorder: Recorder, route: PhaseRoute, status: number, body: string): void {
  if (status !== 200) return;
  if (route === 'inbound' && !body.includes('<Dial')) recorder.wrongBody('inbound without <Dial>');
  if (route === 'dial-result' && !body.includes('<Hangup'))
    recorder.wrongBody('dial-result without <Hangup/>');
}

function bodyCheck(recorder: Recorder, route: PhaseRoute): AcRequest['onResponse'] {
  if (route !== 'inbound' && route !== 'dial-result') return undefined;
  return (status, body) => checkBody(recorder, route, status, body);
}

function run(
  name: string,
  options: autocannon.Options,
  recorder: Recorder,
  calls: number | undefined,
): Promise<PhaseResult> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (err, result) => {
      if (err) return reject(err);
      const seconds = result.duration;
      resolve({
        name,
        connections: options.connections ?? 10,
        seconds,
        requests: result.requests.total,
        perSecond: result.requests.total / seconds,
        calls,
        callsPerSecond: calls === undefined ? undefined : calls / seconds,
        routes: recorder.stats(seconds),
        errors: result.errors,
        timeouts: result.timeouts,
        wrongBodies: recorder.wrongBodies,
      });
    });
    instance.on('response', (client, statusCode, _bytes, responseTime) => {
      const current = (client as unknown as { requestIterator: { currentRequest: AcRequest } })
        .requestIterator.currentRequest;
      recorder.record(current.route, statusCode, responseTime);
    });
  });
}

/**
 * Plays whole calls: each connection takes the next call from `calls` and sends its `steps` in
 * order, one at a time, then takes the next call. `calls.length` must be a multiple of
 * `connections`, so every connection plays whole calls and the pool is used exactly once.
 */
export function playCalls(opts: {
  name: string;
  url: string;
  connections: number;
  calls: SignedRequest[][];
  steps: readonly number[];
}): Promise<PhaseResult> {
  const { calls, steps, connections } = opts;
  if (calls.length === 0 || calls.length % connections !== 0)
    throw new Error(`${calls.length} calls cannot be split evenly over ${connections} connections`);
  const recorder = new Recorder();
  let next = 0;
  const first = calls[0] as SignedRequest[];
  const requests: AcRequest[] = steps.map((step, k) => {
    const route = (first[step] as SignedRequest).route;
    return {
      method: 'POST',
      route,
      onResponse: bodyCheck(recorder, route),
      setupRequest: (req, context) => {
        const ctx = context as CallContext;
        if (k === 0) ctx.call = calls[next++];
        const r = (ctx.call as SignedRequest[])[step] as SignedRequest;
        req.path = r.path;
        req.headers = { ...r.headers };
        req.body = r.body;
        return req;
      },
    };
  });
  return run(
    opts.name,
    {
      url: opts.url,
      connections,
      amount: calls.length * steps.length,
      timeout: 30,
      requests,
    },
    recorder,
    calls.length,
  );
}

/** Sends `requests` round-robin (stateless routes) on N connections for `seconds`. */
export function cycleRequests(opts: {
  name: string;
  url: string;
  connections: number;
  seconds: number;
  route: PhaseRoute;
  path: string;
  requests: readonly SignedRequest[];
}): Promise<PhaseResult> {
  const recorder = new Recorder();
  let next = 0;
  const pool = opts.requests;
  return run(
    opts.name,
    {
      url: opts.url,
      connections: opts.connections,
      duration: opts.seconds,
      timeout: 30,
      requests: [
        {
          method: 'POST',
          route: opts.route,
          setupRequest: (req) => {
            const r = pool[next++ % pool.length] as SignedRequest;
            req.path = opts.path;
            req.headers = { ...r.headers };
            req.body = r.body;
            return req;
          },
        } as AcRequest,
      ],
    },
    recorder,
    undefined,
  );
}

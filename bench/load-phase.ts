import autocannon from 'autocannon';
import type { RouteName, ScriptedCall, SignedRequest } from './call-mix.js';

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
/** One connection's call: what it sends next, and the request now on the wire. */
type CallContext = { call?: ScriptedCall; rest?: readonly SignedRequest[]; current?: SignedRequest };
type CallClient = { requestIterator: { context: CallContext } };

/** Counts a TeXML reply that does not do what the step expects (a ring round, a hang-up). */
export function checkBody(recorder: Recorder, route: PhaseRoute, status: number, body: string): void {
  if (status !== 200) return;
  if (route === 'inbound' && !body.includes('<Dial')) recorder.wrongBody('inbound without <Dial>');
  if (route === 'dial-result' && !body.includes('<Hangup'))
    recorder.wrongBody('dial-result without <Hangup/>');
}

function run(
  name: string,
  options: autocannon.Options,
  recorder: Recorder,
  calls: number | undefined,
  routeOf: (client: unknown) => PhaseRoute,
  onResponse?: (client: unknown) => void,
): Promise<PhaseResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let lastResponse = started;
    const instance = autocannon(options, (err, result) => {
      if (err) return reject(err);
      // A phase that plays a pool of calls ends when its last connection stops, but autocannon
      // notices at its next 1 s tick and counts that wait in `duration`: time to the last reply.
      const seconds = calls === undefined ? result.duration : (lastResponse - started) / 1000;
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
    // Emitted with the connection after the reply's onResponse and before the connection builds
    // its next request (autocannon's httpClient), so the request answered is still the current one.
    instance.on('response', (client, statusCode, _bytes, responseTime) => {
      lastResponse = performance.now();
      recorder.record(routeOf(client), statusCode, responseTime);
      onResponse?.(client);
    });
  });
}

/**
 * Plays whole calls: each connection takes the next call from `calls`, sends its first request,
 * and then, one at a time, the requests the call gives for that reply (`ScriptedCall.rest`: a
 * call of the mix signs its legs for the agents the inbound reply rang), then takes the next
 * call, until every call of the pool was played once.
 *
 * autocannon cycles through a fixed list of requests per connection, keeping a context until it
 * wraps around; here each entry of the list sends the call's next request, an entry with none
 * left returns nothing (autocannon then starts the list again: the next call, with a fresh
 * context), and a connection whose call ended when the pool is empty is told to stop.
 */
export function playCalls(opts: {
  name: string;
  url: string;
  connections: number;
  calls: readonly ScriptedCall[];
  /** The most requests a call of `calls` sends (the length of autocannon's list). */
  maxRequests: number;
}): Promise<PhaseResult> {
  const { calls, connections } = opts;
  if (calls.length < connections)
    throw new Error(`${calls.length} calls cannot keep ${connections} connections busy`);
  const recorder = new Recorder();
  let next = 0;
  const requests: autocannon.Request[] = Array.from({ length: opts.maxRequests }, (_, k) => ({
    method: 'POST',
    onResponse: (status, body, context) => {
      const ctx = context as CallContext;
      const sent = ctx.current as SignedRequest;
      checkBody(recorder, sent.route, status, body);
      if (k === 0) ctx.rest = (ctx.call as ScriptedCall).rest(status, body);
    },
    setupRequest: (req, context) => {
      const ctx = context as CallContext;
      let r: SignedRequest | undefined;
      if (k === 0) {
        // A connection is stopped when its call ends and the pool is empty (below), so this stays
        // within the pool; only a reconnect after a timeout, which skips that check, could wrap.
        ctx.call = calls[next++ % calls.length] as ScriptedCall;
        ctx.rest = undefined;
        r = ctx.call.first;
      } else {
        r = ctx.rest?.[k - 1];
        if (!r) return undefined as unknown as autocannon.Request;
      }
      ctx.current = r;
      req.path = r.path;
      req.headers = { ...r.headers };
      req.body = r.body;
      return req;
    },
  }));
  const contextOf = (client: unknown) => (client as CallClient).requestIterator.context;
  return run(
    opts.name,
    {
      url: opts.url,
      connections,
      // Ends when every connection stopped (onResponse below); the duration is only a bound.
      duration: 3600,
      timeout: 30,
      requests,
    },
    recorder,
    calls.length,
    (client) => (contextOf(client).current as SignedRequest).route,
    (client) => {
      const ctx = contextOf(client);
      const left = ctx.rest ? ctx.rest.length - ctx.rest.indexOf(ctx.current as SignedRequest) - 1 : 1;
      // The call just ended and no call is left to take: stop this connection before it builds
      // its next request (autocannon's client stops once `reqsMade` reaches `responseMax`).
      if (left === 0 && next >= calls.length) {
        const c = client as { responseMax?: number; reqsMade: number };
        c.responseMax = c.reqsMade;
      }
    },
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
    () => opts.route,
  );
}

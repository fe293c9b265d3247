import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import type { SignedRequest } from './call-mix.js';
import { checkBody, type PhaseResult, Recorder } from './load-phase.js';

/**
 * The call mix below saturation: `connections` callers, each playing whole calls one request at
 * a time with a random pause between requests (exponential, mean `thinkMs`), the way Telnyx's
 * requests for concurrent calls are spread in time. autocannon cannot pause between requests (its
 * rate limit sends each second's quota in a burst), so this phase uses an undici Pool. Latency is
 * measured from sending the request to the end of the reply body.
 */
export async function playCallsPaced(opts: {
  name: string;
  url: string;
  connections: number;
  calls: SignedRequest[][];
  steps: readonly number[];
  thinkMs: number;
  seconds: number;
}): Promise<PhaseResult> {
  const pool = new Pool(opts.url, { connections: opts.connections, pipelining: 1 });
  const recorder = new Recorder();
  const pause = () => sleep(-Math.log(1 - Math.random()) * opts.thinkMs);
  // Open every connection first (GET /healthz), so no measured request pays for a TCP handshake.
  await Promise.all(
    Array.from({ length: opts.connections }, async () => {
      const res = await pool.request({ method: 'GET', path: '/healthz' });
      await res.body.dump();
    }),
  );
  let next = 0;
  let requests = 0;
  let errors = 0;
  let calls = 0;
  const started = performance.now();
  const end = started + opts.seconds * 1000;

  const caller = async () => {
    // Starts spread over one call's length, so calls are in every step from the start instead of
    // all fifty ringing in at once.
    await sleep(Math.random() * opts.thinkMs * opts.steps.length);
    while (performance.now() < end && next < opts.calls.length) {
      const call = opts.calls[next++] as SignedRequest[];
      for (const step of opts.steps) {
        const r = call[step] as SignedRequest;
        const t0 = performance.now();
        try {
          const res = await pool.request({ method: 'POST', path: r.path, headers: r.headers, body: r.body });
          const body = await res.body.text();
          recorder.record(r.route, res.statusCode, performance.now() - t0);
          checkBody(recorder, r.route, res.statusCode, body);
        } catch {
          errors++;
        }
        requests++;
        await pause();
      }
      calls++;
    }
  };
  await Promise.all(Array.from({ length: opts.connections }, caller));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return {
    name: opts.name,
    connections: opts.connections,
    seconds,
    requests,
    perSecond: requests / seconds,
    calls,
    callsPerSecond: calls / seconds,
    routes: recorder.stats(seconds),
    errors,
    timeouts: 0,
    wrongBodies: recorder.wrongBodies,
  };
}

import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import type { ScriptedCall, SignedRequest } from './call-mix.js';
import { checkBody, type PhaseResult, Recorder } from './load-phase.js';

/**
 * The call mix below saturation: `connections` callers, each playing whole calls one request at
 * a time with a random pause between requests (exponential, mean `thinkMs`), the way Telnyx's
 * requests for concurrent calls are spread in time. autocannon cannot pause between requests (its
 * rate limit sends each second's quota in a burst), so this phase uses an undici Pool. Latency is
 * measured from sending the request to the end of the reply body. A call's requests after the
 * first are those its first reply calls for (`ScriptedCall.rest`: a call of the mix signs its legs
 * for the agents the inbound reply rang), as in `playCalls`.
 */
export async function playCallsPaced(opts: {
  name: string;
  url: string;
  connections: number;
  calls: readonly ScriptedCall[];
  /** The requests of one call in the mix (spreads the callers' starts over one call). */
  callLength: number;
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

  /** Sends one request, records it, and pauses; the reply's status and body (0 and '' on an error). */
  const send = async (r: SignedRequest): Promise<{ status: number; body: string }> => {
    const t0 = performance.now();
    let status = 0;
    let body = '';
    try {
      const res = await pool.request({ method: 'POST', path: r.path, headers: r.headers, body: r.body });
      body = await res.body.text();
      status = res.statusCode;
      recorder.record(r.route, status, performance.now() - t0);
      checkBody(recorder, r.route, status, body);
    } catch {
      errors++;
    }
    requests++;
    await pause();
    return { status, body };
  };

  const caller = async () => {
    // Starts spread over one call's length, so calls are in every step from the start instead of
    // all fifty ringing in at once.
    await sleep(Math.random() * opts.thinkMs * opts.callLength);
    while (performance.now() < end && next < opts.calls.length) {
      const call = opts.calls[next++] as ScriptedCall;
      const first = await send(call.first);
      for (const r of call.rest(first.status, first.body)) await send(r);
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

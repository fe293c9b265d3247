import { type KeyObject, sign } from 'node:crypto';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCallCenterFile } from '../../src/call-center/call-center-file.js';
import { staticCallCenterSource } from '../../src/call-center/call-center-source.js';
import type { CallState } from '../../src/calls/call-types.js';
import { generateSigningKeys } from '../../src/simulator/telnyx-player.js';
import { eventually, startServer, type TestServer } from '../helper.js';
import { redisUrl, uniquePrefix } from '../setup/redis.js';
import {
  contentType,
  encodeForm,
  FORM,
  type FormInput,
  formInput,
  junkHeaders,
  queryString,
  rejectionProblems,
  sidsIn,
  snapshot,
  texmlProblems,
} from './hostile-input.js';

/**
 * docs/interface.md §3 under random and hostile input: whatever reaches a /texml/* route, the reply is
 * never a 5xx, a 200 is a well-formed TeXML document that only the templates shaped (no injected
 * verb, target or URL), a rejection is a short 4xx that stored nothing, and the app keeps serving.
 */

const ROUTES = [
  '/texml/inbound',
  '/texml/status',
  '/texml/dial-result',
  '/texml/voicemail',
  '/texml/recording',
  '/texml/outbound',
  '/texml/queue/callback',
  '/texml/menu',
] as const;
/** Routes whose 200 is a TeXML document (the others answer an empty 200). */
const DOCUMENT_ROUTES = new Set<string>([
  '/texml/inbound',
  '/texml/dial-result',
  '/texml/voicemail',
  '/texml/outbound',
  '/texml/queue/callback',
  '/texml/menu',
]);
const ROSTER = new Set(['sip:alice@sip.telnyx.com', 'sip:bob@sip.telnyx.com', 'sip:carol@sip.telnyx.com']);
const BASE = 'https://sb.example.com';
const RUNS = Number(process.env.PROPERTY_RUNS ?? 150);

interface TexmlRequest {
  method: string;
  route: string;
  query: string;
  contentType: string | undefined;
  form: FormInput;
  /** Raw bytes instead of the form (invalid UTF-8 and all). */
  bytes: Uint8Array | undefined;
  headers: Record<string, string>;
}

const texmlRequest: fc.Arbitrary<TexmlRequest> = fc.record({
  method: fc.constantFrom(
    'POST',
    'POST',
    'POST',
    'POST',
    'GET',
    'GET',
    'HEAD',
    'PUT',
    'DELETE',
    'PATCH',
    'OPTIONS',
  ),
  route: fc.constantFrom(...ROUTES),
  query: queryString,
  contentType,
  form: formInput,
  bytes: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: undefined, freq: 10 }),
  headers: junkHeaders,
});

/** The request as `inject` takes it, and the form text its parameters were read from. */
function toInject(r: TexmlRequest): { options: InjectOptions; params: string } {
  const form = encodeForm(r.form);
  const headers: Record<string, string> = { ...r.headers };
  if (r.method === 'GET' || r.method === 'HEAD') {
    const sep = r.query ? '&' : '?';
    return {
      options: { method: r.method, url: `${r.route}${r.query}${form ? sep + form : ''}`, headers },
      params: `${r.query.slice(1)}&${form}`,
    };
  }
  if (r.contentType !== undefined) headers['content-type'] = r.contentType;
  else delete headers['content-type'];
  const payload = r.bytes ? Buffer.from(r.bytes) : form;
  return {
    options: { method: r.method as InjectOptions['method'], url: `${r.route}${r.query}`, headers, payload },
    params: r.bytes ? Buffer.from(r.bytes).toString('utf8') : form,
  };
}

const describeRequest = (o: InjectOptions) =>
  `${o.method} ${String(o.url).slice(0, 300)} ${JSON.stringify(o.headers).slice(0, 300)} ${String(o.payload ?? '').slice(0, 300)}`;

/**
 * Sends `r` and checks the reply against §3. `accepted` collects every sid a 2xx request carried,
 * so the "rejected requests store nothing" check only asks about sids no accepted request used.
 */
async function checkTexml(
  server: TestServer,
  r: TexmlRequest,
  accepted: Set<string>,
  base: string | undefined,
  sendOptions: (o: InjectOptions) => InjectOptions = (o) => o,
): Promise<void> {
  const { options: raw, params } = toInject(r);
  const options = sendOptions(raw);
  const res = await server.app.inject(options);
  const what = `${describeRequest(options)}\n→ ${res.statusCode} ${res.body.slice(0, 500)}`;
  expect(res.statusCode, what).toBeLessThan(500);
  const sids = sidsIn(params);
  if (res.statusCode >= 200 && res.statusCode < 300) {
    for (const s of sids) accepted.add(s);
    if (res.statusCode === 200 && DOCUMENT_ROUTES.has(r.route) && r.method !== 'HEAD') {
      expect(res.headers['content-type'], what).toMatch(/^application\/xml/);
      expect(texmlProblems(res.body, { base, sips: ROSTER }), what).toEqual([]);
    } else if (r.method !== 'HEAD') {
      // Never 204: Telnyx treats anything but 200 as a failed delivery (texml-calls.yml).
      expect(res.statusCode, what).toBe(200);
      if (!DOCUMENT_ROUTES.has(r.route)) expect(res.body, what).toBe('');
    }
    return;
  }
  expect(res.statusCode, what).toBeGreaterThanOrEqual(400);
  // (a HEAD reply has no body to read a reason from)
  if (r.method !== 'HEAD') expect(rejectionProblems(res.statusCode, res.body), what).toEqual([]);
  for (const s of sids) {
    if (accepted.has(s)) continue;
    expect(await server.app.services.calls.get(s), `${what}\nstored ${JSON.stringify(s)}`).toBeNull();
  }
}

const RANK: Record<string, number> = {
  queued: 0,
  initiated: 1,
  ringing: 2,
  'in-progress': 3,
  completed: 4,
  busy: 4,
  'no-answer': 4,
  canceled: 4,
  failed: 4,
};

/** How `after` undid something `before` had settled (docs/interface.md §3: state only moves forward). */
function backwards(before: CallState | null, after: CallState | null): string | undefined {
  if (!before) return undefined;
  if (!after) return 'the call disappeared';
  if ((RANK[after.status] ?? 0) < (RANK[before.status] ?? 0))
    return `status ${before.status} → ${after.status}`;
  if (before.phase === 'ended' && after.phase !== 'ended') return `phase ended → ${after.phase}`;
  for (const key of ['answeredAt', 'endedAt', 'answeredLeg', 'recordingUrl'] as const)
    if (before[key] !== undefined && after[key] !== before[key])
      return `${key} ${before[key]} → ${after[key]}`;
  // The one outcome a late fact may change: a missed call whose recording turns up after all.
  if (
    before.outcome &&
    after.outcome !== before.outcome &&
    !(before.outcome === 'missed' && after.outcome === 'voicemail')
  )
    return `outcome ${before.outcome} → ${after.outcome}`;
  if (after.attempts < before.attempts) return `attempts ${before.attempts} → ${after.attempts}`;
  // The call's queue is chosen once (docs/interface.md §9) and the menu count only goes up.
  if (before.queue !== undefined && after.queue !== before.queue)
    return `queue ${before.queue} → ${after.queue}`;
  if ((after.menu?.attempts ?? 0) < (before.menu?.attempts ?? 0))
    return `menu attempts ${before.menu?.attempts} → ${after.menu?.attempts}`;
  for (const [legSid, leg] of Object.entries(before.legs)) {
    const now = after.legs[legSid];
    if (!now) return `leg ${legSid} disappeared`;
    if ((RANK[now.status] ?? 0) < (RANK[leg.status] ?? 0))
      return `leg ${legSid} ${leg.status} → ${now.status}`;
  }
  return undefined;
}

const alive = async (server: TestServer) => {
  const res = await server.app.inject({ method: 'GET', url: '/healthz' });
  expect(res.statusCode).toBe(200);
  const call = await server.app.inject({
    method: 'POST',
    url: '/texml/inbound',
    headers: { 'content-type': FORM },
    payload: `CallSid=v3:alive${Date.now()}${Math.random().toString(36).slice(2)}&From=%2B13125550100`,
  });
  return call;
};

describe.each(['redis', 'memory'] as const)('/texml/* under random and hostile input (%s store)', (store) => {
  let server: TestServer;
  const accepted = new Set<string>();
  beforeAll(async () => {
    server = await startServer({ store, env: { PUBLIC_URL: BASE } });
  });
  afterAll(async () => server?.close());

  it('never answers 5xx; a 200 is TeXML shaped only by the templates; a 4xx is short and stored nothing', async () => {
    await fc.assert(
      fc.asyncProperty(texmlRequest, (r) => checkTexml(server, r, accepted, BASE)),
      { numRuns: RUNS },
    );
    expect((await alive(server)).statusCode).toBe(200);
  });

  it('the same for whole calls of random callbacks on one sid (state machine fed garbage in any order)', async () => {
    // Several requests about ONE call, so the later ones meet stored state built from junk.
    const oneCall = fc
      .tuple(fc.array(texmlRequest, { minLength: 2, maxLength: 8 }), fc.constantFrom('POST', 'GET'))
      .map(([requests, method]) => {
        const sid = `v3:seq${process.pid}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
        return requests.map((r) => ({
          ...r,
          method,
          contentType: FORM,
          bytes: undefined,
          form: {
            ...r.form,
            padding: 0,
            pairs: [...r.form.pairs.filter(([k]) => k !== 'CallSid'), ['CallSid', sid] as [string, string]],
          },
        }));
      });
    await fc.assert(
      fc.asyncProperty(oneCall, async (requests) => {
        const sid = requests[0]?.form.pairs.at(-1)?.[1] as string;
        let before: CallState | null = null;
        const seen: string[] = [];
        for (const r of requests) {
          await checkTexml(server, r, accepted, BASE);
          const after = await server.app.services.calls.get(sid);
          seen.push(describeRequest(toInject(r).options).slice(0, 200));
          const moved = backwards(before, after);
          expect(moved, `${moved}\nafter:\n${seen.join('\n')}`).toBeUndefined();
          before = after;
        }
      }),
      { numRuns: Math.ceil(RUNS / 3) },
    );
    expect((await alive(server)).statusCode).toBe(200);
  });

  it('a Dial action reporting an answer after the call ended does not bring it back (found by the property above)', async () => {
    // The caller hangs up at the end of the conversation; Telnyx's status callback for that
    // arrives before the <Dial> action request, and the agent leg's own callbacks are late.
    const sid = `v3:revive${process.pid}${store}${Date.now().toString(36)}`;
    const post = (url: string, params: Record<string, string>) =>
      server.app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': FORM },
        payload: new URLSearchParams({
          CallSid: sid,
          From: '+13125550100',
          To: '+18005550199',
          ...params,
        }).toString(),
      });
    expect((await post('/texml/inbound', {})).statusCode).toBe(200);
    expect((await post('/texml/status', { CallStatus: 'completed', SequenceNumber: '3' })).statusCode).toBe(
      200,
    );
    const ended = await server.app.services.calls.get(sid);
    expect(ended?.phase).toBe('ended');
    const reply = await post('/texml/dial-result', {
      DialCallStatus: 'completed',
      DialCallSid: `${sid}-leg`,
      DialCallDuration: '30',
    });
    expect(texmlProblems(reply.body, { base: BASE, sips: ROSTER })).toEqual([]);
    const after = await server.app.services.calls.get(sid);
    expect(backwards(ended, after)).toBeUndefined();
    expect((await server.app.services.calls.active()).map((c) => c.sid)).not.toContain(sid);
  });
});

describe('/texml/* rejections change nothing stored (key-by-key snapshot)', () => {
  let server: TestServer;
  let raw: Redis;
  const prefix = uniquePrefix();
  beforeAll(async () => {
    server = await startServer({ keyPrefix: prefix, env: { PUBLIC_URL: BASE } });
    raw = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await server?.close();
    await raw?.quit();
  });

  /** One defect the contract says must be refused: the request is otherwise random. */
  const defective = fc
    .tuple(
      texmlRequest,
      fc.constantFrom('no-callsid', 'bad-sid', 'bad-parent', 'content-type', 'oversize', 'method'),
    )
    .map(([r, defect]): TexmlRequest => {
      const pairs = r.form.pairs.filter(([k]) => k !== 'CallSid' && k !== 'ParentCallSid');
      const form = { ...r.form, encoding: 'form' as const, padding: 0, pairs };
      const post = { ...r, method: 'POST', contentType: FORM, bytes: undefined, form };
      switch (defect) {
        case 'no-callsid':
          return { ...post, method: r.method === 'GET' ? 'GET' : 'POST' };
        case 'bad-sid':
          return { ...post, form: { ...form, pairs: [...pairs, ['CallSid', 'v3:<bad>']] } };
        case 'bad-parent':
          return {
            ...post,
            form: { ...form, pairs: [...pairs, ['CallSid', 'v3:fine'], ['ParentCallSid', 'v3:{bad}']] },
          };
        case 'content-type':
          return {
            ...post,
            contentType: [
              'application/json',
              'text/plain',
              'text/xml',
              'multipart/form-data; boundary=x',
              'application/octet-stream',
            ][r.form.pairs.length % 5],
            form: { ...form, pairs: [['CallSid', 'v3:typed'], ...pairs] },
          };
        case 'oversize':
          return { ...post, form: { ...form, pairs: [['CallSid', 'v3:big'], ...pairs], padding: 70_000 } };
        default:
          return {
            ...post,
            method: ['PUT', 'DELETE', 'PATCH', 'OPTIONS'][r.form.pairs.length % 4] as string,
          };
      }
    });

  it('every defective request gets a 4xx and leaves every stored key as it was', async () => {
    // Something stored to protect: a call in progress, its timeline, its alert's dedupe key…
    expect((await alive(server)).statusCode).toBe(200);
    // …once its background work (the alert's delivery) is over, so only a request can change it.
    await eventually(async () => expect(await server.app.services.outbox.depth()).toBe(0));
    await new Promise((r) => setTimeout(r, 50));
    const before = await snapshot(raw, prefix);
    expect(before.size).toBeGreaterThan(0);
    await fc.assert(
      fc.asyncProperty(defective, async (r) => {
        const { options } = toInject(r);
        const res = await server.app.inject(options);
        const what = `${describeRequest(options)}\n→ ${res.statusCode} ${res.body.slice(0, 300)}`;
        expect(res.statusCode, what).toBeGreaterThanOrEqual(400);
        expect(res.statusCode, what).toBeLessThan(500);
        const after = await snapshot(raw, prefix);
        expect([...after.keys()], what).toEqual([...before.keys()]);
        expect(after, what).toEqual(before);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('/texml/* with TELNYX_PUBLIC_KEY set', () => {
  const keys = generateSigningKeys();
  const stranger = generateSigningKeys();
  let server: TestServer;
  let raw: Redis;
  const prefix = uniquePrefix();
  const accepted = new Set<string>();
  beforeAll(async () => {
    // No PUBLIC_URL: URLs come from the (forwarded) host of the request, attacker-chosen here.
    server = await startServer({ keyPrefix: prefix, env: { TELNYX_PUBLIC_KEY: keys.publicKeyBase64 } });
    raw = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await server?.close();
    await raw?.quit();
  });

  const now = () => Math.floor(Date.now() / 1000);
  const signature = (key: KeyObject, ts: string, body: string) =>
    sign(null, Buffer.from(`${ts}|${body}`), key).toString('base64');

  /** Every way a request can fail to be Telnyx's: no signature, junk, wrong key, wrong body, stale. */
  const forgery = fc.oneof(
    fc.constant({ kind: 'none' as const }),
    fc.record({
      kind: fc.constant('junk' as const),
      sig: fc.oneof(
        fc.string({ maxLength: 100 }),
        fc.uint8Array({ minLength: 64, maxLength: 64 }).map((b) => Buffer.from(b).toString('base64')),
      ),
      ts: fc.oneof(
        fc.constant(''),
        fc.string({ maxLength: 12 }),
        fc.integer({ min: -1e12, max: 1e12 }).map(String),
      ),
    }),
    fc.constant({ kind: 'stranger' as const }),
    fc.constant({ kind: 'other-body' as const }),
    fc
      .integer({ min: 301, max: 10_000_000 })
      .chain((skew) =>
        fc.constantFrom({ kind: 'stale' as const, skew }, { kind: 'stale' as const, skew: -skew }),
      ),
    fc.constant({ kind: 'unpadded' as const }),
  );

  it('a request that is not signed by Telnyx gets 4xx (403 once it parses) and nothing stored changes', async () => {
    expect((await server.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const before = await snapshot(raw, prefix);
    await fc.assert(
      fc.asyncProperty(texmlRequest, forgery, async (r, f) => {
        const req: TexmlRequest = { ...r, method: r.method === 'GET' ? 'GET' : 'POST', bytes: undefined };
        const { options, params } = toInject(req);
        const body = typeof options.payload === 'string' ? options.payload : '';
        const headers = { ...(options.headers as Record<string, string>) };
        const ts = String(now());
        if (f.kind === 'junk') {
          headers['telnyx-signature-ed25519'] = f.sig;
          headers['telnyx-timestamp'] = f.ts;
        } else if (f.kind === 'none') {
          delete headers['telnyx-signature-ed25519'];
          delete headers['telnyx-timestamp'];
        } else if (f.kind === 'stranger') {
          headers['telnyx-timestamp'] = ts;
          headers['telnyx-signature-ed25519'] = signature(stranger.privateKey, ts, body);
        } else if (f.kind === 'other-body') {
          headers['telnyx-timestamp'] = ts;
          headers['telnyx-signature-ed25519'] = signature(keys.privateKey, ts, `${body}&x=1`);
        } else if (f.kind === 'stale') {
          const old = String(now() - f.skew);
          headers['telnyx-timestamp'] = old;
          headers['telnyx-signature-ed25519'] = signature(keys.privateKey, old, body);
        } else {
          headers['telnyx-timestamp'] = ts;
          headers['telnyx-signature-ed25519'] = signature(keys.privateKey, ts, body).replace(/=+$/, '');
        }
        const res = await server.app.inject({ ...options, headers });
        const what = `${f.kind} ${describeRequest({ ...options, headers })}\n→ ${res.statusCode} ${res.body.slice(0, 300)}`;
        expect(res.statusCode, what).toBeGreaterThanOrEqual(400);
        expect(res.statusCode, what).toBeLessThan(500);
        const parsedForm = req.method === 'GET' || (req.contentType ?? '').toLowerCase().startsWith(FORM);
        // GET is refused outright while signatures are checked (its query string is not signed).
        if (req.method === 'GET') expect(res.statusCode, what).toBe(405);
        else if (parsedForm && Buffer.byteLength(body) < 60_000 && req.method === 'POST')
          expect([403, 415], what).toContain(res.statusCode);
        for (const s of sidsIn(params)) expect(await server.app.services.calls.get(s), what).toBeNull();
      }),
      { numRuns: RUNS },
    );
    expect(await snapshot(raw, prefix)).toEqual(before);
  });

  it('a correctly signed hostile request still gets a well-formed reply, whatever Host/X-Forwarded-* say', async () => {
    await fc.assert(
      fc.asyncProperty(texmlRequest, async (r) => {
        const req: TexmlRequest = { ...r, method: 'POST', contentType: FORM, bytes: undefined };
        await checkTexml(server, req, accepted, undefined, (o) => {
          const ts = String(now());
          return {
            ...o,
            headers: {
              ...(o.headers as Record<string, string>),
              'telnyx-timestamp': ts,
              'telnyx-signature-ed25519': signature(keys.privateKey, ts, String(o.payload ?? '')),
            },
          };
        });
      }),
      { numRuns: RUNS },
    );
    expect((await server.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});

/** A menu, two queues and sales closed for good: every branch of §9 is reachable by random input. */
const MENU_FILE = `
queues:
  sales: { agents: [alice], prompts: { closure: "Closed <for> \\"good\\" & all." } }
  support: { agents: [bob, carol] }
hours:
  sales:
    closures: [{ from: "2000-01-01T00:00", to: "2100-01-01T00:00", reason: "Gone <fishing> & more" }]
menu:
  prompt: "For sales press 1, for support press 2."
  options: { "1": sales, "2": support }
  timeoutSeconds: 3
  retries: 2
defaultQueue: support
`;

describe('/texml/* under random and hostile input, with a menu and a closed queue (docs/interface.md §9)', () => {
  let server: TestServer;
  const accepted = new Set<string>();
  beforeAll(async () => {
    server = await startServer({
      store: 'memory',
      env: { PUBLIC_URL: BASE },
      deps: { callCenter: staticCallCenterSource(parseCallCenterFile(MENU_FILE, 'menu.yaml')) },
    });
  });
  afterAll(async () => server?.close());

  it('whole calls of random requests on one sid: the menu never loops past its retries and the state only moves forward', async () => {
    const oneCall = fc.array(texmlRequest, { minLength: 2, maxLength: 10 }).map((requests) => {
      const sid = `v3:menu${process.pid}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
      return requests.map((r) => ({
        ...r,
        method: 'POST',
        contentType: FORM,
        bytes: undefined,
        form: {
          ...r.form,
          padding: 0,
          pairs: [...r.form.pairs.filter(([k]) => k !== 'CallSid'), ['CallSid', sid] as [string, string]],
        },
      }));
    });
    await fc.assert(
      fc.asyncProperty(oneCall, async (requests) => {
        const sid = requests[0]?.form.pairs.at(-1)?.[1] as string;
        let before: CallState | null = null;
        for (const r of requests) {
          await checkTexml(server, r, accepted, BASE);
          const after = await server.app.services.calls.get(sid);
          const moved = backwards(before, after);
          expect(moved).toBeUndefined();
          // 1 + retries plays at most; a queue only from the file.
          expect(after?.menu?.attempts ?? 0).toBeLessThanOrEqual(3);
          if (after?.queue !== undefined) expect(['sales', 'support']).toContain(after.queue);
          before = after;
        }
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
    expect((await alive(server)).statusCode).toBe(200);
  });
});

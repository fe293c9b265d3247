import Fastify, { type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { SignatureVerifier } from '../src/telnyx/signature.js';

/**
 * The two bare baselines `npm run bench` compares the real routes with: a Fastify with the same
 * form parser as src/routes/texml.ts and nothing else, so the ratios show what Switchboard's own
 * work costs on top of HTTP, form parsing and the signature check.
 *
 * - `POST /baseline/texml`: a fixed TeXML document, no signature check, no Redis (the ceiling of
 *   a TeXML reply).
 * - `POST /baseline/callback`: the floor of a status callback: the Ed25519 signature checked with a
 *   key parsed once, then one pipelined Redis write (HSET + EXPIRE), then 204.
 */

const FORM = 'application/x-www-form-urlencoded';

/** A TeXML document of the size /texml/inbound answers with (greeting and a two-agent ring round). */
export const FIXED_TEXML = `<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Play continueOnError="true">https://sb.example.com/audio/greeting.mp3</Play>
  <Dial action="https://sb.example.com/texml/dial-result?attempt=1" method="POST" timeout="20">
    <Sip statusCallback="https://sb.example.com/texml/status" statusCallbackEvent="initiated ringing answered completed" statusCallbackMethod="POST">sip:agent00@sip.telnyx.com</Sip>
    <Sip statusCallback="https://sb.example.com/texml/status" statusCallbackEvent="initiated ringing answered completed" statusCallbackMethod="POST">sip:agent01@sip.telnyx.com</Sip>
  </Dial>
</Response>
`;

declare module 'fastify' {
  interface FastifyRequest {
    baselineRawBody?: string;
  }
}

function formParams(body: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of new URLSearchParams(body)) out[k] = v;
  return out;
}

/** Builds the baseline server; it closes nothing it was given (the caller owns `redis`). */
export async function buildBaselineServer(opts: {
  publicKeyBase64: string;
  redis: Redis;
  ttlSeconds: number;
}): Promise<FastifyInstance> {
  const verifier = new SignatureVerifier(opts.publicKeyBase64);
  const app = Fastify({ logger: false, bodyLimit: 256 * 1024 });
  app.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: 64 * 1024 }, (req, body, done) => {
    req.baselineRawBody = body as string;
    done(null, formParams(body as string));
  });

  app.post('/baseline/texml', async (_req, reply) =>
    reply.type('application/xml; charset=utf-8').send(FIXED_TEXML),
  );

  app.post('/baseline/callback', async (req, reply) => {
    const reason = verifier.check(
      req.baselineRawBody ?? '',
      req.headers['telnyx-signature-ed25519'] as string | undefined,
      req.headers['telnyx-timestamp'] as string | undefined,
    );
    if (reason) return reply.code(403).send({ reason });
    const p = req.body as Record<string, string>;
    const sid = p.CallSid;
    if (!sid) return reply.code(400).send({ reason: 'missing CallSid' });
    const key = `bench:floor:{${p.ParentCallSid || sid}}`;
    await opts.redis
      .pipeline()
      .hset(key, `${sid}:${p.SequenceNumber ?? ''}`, p.CallStatus ?? '')
      .expire(key, opts.ttlSeconds)
      .exec();
    return reply.code(204).send();
  });

  return app;
}

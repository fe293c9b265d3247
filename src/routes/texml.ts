import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CallFlow } from '../calls/call-flow.js';
import { CallbackNotStoredError } from '../calls/call-flow.js';
import { Errors } from '../errors.js';
import type { SignatureVerifier } from '../telnyx/signature.js';
import type { TexmlParams } from '../telnyx/texml-params.js';
import { fallbackVoicemailTexml } from '../texml/flows.js';

export interface TexmlRoutesOptions {
  flow: CallFlow;
  verifier?: SignatureVerifier;
  publicUrl?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The exact form body, for the signature check. */
    rawBody?: string;
    texml?: TexmlParams;
  }
}

const FORM = 'application/x-www-form-urlencoded';
/** Telnyx's callbacks are a few KB; anything near this is not Telnyx. */
const BODY_LIMIT = 64 * 1024;
const SID = /^[A-Za-z0-9:_\-.]{1,128}$/;

/** Telnyx's PascalCase parameters as a frozen plain object; the last of repeated keys wins. */
function formParams(body: string): TexmlParams {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of new URLSearchParams(body)) out[k] = v;
  return Object.freeze(out);
}

/**
 * The routes Telnyx calls (docs/interface.md §3). They parse and check the request, hand it to the
 * call flow, and reply: TeXML documents as application/xml, callbacks as an empty 204.
 */
export default async function texmlRoutes(app: FastifyInstance, opts: TexmlRoutesOptions): Promise<void> {
  const { flow, verifier } = opts;

  app.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: BODY_LIMIT }, (req, body, done) => {
    req.rawBody = body as string;
    done(null, formParams(body as string));
  });

  app.addHook('preHandler', async (req: FastifyRequest) => {
    let params: TexmlParams;
    if (req.method === 'GET') {
      const q = req.url.indexOf('?');
      params = formParams(q >= 0 ? req.url.slice(q + 1) : '');
      req.rawBody = '';
    } else {
      const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      if (type !== FORM) throw new Errors.UnsupportedMediaType(type || 'no content type');
      params = (req.body as TexmlParams | undefined) ?? formParams('');
    }
    if (verifier) {
      // Telnyx signs `timestamp|raw body`; a GET has no body, so only POST is fully covered.
      const reason = verifier.check(
        req.rawBody ?? '',
        header(req, 'telnyx-signature-ed25519'),
        header(req, 'telnyx-timestamp'),
      );
      if (reason) throw new Errors.BadSignature(reason);
    }
    const sid = params.CallSid?.trim();
    if (!sid) throw new Errors.MissingCallSid();
    if (!SID.test(sid)) throw new Errors.BadParameter('CallSid has unexpected characters or length');
    const parent = params.ParentCallSid?.trim();
    if (parent && !SID.test(parent))
      throw new Errors.BadParameter('ParentCallSid has unexpected characters or length');
    req.texml = params;
  });

  const base = (req: FastifyRequest): string => opts.publicUrl ?? `${req.protocol}://${req.host}`;
  const xml = (reply: FastifyReply, doc: string) => reply.type('application/xml; charset=utf-8').send(doc);
  const ack = async (reply: FastifyReply, work: Promise<void>) => {
    try {
      await work;
    } catch (err) {
      if (err instanceof CallbackNotStoredError) {
        reply.log.error({ err }, 'callback not stored; Telnyx will retry');
        throw new Errors.NotStored();
      }
      throw err;
    }
    return reply.code(204).send();
  };

  const route = (path: string, handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) => {
    app.route({ method: ['POST', 'GET'], url: path, handler, bodyLimit: BODY_LIMIT });
  };

  /** A caller waits on these replies: whatever goes wrong, they still get a voicemail prompt. */
  const neverDrop = async (req: FastifyRequest, reply: FastifyReply, work: () => Promise<string>) => {
    try {
      return xml(reply, await work());
    } catch (err) {
      req.log.error(
        { err, callSid: req.texml?.CallSid },
        'call flow failed; answering with the fallback voicemail',
      );
      return xml(reply, fallbackVoicemailTexml(base(req)));
    }
  };

  route('/texml/inbound', (req, reply) => neverDrop(req, reply, () => flow.inbound(req.texml!, base(req))));

  route('/texml/dial-result', async (req, reply) => {
    const query = req.query as Record<string, string>;
    if (query.outbound === 'true') return xml(reply, await flow.outboundDialResult(req.texml!, base(req)));
    const attempt = Number(query.attempt);
    const hint = Number.isInteger(attempt) && attempt > 0 && attempt < 100 ? attempt : undefined;
    return neverDrop(req, reply, () => flow.dialResult(req.texml!, hint, base(req)));
  });

  route('/texml/outbound', async (req, reply) =>
    xml(reply, await flow.outboundAnswered(req.texml!, base(req))),
  );

  route('/texml/voicemail', async (req, reply) =>
    xml(reply, await flow.voicemailEnded(req.texml!, base(req))),
  );

  route('/texml/status', async (req, reply) => ack(reply, flow.status(req.texml!)));

  route('/texml/recording', async (req, reply) => ack(reply, flow.recording(req.texml!)));
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

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
  /**
   * `TELNYX_UNSIGNED_INBOUND=allow`: a `POST /texml/inbound` that carries neither signature header
   * is accepted (in case Telnyx does not sign the voice-URL fetch, docs/telnyx.md "Is the
   * voice-URL fetch signed?"). A present but invalid signature is still refused, and no other
   * route is affected.
   */
  allowUnsignedInbound?: boolean;
  /** Called for each unsigned inbound request accepted that way (a Prometheus counter). */
  onUnsignedInbound?: () => void;
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
 * call flow, and reply: TeXML documents as application/xml, callbacks as an empty 200 — Telnyx
 * treats anything else, 204 included, as a failed delivery: "The server must return an HTTP 200,
 * otherwise we will reattempt delivery at the failover webhook URL" (texml-calls.yml webhooks).
 */
export default async function texmlRoutes(app: FastifyInstance, opts: TexmlRoutesOptions): Promise<void> {
  const { flow, verifier } = opts;
  const inboundPath = '/texml/inbound';

  app.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: BODY_LIMIT }, (req, body, done) => {
    req.rawBody = body as string;
    done(null, formParams(body as string));
  });

  app.addHook('preHandler', async (req: FastifyRequest, reply: FastifyReply) => {
    let params: TexmlParams;
    if (req.method === 'GET' && verifier) {
      reply.header('allow', 'POST');
      // Telnyx signs `timestamp|body`; a GET has no body, so its query string (every parameter)
      // would not be covered and one captured signature would pass with any parameters for 300 s.
      throw new Errors.SignedPostOnly();
    }
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
      const signature = header(req, 'telnyx-signature-ed25519');
      const timestamp = header(req, 'telnyx-timestamp');
      const unsigned = signature === undefined && timestamp === undefined;
      if (unsigned && opts.allowUnsignedInbound && routePath(req) === inboundPath) {
        // Opt-in only, and only for a request with no signature at all: a forged one still fails.
        opts.onUnsignedInbound?.();
        req.log.warn('unsigned /texml/inbound accepted (TELNYX_UNSIGNED_INBOUND=allow)');
      } else {
        const reason = verifier.check(req.rawBody ?? '', signature, timestamp);
        if (reason) throw new Errors.BadSignature(reason);
      }
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
    return reply.code(200).send();
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

  route(inboundPath, (req, reply) => neverDrop(req, reply, () => flow.inbound(req.texml!, base(req))));

  // The menu's <Gather action> and its no-input <Redirect> (docs/interface.md §9): the attempt
  // comes from the store under the CallSid, never from the URL.
  route('/texml/menu', (req, reply) => neverDrop(req, reply, () => flow.menu(req.texml!, base(req))));

  // Which call this is (inbound or click-to-call) and which ring round ended come from the store
  // under the CallSid, never from the URL: a query string is not covered by Telnyx's signature.
  route('/texml/dial-result', async (req, reply) =>
    neverDrop(req, reply, () => flow.dialResult(req.texml!, base(req))),
  );

  route('/texml/outbound', async (req, reply) =>
    xml(reply, await flow.outboundAnswered(req.texml!, base(req))),
  );

  route('/texml/voicemail', async (req, reply) =>
    xml(reply, await flow.voicemailEnded(req.texml!, base(req))),
  );

  // Queues (docs/interface.md §7): the waitUrl loop and the Enqueue action never drop a caller.
  route('/texml/queue/wait', async (req, reply) =>
    neverDrop(req, reply, () => flow.queueWait(req.texml!, base(req))),
  );
  route('/texml/queue/result', async (req, reply) =>
    neverDrop(req, reply, () => flow.queueResult(req.texml!, base(req))),
  );
  // The wait document's `<Gather action>`: 1 = call me back instead (docs/interface.md §7).
  route('/texml/queue/callback', async (req, reply) =>
    neverDrop(req, reply, () => flow.queueCallback(req.texml!, base(req))),
  );

  route('/texml/status', async (req, reply) => ack(reply, flow.status(req.texml!)));

  route('/texml/recording', async (req, reply) => ack(reply, flow.recording(req.texml!)));
}

/** The request path without its query string. */
function routePath(req: FastifyRequest): string {
  const q = req.url.indexOf('?');
  return q >= 0 ? req.url.slice(0, q) : req.url;
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

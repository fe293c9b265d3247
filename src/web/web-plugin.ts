import { createHash, createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Roster } from '../agents/agent.js';
import type { CallStore } from '../calls/call-store.js';
import { Errors } from '../errors.js';
import type { CallRecordStore } from '../records/call-record-store.js';
import { bearerAuth } from '../routes/api/auth.js';
import { describeTelnyxError, type TelnyxClient } from '../telnyx/client.js';
import { packageDir } from '../texml/package-dir.js';
import { AGENT_STATUSES, type AgentStatus, type AgentStatusService } from './agent-status.js';
import { LiveView, type QueueSource } from './live-view.js';
import { MemorySessionStore, type Principal, RedisSessionStore, type SessionStore } from './session-store.js';
import { SoftphoneCredentials, SoftphoneUnavailable } from './softphone-credentials.js';
import { SOFTPHONE_LEASE_MS, type SoftphonePresenceStore } from './softphone-presence.js';

/**
 * The agent console and the wallboard (docs/interface.md §8): sign-in links, sessions, CSRF,
 * the built web app (`dist/web`, made by `npm run build`), its JSON and server-sent-event feeds,
 * and a strict Content-Security-Policy. An encapsulated plugin: its cookie, CSRF and helmet hooks
 * apply to its own routes only, never to /texml or the admin API.
 *
 * Content-Security-Policy of every page and feed (no inline script or style anywhere):
 *   default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;
 *   connect-src 'self' wss://rtc.telnyx.com; media-src 'self' blob:; font-src 'self';
 *   manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'
 * `wss://rtc.telnyx.com` is the signalling socket of @telnyx/webrtc (its default host); media
 * flows over WebRTC (ICE/STUN/TURN), which CSP does not govern; `blob:` media is the remote audio
 * stream the SDK attaches.
 */

export const LINK_TTL_MS = 15 * 60_000;
export const AGENT_SESSION_TTL_MS = 12 * 3_600_000;
export const SUPERVISOR_SESSION_TTL_MS = 7 * 86_400_000;
const COOKIE = 'sb_session';
const SSE_HEARTBEAT_MS = 15_000;

export const CONTENT_SECURITY_POLICY = {
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'", 'wss://rtc.telnyx.com'],
  'media-src': ["'self'", 'blob:'],
  'font-src': ["'self'"],
  'manifest-src': ["'self'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

export interface WebOptions {
  sessionSecret?: string;
  /** Bearer token of the admin API: the login-link and revoke routes need it. */
  apiToken?: string;
  publicUrl?: string;
  redis: Redis | null;
  roster: Roster;
  calls: CallStore;
  records: Pick<CallRecordStore, 'range'>;
  stats: { serviceLevelSeconds: number; shortAbandonSeconds: number; timeZone: string };
  telnyx?: TelnyxClient;
  /** The agent status store (docs/interface.md §5); absent until wired: status routes answer 503. */
  agentStatus?: AgentStatusService;
  queues?: QueueSource;
  now?: () => number;
  /** Where the built web app is (default: `dist/web` of the package). */
  distDir?: string;
  /** Change-detection interval of the live feeds (default 500 ms). */
  pollMs?: number;
  /** Where browser softphone registrations go (`Stores.softphones`: shared by the replicas). */
  softphonePresence: SoftphonePresenceStore;
  /** Runs after this replica stored a registration change (the routing roster re-reads it). */
  onSoftphonePresence?: () => Promise<void>;
}

interface WebSession {
  /** SHA-256 of the session id: CSRF tokens are bound to it. */
  key: string;
  id: string;
  principal: Principal;
}

declare module 'fastify' {
  interface FastifyRequest {
    webSession: WebSession | null;
  }
}

const StatusUnavailable = () => new Errors.NotConfigured('agent status is not available yet');
const Forbidden = (message: string) =>
  Object.assign(new Error(message), { statusCode: 403, code: 'SB_FORBIDDEN' });
const SignedOut = () =>
  Object.assign(new Error('not signed in: open the sign-in link your admin gave you'), {
    statusCode: 401,
    code: 'SB_SIGNED_OUT',
  });

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

/** A small server-rendered page (sign-in, errors); styled by the app's stylesheet when built. */
function page(title: string, body: string, css: string | undefined): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer"><title>${escapeHtml(title)} · Switchboard</title>${css ? `<link rel="stylesheet" href="${css}">` : ''}</head><body class="plain"><main class="plain-main"><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

/** The Origin header names this server (PUBLIC_URL's host, or the Host the request came to). */
function sameOrigin(origin: string, req: FastifyRequest, publicUrl?: string): boolean {
  try {
    const host = new URL(origin).host;
    return host === req.host || (publicUrl !== undefined && host === new URL(publicUrl).host);
  } catch {
    return false;
  }
}

export async function webPlugin(app: FastifyInstance, opts: WebOptions): Promise<void> {
  const distDir = opts.distDir ?? packageDir('dist/web');
  const built = existsSync(join(distDir, 'console.html')) && existsSync(join(distDir, 'wallboard.html'));
  const html = (name: 'console' | 'wallboard') => readFileSync(join(distDir, `${name}.html`), 'utf8');
  const css = built ? /href="(\/assets\/[^"]+\.css)"/.exec(html('console'))?.[1] : undefined;

  await app.register(fastifyHelmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    // Telnyx recordings and the SDK's socket are cross-origin; nothing embeds these pages.
    crossOriginEmbedderPolicy: false,
    referrerPolicy: { policy: 'no-referrer' },
    hsts: opts.publicUrl?.startsWith('https:') ? { maxAge: 15_552_000 } : false,
  });

  if (built) {
    await app.register(fastifyStatic, {
      root: join(distDir, 'assets'),
      prefix: '/assets/',
      index: false,
      list: false,
      dotfiles: 'deny',
      decorateReply: false,
      // Vite names every asset by its content hash: a file never changes under its name.
      cacheControl: true,
      immutable: true,
      maxAge: 365 * 86_400_000,
    });
  }

  const secret = opts.sessionSecret;
  if (!secret) {
    const off =
      'The agent console and the wallboard are off: set SESSION_SECRET (at least 32 bytes) and restart.';
    for (const path of ['/console', '/wallboard', '/login/:token']) {
      app.get(path, async (_req, reply) =>
        reply
          .code(503)
          .type('text/html; charset=utf-8')
          .send(page('Not enabled', `<p>${off}</p>`, css)),
      );
    }
    if (opts.apiToken) {
      await app.register(async (api) => {
        api.addHook('onRequest', bearerAuth(opts.apiToken as string));
        const reject = async () => {
          throw new Errors.NotConfigured('SESSION_SECRET is not set: the console and wallboard are off');
        };
        api.post('/api/agents/:id/login-link', reject);
        api.post('/api/supervisors/login-link', reject);
        api.delete('/api/agents/:id/sessions', reject);
      });
    }
    return;
  }

  const now = opts.now ?? Date.now;
  const sessions: SessionStore = opts.redis
    ? new RedisSessionStore(opts.redis, now)
    : new MemorySessionStore(now);
  const live = new LiveView({
    roster: opts.roster,
    calls: opts.calls,
    records: opts.records,
    stats: opts.stats,
    agentStatus: opts.agentStatus,
    queues: opts.queues,
    now,
    pollMs: opts.pollMs,
  });
  const softphones = new SoftphoneCredentials(opts.telnyx);
  const presence = opts.softphonePresence;
  const presenceChanged = async (req: FastifyRequest) => {
    await opts
      .onSoftphonePresence?.()
      .catch((err) => req.log.warn({ err }, 'softphone registrations not re-read; the next refresh will'));
  };
  // Open event streams would hold the server open: end them when it closes.
  const streams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of streams) end();
    live.close();
  });

  await app.register(fastifyCookie, { secret });
  await app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: 'sb_csrf',
    cookieOpts: { path: '/', httpOnly: true, sameSite: 'strict', signed: true },
    // Tokens are bound to the session: one session's token is useless in another.
    csrfOpts: { hmacKey: createHmac('sha256', secret).update('csrf').digest(), userInfo: true },
    getUserInfo: (req) => req.webSession?.key ?? '',
    getToken: (req) => req.headers['x-csrf-token'] as string | undefined,
  });

  const secure = (req: FastifyRequest) =>
    opts.publicUrl?.startsWith('https:') === true || req.protocol === 'https';

  app.decorateRequest('webSession', null);
  app.addHook('onRequest', async (req) => {
    const raw = req.cookies[COOKIE];
    if (!raw) return;
    const unsigned = req.unsignCookie(raw);
    if (!unsigned.valid || !unsigned.value) return;
    const record = await sessions.getSession(unsigned.value);
    if (!record) return;
    // An agent removed from the roster is signed out with it.
    if (record.principal.role === 'agent') {
      const id = record.principal.agentId;
      if (!opts.roster.current().agents.some((a) => a.id === id)) return;
    }
    req.webSession = {
      id: unsigned.value,
      key: createHash('sha256').update(unsigned.value).digest('base64url'),
      principal: record.principal,
    };
  });

  const requireSession = (req: FastifyRequest): WebSession => {
    if (!req.webSession) throw SignedOut();
    return req.webSession;
  };
  const requireSupervisor = (req: FastifyRequest): WebSession => {
    const s = requireSession(req);
    if (s.principal.role !== 'supervisor') throw Forbidden('the wallboard is for supervisors');
    return s;
  };
  /** An agent acts on themself only; a supervisor on anyone. */
  const requireActor = (req: FastifyRequest, agentId: string): WebSession => {
    const s = requireSession(req);
    if (s.principal.role === 'agent' && s.principal.agentId !== agentId)
      throw Forbidden('an agent can change only their own status');
    return s;
  };
  const agentOf = (s: WebSession) => {
    if (s.principal.role !== 'agent') throw Forbidden('the console is for agents');
    const id = s.principal.agentId;
    const agent = opts.roster.current().agents.find((a) => a.id === id);
    if (!agent) throw SignedOut();
    return agent;
  };
  const csrf = app.csrfProtection.bind(app);

  // ---- Admin API: sign-in links and revocation (bearer API_TOKEN) ---------------------------
  const linkUrl = (req: FastifyRequest, token: string) => {
    const base = opts.publicUrl ?? `${req.protocol}://${req.host}`;
    return `${base}/login/${token}`;
  };
  if (opts.apiToken) {
    await app.register(async (scope) => {
      const api = scope.withTypeProvider<TypeBoxTypeProvider>();
      api.addHook('onRequest', bearerAuth(opts.apiToken as string));
      const LinkReply = Type.Object({
        url: Type.String(),
        expiresAt: Type.String(),
        role: Type.String(),
        agent: Type.Optional(Type.Object({ id: Type.String(), name: Type.String() })),
      });
      api.post(
        '/api/agents/:id/login-link',
        {
          schema: {
            tags: ['console'],
            summary: "A one-time sign-in link to an agent's console, valid for 15 minutes",
            params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }),
            response: { 201: LinkReply },
          },
        },
        async (req, reply) => {
          const agent = opts.roster.current().agents.find((a) => a.id === req.params.id);
          if (!agent) throw new Errors.NotFound(`no agent ${req.params.id} on the roster`);
          const { token, expiresAt } = await sessions.createLink(
            { role: 'agent', agentId: agent.id },
            LINK_TTL_MS,
          );
          req.log.info({ agent: agent.id }, 'console sign-in link created');
          return reply.code(201).send({
            url: linkUrl(req, token),
            expiresAt: new Date(expiresAt).toISOString(),
            role: 'agent',
            agent: { id: agent.id, name: agent.name },
          });
        },
      );
      api.post(
        '/api/supervisors/login-link',
        {
          schema: {
            tags: ['console'],
            summary: 'A one-time sign-in link to the wallboard, valid for 15 minutes',
            response: { 201: LinkReply },
          },
        },
        async (req, reply) => {
          const { token, expiresAt } = await sessions.createLink({ role: 'supervisor' }, LINK_TTL_MS);
          req.log.info('wallboard sign-in link created');
          return reply.code(201).send({
            url: linkUrl(req, token),
            expiresAt: new Date(expiresAt).toISOString(),
            role: 'supervisor',
          });
        },
      );
      api.delete(
        '/api/agents/:id/sessions',
        {
          schema: {
            tags: ['console'],
            summary: "Signs an agent out everywhere: ends all of the agent's console sessions",
            params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }),
            response: { 200: Type.Object({ revoked: Type.Integer() }) },
          },
        },
        async (req) => ({ revoked: await sessions.revokeAgent(req.params.id) }),
      );
    });
  }

  // ---- Sign-in, sign-out ---------------------------------------------------------------------
  const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store');
  const TOKEN = /^[A-Za-z0-9_-]{43}$/;

  // The link opens a confirmation page: link previewers (chat unfurls, mail scanners) fetch
  // GET URLs and would otherwise burn the one-time link. The button POSTs the token.
  app.get('/login/:token', async (req, reply) => {
    const { token } = req.params as { token: string };
    noStore(reply).type('text/html; charset=utf-8');
    if (!TOKEN.test(token))
      return reply
        .code(404)
        .send(
          page('Link not valid', '<p>This sign-in link is not valid. Ask your admin for a new one.</p>', css),
        );
    return reply.send(
      page(
        'Sign in to Switchboard',
        `<p>This link signs you in on this browser. It works once and for 15 minutes.</p><form method="post" action="/login"><input type="hidden" name="token" value="${token}"><button type="submit" class="primary" autofocus>Sign in</button></form>`,
        css,
      ),
    );
  });

  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 4096 },
    (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    },
  );

  app.post('/login', async (req, reply) => {
    const token = (req.body as Record<string, unknown> | undefined)?.token;
    noStore(reply);
    // Only our own sign-in page posts here: a form on another site must not sign a browser
    // into a session of someone else's choosing (login CSRF).
    // The sign-in page sends no referrer, so its Origin is "null": Sec-Fetch-Site (sent by
    // current browsers) is what tells a cross-site post apart.
    const origin = req.headers.origin;
    const site = req.headers['sec-fetch-site'];
    if (
      site === 'cross-site' ||
      site === 'same-site' ||
      (origin && origin !== 'null' && !sameOrigin(origin, req, opts.publicUrl))
    ) {
      return reply
        .code(403)
        .type('text/html; charset=utf-8')
        .send(page('Not allowed', '<p>Sign in from the link itself.</p>', css));
    }
    const principal =
      typeof token === 'string' && TOKEN.test(token) ? await sessions.redeemLink(token) : null;
    if (!principal) {
      return reply
        .code(410)
        .type('text/html; charset=utf-8')
        .send(
          page(
            'Link used or expired',
            '<p>This sign-in link was already used or has expired. Ask your admin for a new one.</p>',
            css,
          ),
        );
    }
    if (principal.role === 'agent' && !opts.roster.current().agents.some((a) => a.id === principal.agentId)) {
      return reply
        .code(410)
        .type('text/html; charset=utf-8')
        .send(page('Agent not found', '<p>This agent is no longer on the roster.</p>', css));
    }
    if (req.webSession) await sessions.deleteSession(req.webSession.id);
    const ttl = principal.role === 'agent' ? AGENT_SESSION_TTL_MS : SUPERVISOR_SESSION_TTL_MS;
    const id = await sessions.createSession(principal, ttl);
    req.log.info(
      { role: principal.role, agent: principal.role === 'agent' ? principal.agentId : undefined },
      'signed in',
    );
    reply.setCookie(COOKIE, id, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: secure(req),
      signed: true,
      maxAge: Math.floor(ttl / 1000),
    });
    return reply.redirect(principal.role === 'agent' ? '/console' : '/wallboard', 303);
  });

  app.post('/logout', { onRequest: csrf }, async (req, reply) => {
    if (req.webSession) await sessions.deleteSession(req.webSession.id);
    reply.clearCookie(COOKIE, { path: '/' });
    reply.clearCookie('sb_csrf', { path: '/' });
    return noStore(reply).code(204).send();
  });

  // ---- The pages -----------------------------------------------------------------------------
  const servePage =
    (name: 'console' | 'wallboard', role: Principal['role']) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      noStore(reply).type('text/html; charset=utf-8');
      if (!built)
        return reply
          .code(503)
          .send(page('Not built', '<p>The web app is not built: run <code>npm run build</code>.</p>', css));
      const s = req.webSession;
      if (!s)
        return reply
          .code(401)
          .send(
            page(
              'Please sign in',
              '<p>Open the sign-in link your admin gave you (it works once, for 15 minutes).</p>',
              css,
            ),
          );
      if (s.principal.role !== role)
        return reply.redirect(s.principal.role === 'agent' ? '/console' : '/wallboard', 303);
      return reply.send(html(name));
    };
  app.get('/console', servePage('console', 'agent'));
  app.get('/wallboard', servePage('wallboard', 'supervisor'));

  // ---- JSON for the pages (cookie session) -----------------------------------------------------
  await app.register(
    async (scope) => {
      const api = scope.withTypeProvider<TypeBoxTypeProvider>();
      api.addHook('onRequest', async (_req, reply) => {
        noStore(reply);
      });

      api.get('/me', async (req, reply) => {
        const s = requireSession(req);
        const csrfToken = reply.generateCsrf({ userInfo: s.key });
        const base = {
          csrfToken,
          statusAvailable: live.agentStatusAvailable,
          queuesAvailable: opts.queues !== undefined,
        };
        if (s.principal.role === 'supervisor') return { role: 'supervisor', ...base };
        const agent = agentOf(s);
        return {
          role: 'agent',
          agent: { id: agent.id, name: agent.name },
          softphone: !opts.telnyx
            ? { available: false, reason: 'the browser softphone needs TELNYX_API_KEY on the server' }
            : agent.source !== 'telnyx'
              ? {
                  available: false,
                  reason:
                    'this agent is configured in AGENTS, not synced from a Telnyx credential connection',
                }
              : { available: true },
          ...base,
        };
      });

      api.get('/console', async (req) => {
        const agent = agentOf(requireSession(req));
        const view = await live.console(agent.id);
        if (!view) throw SignedOut();
        return view;
      });

      api.get('/wallboard', async (req) => {
        requireSupervisor(req);
        return live.wallboard();
      });

      // Server-sent events: the whole view on connect and after each change. EventSource
      // reconnects by itself (after `retry` ms) when the network drops.
      api.get('/events', async (req, reply) => {
        const s = requireSession(req);
        const render =
          s.principal.role === 'supervisor' ? () => live.wallboard() : () => live.console(agentOf(s).id);
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
          ...(reply.getHeaders() as Record<string, string>),
        });
        res.write('retry: 1000\n\n');
        let sending = false;
        let again = false;
        let closed = false;
        const push = async () => {
          if (closed) return;
          if (sending) {
            again = true;
            return;
          }
          sending = true;
          try {
            do {
              again = false;
              // A revoked or expired session ends the stream.
              if (!(await sessions.getSession(s.id))) {
                res.write('event: signed-out\ndata: {}\n\n');
                res.end();
                closed = true;
                return;
              }
              const view = await render();
              if (!closed) res.write(`event: view\ndata: ${JSON.stringify(view)}\n\n`);
            } while (again && !closed);
          } catch (err) {
            req.log.warn({ err }, 'live view not sent; the next change retries');
          } finally {
            sending = false;
          }
        };
        const unsubscribe = live.subscribe(() => void push());
        const heartbeat = setInterval(() => {
          res.write(': keep-alive\n\n');
          void push();
        }, SSE_HEARTBEAT_MS);
        const stop = () => {
          closed = true;
          unsubscribe();
          clearInterval(heartbeat);
        };
        const end = () => {
          stop();
          res.end();
        };
        streams.add(end);
        res.on('close', () => {
          streams.delete(end);
          stop();
        });
        await push();
      });

      const StatusBody = Type.Object(
        {
          status: Type.Union(AGENT_STATUSES.map((s) => Type.Literal(s))),
          reason: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
        },
        { additionalProperties: false },
      );
      api.put(
        '/agents/:id/status',
        {
          onRequest: csrf,
          schema: { params: Type.Object({ id: Type.String({ maxLength: 128 }) }), body: StatusBody },
        },
        async (req) => {
          const s = requireActor(req, req.params.id);
          if (!opts.roster.current().agents.some((a) => a.id === req.params.id))
            throw new Errors.NotFound(`no agent ${req.params.id}`);
          if (!opts.agentStatus) throw StatusUnavailable();
          const { status, reason } = req.body as { status: AgentStatus; reason?: string };
          if (status === 'break' && !reason) throw new Errors.BadParameter('a break needs a reason');
          return opts.agentStatus.setStatus(
            req.params.id,
            status,
            status === 'break' ? reason : undefined,
            s.principal,
          );
        },
      );
      api.post(
        '/agents/:id/wrap-up/end',
        { onRequest: csrf, schema: { params: Type.Object({ id: Type.String({ maxLength: 128 }) }) } },
        async (req) => {
          requireActor(req, req.params.id);
          if (!opts.roster.current().agents.some((a) => a.id === req.params.id))
            throw new Errors.NotFound(`no agent ${req.params.id}`);
          if (!opts.agentStatus) throw StatusUnavailable();
          return opts.agentStatus.endWrapUp(req.params.id);
        },
      );

      // The console's heartbeat while its softphone is registered (every 30 s, lease 75 s).
      api.post(
        '/softphone/presence',
        {
          onRequest: csrf,
          schema: {
            body: Type.Object({ registered: Type.Boolean() }, { additionalProperties: false }),
          },
        },
        async (req, reply) => {
          const agent = agentOf(requireSession(req));
          if (!req.body.registered) {
            await presence.clear(agent.id);
            await presenceChanged(req);
            return reply.code(204).send();
          }
          let sipUsername: string;
          try {
            sipUsername = (await softphones.identity(agent)).sipUsername;
          } catch (err) {
            if (err instanceof SoftphoneUnavailable) throw new Errors.NotConfigured(err.message);
            throw new Errors.Upstream(describeTelnyxError(err));
          }
          await presence.set(agent.id, sipUsername, now() + SOFTPHONE_LEASE_MS);
          await presenceChanged(req);
          return reply.code(204).send();
        },
      );

      api.post('/softphone/token', { onRequest: csrf }, async (req) => {
        const agent = agentOf(requireSession(req));
        try {
          const { token, identity } = await softphones.token(agent);
          return { token, sipUsername: identity.sipUsername };
        } catch (err) {
          if (err instanceof SoftphoneUnavailable) throw new Errors.NotConfigured(err.message);
          req.log.warn({ err: describeTelnyxError(err) }, 'softphone token not minted');
          throw new Errors.Upstream(describeTelnyxError(err));
        }
      });
    },
    { prefix: '/web/api' },
  );
}

export default webPlugin;

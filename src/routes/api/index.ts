import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { CallStore } from '../../calls/call-store.js';
import type { ClickToCall } from '../../calls/click-to-call.js';
import type { SlidingWindow } from '../../limits/sliding-window.js';
import { bearerAuth } from './auth.js';
import callRoutes from './calls.js';
import { ErrorReply } from './schemas.js';

export interface AdminApiOptions {
  token: string;
  calls: CallStore;
  clickToCall: ClickToCall;
  publicUrl?: string;
  /** Failed logins per client address (throttled past AUTH_FAILURES_PER_MINUTE). */
  authFailures?: SlidingWindow;
  /** Further route plugins mounted under /api behind the same token (agents, stats). */
  extra?: Array<(api: FastifyInstance) => Promise<void>>;
}

/**
 * The admin API (docs/interface.md §6), registered only when API_TOKEN is set. Every route under
 * /api, the OpenAPI document included, needs the bearer token.
 */
async function adminApi(app: FastifyInstance, opts: AdminApiOptions): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Switchboard admin API', version: '1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    // Only the admin routes (tagged) are documented, not the Telnyx-facing ones.
    hideUntagged: true,
  });
  app.addSchema(ErrorReply);

  await app.register(
    async (api) => {
      api.addHook('onRequest', bearerAuth(opts.token, opts.authFailures));
      api.get('/openapi.json', { logLevel: 'warn' }, async () => app.swagger());
      await api.register(callRoutes, {
        calls: opts.calls,
        clickToCall: opts.clickToCall,
        publicUrl: opts.publicUrl,
      });
      for (const plugin of opts.extra ?? []) await api.register(plugin);
    },
    { prefix: '/api' },
  );
}

export default fp(adminApi, { name: 'admin-api' });

import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { memoryLogger } from '../jobs/test-logger.js';

const TOKEN = 'tok-0123456789abcdef';

describe('admin API messages a newcomer can act on', () => {
  const apps: Array<{ close(): Promise<unknown> }> = [];
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.close();
  });
  const build = async (env: Record<string, string>) => {
    const app = await buildApp(loadConfig(env), { redis: null, logger: memoryLogger('silent') });
    apps.push(app);
    return app;
  };

  it('with API_TOKEN unset, /api/* says how to turn the admin API on', async () => {
    const app = await build({});
    for (const url of ['/api', '/api/calls', '/api/stats?date=2026-11-19', '/api/agents/x/call']) {
      const res = await app.inject({ url, method: url.endsWith('/call') ? 'POST' : 'GET' });
      expect(res.statusCode, url).toBe(404);
      expect(res.json(), url).toMatchObject({
        code: 'SB_API_OFF',
        message: 'the admin API is off: set API_TOKEN to enable the admin API',
      });
    }
    // Other unknown paths keep the generic answer.
    expect((await app.inject('/nope')).json()).toMatchObject({ code: 'SB_NOT_FOUND' });
  });

  it('a bad status filter on GET /api/calls names the allowed values', async () => {
    const app = await build({ API_TOKEN: TOKEN });
    const res = await app.inject({
      url: '/api/calls?status=ended',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'SB_VALIDATION',
      message: 'querystring/status must be one of: active',
    });
  });
});

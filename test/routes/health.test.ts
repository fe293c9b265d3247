import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { isLoopbackUrl } from '../../src/config-warnings.js';
import { startServer, type TestServer } from '../helper.js';

const KEY = Buffer.alloc(32, 7).toString('base64');

describe('configuration warnings and readiness', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const start = async (env: Record<string, string>) => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _enc, done) {
          lines.push(JSON.parse(String(chunk)));
          done();
        },
      }),
    );
    server = await startServer({ store: 'memory', env, deps: { logger, warningEveryMs: 50 } });
    return lines;
  };
  const unsigned = (lines: Array<Record<string, unknown>>) =>
    lines.filter((l) => l.level === 50 && /TELNYX_PUBLIC_KEY is not set/.test(String(l.msg)));

  it('no TELNYX_PUBLIC_KEY on a public PUBLIC_URL: an error at start and every minute; /readyz 200 with the warning', async () => {
    const lines = await start({ PUBLIC_URL: 'https://calls.example.com' });
    expect(unsigned(lines).length).toBeGreaterThanOrEqual(1);
    await new Promise((resolve) => setTimeout(resolve, 180));
    expect(unsigned(lines).length).toBeGreaterThanOrEqual(3);
    const res = await fetch(`${server!.url}/readyz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; warnings?: string[] };
    expect(body.status).toBe('ready');
    expect(body.warnings).toEqual([expect.stringMatching(/TELNYX_PUBLIC_KEY is not set.*forge/)]);
  });

  it.each([
    ['a loopback PUBLIC_URL', { PUBLIC_URL: 'http://127.0.0.1:8080' }],
    ['the key set', { PUBLIC_URL: 'https://calls.example.com', TELNYX_PUBLIC_KEY: KEY }],
  ])('nothing to warn about with %s', async (_name, env) => {
    const lines = await start(env);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(unsigned(lines)).toEqual([]);
    const body = (await (await fetch(`${server!.url}/readyz`)).json()) as { warnings?: string[] };
    expect(body.warnings).toBeUndefined();
  });

  it('draining (after SIGTERM): /readyz 503, other requests still served with Connection: close', async () => {
    await start({});
    expect((await fetch(`${server!.url}/readyz`)).status).toBe(200);
    server!.app.services.lifecycle.draining = true;
    const ready = await fetch(`${server!.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'shutting down' });
    const health = await fetch(`${server!.url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('connection')).toBe('close');
  });

  it('knows loopback URLs', () => {
    for (const url of [
      'http://localhost:8080',
      'http://127.0.0.1',
      'http://127.1.2.3:9',
      'http://[::1]:8080',
    ])
      expect(isLoopbackUrl(url), url).toBe(true);
    for (const url of [
      'https://calls.example.com',
      'http://10.0.0.1',
      'http://localhost.example.com',
      'nope',
    ])
      expect(isLoopbackUrl(url), url).toBe(false);
  });
});

import { type Browser as Chromium, chromium } from 'playwright-core';
import { FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';
import { createTelnyxClient } from '../../src/telnyx/client.js';
import { startServer, type TestServer } from '../helper.js';

export const API_TOKEN = 'test-api-token-0123456789';
export const SESSION_SECRET = 'a-session-secret-of-at-least-32-bytes!!';

/**
 * Debian's Chromium, headless, as the browser tests drive it: without background networking
 * (this machine's closed network refuses its calls), and with a fake microphone that needs no
 * person to allow it.
 */
export function launchChromium(): Promise<Chromium> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
    ],
  });
}

/** A tiny cookie jar over fetch: what a browser would keep between requests to one server. */
export class Browser {
  readonly cookies = new Map<string, string>();
  csrf = '';

  constructor(readonly base: string) {}

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0)
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(`${this.base}${path}`, { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === '' || /Expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  /** Opens a sign-in link and presses its button, as a person would. */
  async signIn(url: string): Promise<Response> {
    const path = new URL(url).pathname;
    const page = await this.fetch(path);
    if (page.status !== 200) return page;
    const token = /name="token" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
    return this.fetch('/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    });
  }

  async me(): Promise<Record<string, unknown>> {
    const res = await this.fetch('/web/api/me');
    const body = (await res.json()) as Record<string, unknown>;
    if (res.ok) this.csrf = body.csrfToken as string;
    return { status: res.status, ...body };
  }

  json(method: string, path: string, body?: unknown, csrf = this.csrf): Promise<Response> {
    return this.fetch(path, {
      method,
      headers: {
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...(csrf && { 'x-csrf-token': csrf }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  }
}

export async function loginLink(
  server: TestServer,
  who: { agent: string } | 'supervisor',
): Promise<{ status: number; url: string; body: Record<string, unknown> }> {
  const path =
    who === 'supervisor'
      ? '/api/supervisors/login-link'
      : `/api/agents/${encodeURIComponent(who.agent)}/login-link`;
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_TOKEN}` },
  });
  const body = (await res.json()) as Record<string, unknown>;
  return { status: res.status, url: String(body.url ?? ''), body };
}

/** Reads server-sent events from a response body, yielding each `{ event, data }`. */
export async function* sseEvents(res: Response): AsyncGenerator<{ event: string; data: string }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) yield { event, data: data.join('\n') };
    }
  }
}

/**
 * The fake Telnyx API with one agent's SIP connection (Dana, id 2001, SIP URI calling internal)
 * and a server whose roster sync reads it, as the browser tests start them: the admin API and the
 * console on, no static agents. `env` adds or overrides settings.
 */
export async function startWithDana(options: {
  registration: 'Registered' | 'Not Registered';
  env?: Record<string, string>;
}): Promise<{ server: TestServer; telnyx: FakeTelnyxApi }> {
  const telnyx = await FakeTelnyxApi.start();
  telnyx.addConnection({
    id: '2001',
    connection_name: 'Dana',
    user_name: 'dana2001',
    sip_uri_calling_preference: 'internal',
    registration: options.registration,
  });
  const server = await startServer({
    env: {
      API_TOKEN,
      SESSION_SECRET,
      AGENTS: '',
      TELNYX_API_KEY: telnyx.apiKey,
      TELNYX_API_BASE_URL: telnyx.baseUrl,
      ...options.env,
    },
    deps: { telnyx: createTelnyxClient({ apiKey: telnyx.apiKey, baseUrl: telnyx.baseUrl, maxRetries: 0 }) },
  });
  return { server, telnyx };
}

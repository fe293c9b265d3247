import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import type { Browser as Chromium, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';
import { RedisSoftphonePresenceStore } from '../../src/web/softphone-presence.js';
import { eventually, type TestServer } from '../helper.js';
import { ensureWebBuilt } from './build-web.js';
import { VertoStandIn } from './verto-standin.js';
import { API_TOKEN, launchChromium, loginLink, startWithDana } from './web-test-kit.js';

/**
 * The console's softphone on the REAL @telnyx/webrtc SDK (the version in node_modules, loaded from
 * the built page's own chunk, web/src/softphone/telnyx-sdk.ts unchanged) in Chromium, against a
 * local stand-in for Telnyx's WebRTC signalling (verto-standin.ts) that answers the SDK's socket
 * to wss://rtc.telnyx.com. The far end of each call is a second page with its own
 * RTCPeerConnection: its SDP offer goes to the SDK in `telnyx_rtc.invite`, the SDK's SDP answer
 * comes back in `telnyx_rtc.answer`, and audio from the agent's (fake) microphone reaches it.
 * Login with the server-minted JWT, ring, answer, mute, hold, hang up, and the caller hanging up
 * all run through the SDK's own code (docs/interface.md §8).
 */

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CALLER = '+13125550123';
/** The SDK version under test: the one installed (package-lock.json). */
const SDK_VERSION = (
  JSON.parse(readFileSync(join(ROOT, 'node_modules/@telnyx/webrtc/package.json'), 'utf8')) as {
    version: string;
  }
).version;

/** Page-side code: the far end of a call, and a look at the page's peer connections. */
const PAGE_SCRIPT = readFileSync(join(ROOT, 'test/web/webrtc-page.js'), 'utf8');
type PageGlobals = {
  __far: { offer(): Promise<string>; answer(sdp: string): Promise<number>; close(): void };
  __micTracks(): Array<boolean | undefined>;
  __heard(): Promise<{ packets: number; playing: boolean }>;
};

describe('the softphone on the real @telnyx/webrtc SDK, against a local signalling stand-in', () => {
  let server: TestServer;
  let telnyx: FakeTelnyxApi;
  let browser: Chromium;
  let agentPage: Page;
  let standin: VertoStandIn;
  let far: Page;
  const httpToTelnyx: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    ensureWebBuilt();
    ({ server, telnyx } = await startWithDana({ registration: 'Not Registered' }));
    // The at-start roster sync puts Dana on the roster (her login link needs her there).
    await eventually(async () => {
      const res = await fetch(`${server.url}/api/agents`, {
        headers: { authorization: `Bearer ${API_TOKEN}` },
      });
      expect(((await res.json()) as { agents: unknown[] }).agents).toHaveLength(1);
    }, 15_000);
    browser = await launchChromium();
    far = await (await browser.newContext()).newPage();
    await far.goto('about:blank');
    await far.evaluate(PAGE_SCRIPT);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await telnyx?.close();
  });

  /** A signed-in console page whose SDK socket meets a fresh stand-in. */
  async function consolePage(): Promise<{ page: Page; standin: VertoStandIn }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    // The peer connections the page makes, to look at the microphone track under mute.
    await page.addInitScript({ content: PAGE_SCRIPT });
    const s = new VertoStandIn(telnyx);
    await s.attach(page);
    // Anything else the SDK might send to Telnyx over HTTP (call reports, logs) is caught here.
    await page.route(/^https?:\/\/[^/]*telnyx\.com\//, (route) => {
      httpToTelnyx.push(route.request().url());
      return route.abort();
    });
    await page.goto((await loginLink(server, { agent: '2001' })).url);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/console`);
    return { page, standin: s };
  }

  const micEnabled = () => agentPage.evaluate(() => (globalThis as unknown as PageGlobals).__micTracks());
  const farOffer = () => far.evaluate(() => (globalThis as unknown as PageGlobals).__far.offer());

  it('logs in at wss://rtc.telnyx.com with the JWT the server minted, and registers', async () => {
    ({ page: agentPage, standin } = await consolePage());
    const sdkChunk = agentPage.waitForResponse(/\/assets\/telnyx-sdk-[^/]+\.js$/);
    await agentPage.getByRole('button', { name: 'Turn on' }).click();
    expect((await sdkChunk).status()).toBe(200);
    await agentPage.getByText('Ready: calls ring here').waitFor({ timeout: 10_000 });

    // The SDK's own host (production's), with no test-only host anywhere.
    expect(standin.urls).toHaveLength(1);
    expect(new URL(standin.urls[0]!).origin).toBe('wss://rtc.telnyx.com');
    const [login] = standin.requests('login');
    const [cred] = telnyx.telephonyCredentials();
    // The token is the one minted for Dana's credential; no SIP password reached the browser.
    expect(telnyx.tokens.at(-1)?.credentialId).toBe(cred?.id);
    expect(login?.params).toMatchObject({
      login_token: telnyx.tokens.at(-1)?.token,
      'User-Agent': { sdkVersion: SDK_VERSION },
    });
    expect(login?.params?.passwd).toBeUndefined();
    expect(JSON.stringify(standin.received)).not.toContain(cred?.sip_password);
    expect(standin.sipUser).toBe(cred?.sip_username);
    // Registered only once the stand-in reported REGED for the gateway state the SDK asked for.
    expect(standin.received.map((m) => m.method ?? 'ack').slice(0, 2)).toEqual([
      'login',
      'telnyx_rtc.gatewayState',
    ]);
    // The page told the server: Dana's calls now ring the credential's SIP user.
    const presence = new RedisSoftphonePresenceStore(server.redis as Redis);
    await eventually(async () =>
      expect(await presence.all(Date.now())).toEqual({ '2001': cred?.sip_username }),
    );
  }, 60_000);

  it('an offered call rings; answer sends real audio; mute, hold and hang-up go through the SDK', async () => {
    const callID = randomUUID();
    const before = standin.received.length;
    standin.invite({ callID, sdp: await farOffer(), from: CALLER });
    const call = agentPage.getByTestId('softphone-call');
    await call.getByText(`Ringing: ${CALLER}`).waitFor({ timeout: 5_000 });
    // The SDK acknowledged the invite, as its VertoHandler does.
    expect(standin.received.slice(before)).toContainEqual(
      expect.objectContaining({ result: { method: 'telnyx_rtc.invite' } }),
    );

    const answered = standin.next('telnyx_rtc.answer');
    await agentPage.getByRole('button', { name: 'Answer' }).click();
    const answer = await answered;
    expect(answer.params).toMatchObject({
      sessid: expect.any(String),
      dialogParams: { callID, remote_caller_id_number: CALLER },
    });
    const sdp = String(answer.params?.sdp);
    expect(sdp).toMatch(/^m=audio /m);
    expect(sdp).toMatch(/^a=sendrecv/m);
    // The answer is a real one: the far end connects and hears the agent's microphone, and the
    // caller's audio reaches the agent's page and plays in its <audio> element.
    expect(
      await far.evaluate((sdp) => (globalThis as unknown as PageGlobals).__far.answer(sdp), sdp),
    ).toBeGreaterThan(0);
    await eventually(async () => {
      const heard = await agentPage.evaluate(() => (globalThis as unknown as PageGlobals).__heard());
      expect(heard.playing).toBe(true);
      expect(heard.packets).toBeGreaterThan(0);
    });
    await call.getByText(`Talking: ${CALLER}`).waitFor({ timeout: 5_000 });

    // Mute is local to the SDK (the microphone track is disabled), with no signalling.
    const sent = standin.received.length;
    expect(await micEnabled()).toEqual([true]);
    await agentPage.getByRole('button', { name: 'Mute' }).click();
    await agentPage.getByRole('button', { name: 'Unmute' }).waitFor();
    expect(await micEnabled()).toEqual([false]);
    await agentPage.getByRole('button', { name: 'Unmute' }).click();
    await agentPage.getByRole('button', { name: 'Mute' }).waitFor();
    expect(await micEnabled()).toEqual([true]);
    expect(standin.received.slice(sent).filter((m) => m.method !== 'telnyx_rtc.ping')).toEqual([]);

    // Hold and resume: telnyx_rtc.modify, the page following the server's holdState.
    const held = standin.next('telnyx_rtc.modify');
    await agentPage.getByRole('button', { name: 'Hold' }).click();
    expect((await held).params).toMatchObject({ action: 'hold', dialogParams: { callID } });
    await call.getByText(`On hold: ${CALLER}`).waitFor({ timeout: 5_000 });
    const resumed = standin.next('telnyx_rtc.modify');
    await agentPage.getByRole('button', { name: 'Resume' }).click();
    expect((await resumed).params).toMatchObject({ action: 'unhold', dialogParams: { callID } });
    await call.getByText(`Talking: ${CALLER}`).waitFor({ timeout: 5_000 });

    // Hang up: telnyx_rtc.bye with a normal clearing, and the phone is ready again.
    const bye = standin.next('telnyx_rtc.bye');
    await agentPage.getByRole('button', { name: 'Hang up' }).click();
    expect((await bye).params).toMatchObject({
      cause: 'NORMAL_CLEARING',
      causeCode: 16,
      dialogParams: { callID },
    });
    await agentPage.getByText('Ready: calls ring here').waitFor({ timeout: 5_000 });
    await call.waitFor({ state: 'detached', timeout: 5_000 });
    await far.evaluate(() => (globalThis as unknown as PageGlobals).__far.close());
  }, 60_000);

  it('the caller hanging up while it rings ends the ringing, with nothing answered', async () => {
    const callID = randomUUID();
    standin.invite({ callID, sdp: await farOffer(), from: CALLER });
    const call = agentPage.getByTestId('softphone-call');
    await call.getByText(`Ringing: ${CALLER}`).waitFor({ timeout: 5_000 });
    const acked = standin.next(
      (m) => (m.result as { method?: string } | undefined)?.method === 'telnyx_rtc.bye',
    );
    standin.bye(callID);
    await acked;
    await call.waitFor({ state: 'detached', timeout: 5_000 });
    expect(await agentPage.getByText('Ready: calls ring here').isVisible()).toBe(true);
    expect(
      standin.received.filter((m) => (m.params?.dialogParams as { callID?: string })?.callID === callID),
    ).toEqual([]);
    await far.evaluate(() => (globalThis as unknown as PageGlobals).__far.close());
  }, 30_000);

  it('the agent declines a ringing call, then turns the softphone off', async () => {
    const callID = randomUUID();
    standin.invite({ callID, sdp: await farOffer(), from: CALLER });
    const call = agentPage.getByTestId('softphone-call');
    await call.getByText(`Ringing: ${CALLER}`).waitFor({ timeout: 5_000 });
    const bye = standin.next('telnyx_rtc.bye');
    await agentPage.getByRole('button', { name: 'Decline' }).click();
    // Declined before answering: busy, as the SDK's hang-up of an unanswered call says.
    expect((await bye).params).toMatchObject({ cause: 'USER_BUSY', causeCode: 17, dialogParams: { callID } });
    await call.waitFor({ state: 'detached', timeout: 5_000 });
    expect(standin.requests('telnyx_rtc.answer').map((m) => m.params?.dialogParams)).not.toContainEqual(
      expect.objectContaining({ callID }),
    );
    await far.evaluate(() => (globalThis as unknown as PageGlobals).__far.close());

    // Turning it off closes the SDK's socket.
    await agentPage.getByRole('button', { name: 'Turn off' }).click();
    await agentPage.getByTestId('softphone-phase').getByText('Off').waitFor({ timeout: 5_000 });
    await eventually(() => expect(standin.closed).toBe(1));
  }, 30_000);

  it('a token Telnyx did not mint is refused, and the page says so', async () => {
    const { page, standin: other } = await consolePage();
    // The page gets a token that is not one the (fake) Telnyx API minted.
    await page.route('**/web/api/softphone/token', (route) =>
      route.fulfill({ json: { token: 'eyJhbGciOiJIUzUxMiJ9.e30.forged', sipUsername: 'nobody' } }),
    );
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByRole('alert').getByText('Authentication failed').waitFor({ timeout: 10_000 });
    expect(other.requests('login')).toHaveLength(1);
    expect(other.sipUser).toBeUndefined();
    expect(await page.getByText('Ready: calls ring here').count()).toBe(0);
    await page.context().close();
  }, 30_000);

  it('a call that ends before the SDK registered leaves the phone connecting, and not offerable', async () => {
    const { page, standin: other } = await consolePage();
    other.gatewayState = 'TRYING';
    const reported: boolean[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/web/api/softphone/presence')) reported.push(r.postDataJSON().registered);
    });
    await page.getByRole('button', { name: 'Turn on' }).click();
    await other.next('telnyx_rtc.gatewayState');
    const callID = randomUUID();
    other.invite({ callID, sdp: await farOffer(), from: CALLER });
    const call = page.getByTestId('softphone-call');
    await call.getByText(`Ringing: ${CALLER}`).waitFor({ timeout: 5_000 });
    other.bye(callID);
    await call.waitFor({ state: 'detached', timeout: 5_000 });
    expect(await page.getByTestId('softphone-phase').textContent()).toBe('Connecting…');
    expect(reported).toEqual([]);
    await page.context().close();
  }, 30_000);

  it('sent nothing to Telnyx over HTTP and threw no page errors', () => {
    expect(httpToTelnyx).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});

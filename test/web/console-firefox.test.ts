import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';
import { eventually, type TestServer } from '../helper.js';
import { ensureWebBuilt } from './build-web.js';
import { answer, hangUp, type LiveCall, ringAgents } from './live-call.js';
import { API_TOKEN, loginLink, startWithDana } from './web-test-kit.js';

/**
 * The console and the wallboard in Debian's stock Firefox (firefox-esr), driven by puppeteer-core
 * over WebDriver BiDi (https://pptr.dev/webdriver-bidi; Puppeteer 23 and later support Firefox 129
 * and later, https://developer.chrome.com/docs/puppeteer). playwright-core cannot drive a stock
 * Firefox (it needs Playwright's own patched build), hence a second driver for this one file.
 * puppeteer-core is pinned to 24.43.1, the last release that runs on Node 20 (25 needs 22.12).
 *
 * Against a real server, the fake Telnyx API and the TelnyxPlayer (docs/interface.md §8): an agent
 * signs in by link, works the status controls by keyboard and sets herself available, a simulated
 * call rings her desk phone and shows on the console and the wallboard, she ends wrap-up, the
 * wallboard's numbers match /api/stats, the live feed reconnects after a drop, both pages fit a
 * phone-sized screen, the softphone turns on with Firefox's (fake) microphone and a server-minted
 * token and takes a call from the SDK stand-in, and no page breaks its Content-Security-Policy or
 * throws. The microphone refusal and the softphone's hold are left to the Chromium test
 * (test/web/console-browser.test.ts): this file stays lean for CI. Screenshots go to
 * test-results/*-firefox.png.
 *
 * Skipped only when there is no Firefox binary here; .ci/run installs firefox-esr when missing.
 */

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const FIREFOX =
  process.env.FIREFOX_PATH ?? ['/usr/bin/firefox-esr', '/usr/bin/firefox'].find((p) => existsSync(p));
const STANDIN = readFileSync(join(ROOT, 'test/web/softphone-standin.js'), 'utf8');
const CALLER = '+13125550177';
const DESK = 'sip:dana2001@sip.telnyx.com';

/** What a page reported that it should not have: uncaught errors, console errors, CSP violations. */
async function watch(page: Page): Promise<() => Promise<string[]>> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  // Firefox forwards a CSP violation as a page error; the page's own `securitypolicyviolation`
  // event is a second witness that does not depend on what the driver forwards.
  await page.evaluateOnNewDocument(() => {
    const g = globalThis as unknown as {
      __csp: string[];
      document: { addEventListener(t: string, f: (e: Record<string, string>) => void): void };
    };
    g.__csp = [];
    g.document.addEventListener('securitypolicyviolation', (e) =>
      g.__csp.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  return async () => [
    ...errors,
    ...(await page.evaluate(() => (globalThis as unknown as { __csp: string[] }).__csp)),
  ];
}

/** Waits until the element with `testid` shows `text`; else fails with what it shows. */
async function shows(page: Page, testid: string, text: string, timeout = 5_000): Promise<void> {
  const sel = `[data-testid="${testid}"]`;
  try {
    await page.waitForFunction(
      (s, t) =>
        (
          globalThis as unknown as {
            document: { querySelector(s: string): { textContent: string } | null };
          }
        ).document
          .querySelector(s)
          ?.textContent.includes(t),
      // Not 'raf': Firefox runs no animation frames in a tab that is not in front.
      { timeout, polling: 50 },
      sel,
      text,
    );
  } catch (err) {
    const now = await page.$eval(sel, (el) => el.textContent).catch(() => '(not on the page)');
    throw new Error(`${testid} did not show ${JSON.stringify(text)} within ${timeout} ms: ${now}`, {
      cause: err,
    });
  }
}

const textOf = (page: Page, selector: string) => page.$eval(selector, (el) => el.textContent ?? '');

/**
 * Moves the keyboard focus to `selector` with Tab (or Shift+Tab when it lies before the focused
 * element), as a keyboard user would, and fails if it cannot be reached within 12 presses.
 */
async function tabTo(page: Page, selector: string): Promise<void> {
  await page.waitForSelector(selector, { timeout: 5_000 });
  for (let i = 0; i < 12; i++) {
    const where = await page.$eval(selector, (target) => {
      const active = target.ownerDocument.activeElement;
      if (active === target) return 'here';
      if (!active || active === target.ownerDocument.body) return 'after';
      // DOCUMENT_POSITION_FOLLOWING (4): the target comes after the focused element.
      return active.compareDocumentPosition(target) & 4 ? 'after' : 'before';
    });
    if (where === 'here') return;
    if (where === 'after') await page.keyboard.press('Tab');
    else {
      await page.keyboard.down('Shift');
      await page.keyboard.press('Tab');
      await page.keyboard.up('Shift');
    }
  }
  throw new Error(`could not reach ${selector} with Tab`);
}

const button = (label: string) => `::-p-aria([name=${JSON.stringify(label)}][role="button"])`;

const SKIPPED =
  'skipped: no Firefox binary at /usr/bin/firefox-esr or /usr/bin/firefox (apt-get install firefox-esr, as .ci/run does, or set FIREFOX_PATH)';
if (!FIREFOX) console.warn(`test/web/console-firefox.test.ts ${SKIPPED}`);

describe.skipIf(!FIREFOX)(`console and wallboard in Firefox${FIREFOX ? '' : ` (${SKIPPED})`}`, () => {
  let server: TestServer;
  let telnyx: FakeTelnyxApi;
  let browser: Browser;
  let agentPage: Page;
  let boardPage: Page;
  let agentErrors: () => Promise<string[]>;
  let boardErrors: () => Promise<string[]>;
  let call: LiveCall;

  beforeAll(async () => {
    ensureWebBuilt();
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    ({ server, telnyx } = await startWithDana({
      registration: 'Registered',
      env: {
        // Long enough that the agent ends it herself.
        WRAP_UP_SECONDS: '120',
      },
    }));
    // The at-start roster sync: Dana is on the roster, her desk phone registered.
    await eventually(
      async () =>
        expect((await agents()).agents).toEqual([expect.objectContaining({ id: '2001', online: true })]),
      15_000,
    );
    browser = await puppeteer.launch({
      browser: 'firefox',
      protocol: 'webDriverBiDi',
      executablePath: FIREFOX,
      headless: true,
      // A fake microphone that needs no person to allow it: the preferences Mozilla's own test
      // harness sets for getUserMedia (mozilla-central, testing/mochitest/runtests.py).
      extraPrefsFirefox: {
        'media.navigator.streams.fake': true,
        'media.navigator.permission.disabled': true,
      },
    });
  }, 120_000);

  const agents = async () =>
    (await (
      await fetch(`${server.url}/api/agents`, { headers: { authorization: `Bearer ${API_TOKEN}` } })
    ).json()) as {
      agents: Array<{ id: string; online: boolean; sip: string; status: string; state: string }>;
    };

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await telnyx?.close();
  });

  it('an agent signs in by link and sets her status by keyboard, ending available', async () => {
    // Each page in its own context: the agent's and the supervisor's session cookies apart.
    agentPage = await (await browser.createBrowserContext()).newPage();
    await agentPage.setViewport({ width: 1280, height: 860 });
    agentErrors = await watch(agentPage);
    const link = await loginLink(server, { agent: '2001' });
    await agentPage.goto(link.url);
    await Promise.all([agentPage.waitForNavigation(), agentPage.locator(button('Sign in')).click()]);
    expect(agentPage.url()).toBe(`${server.url}/console`);
    await shows(agentPage, 'no-call', 'No call right now.');
    await shows(agentPage, 'feed', 'live');
    // The server's cookie is HttpOnly: the page's script cannot read it.
    expect(
      await agentPage.evaluate(
        () => (globalThis as unknown as { document: { cookie: string } }).document.cookie,
      ),
    ).toBe('');
    await shows(agentPage, 'status', 'Available');

    // Offline, a coffee break, then available again: Tab, arrow keys, Enter and Space only.
    await tabTo(agentPage, button('Offline'));
    await agentPage.keyboard.press('Enter');
    await shows(agentPage, 'status', 'Offline');
    await tabTo(agentPage, 'select');
    await agentPage.keyboard.press('ArrowDown');
    expect(await agentPage.$eval('select', (s) => (s as unknown as { value: string }).value)).toBe('coffee');
    await tabTo(agentPage, button('Break'));
    await agentPage.keyboard.press(' ');
    await shows(agentPage, 'status', 'Break (coffee)');
    await tabTo(agentPage, button('Available'));
    await agentPage.keyboard.press('Enter');
    await shows(agentPage, 'status', 'Available');
    await shows(agentPage, 'state', 'Idle');
    expect((await agents()).agents).toEqual([
      expect.objectContaining({ id: '2001', status: 'available', state: 'idle' }),
    ]);
  }, 60_000);

  it('a supervisor signs in by link to the wallboard', async () => {
    boardPage = await (await browser.createBrowserContext()).newPage();
    await boardPage.setViewport({ width: 1440, height: 1000 });
    boardErrors = await watch(boardPage);
    const link = await loginLink(server, 'supervisor');
    await boardPage.goto(link.url);
    await Promise.all([boardPage.waitForNavigation(), boardPage.locator(button('Sign in')).click()]);
    expect(boardPage.url()).toBe(`${server.url}/wallboard`);
    await shows(boardPage, 'feed', 'live');
    await shows(boardPage, 'queue-support', '0');
    expect(await textOf(boardPage, '[data-testid="kpi-offered"] .kpi-value')).toBe('0');
  }, 60_000);

  it('a simulated call shows on the console and the wallboard, then wrap-up is ended', async () => {
    const t0 = Date.now();
    call = await ringAgents(server.player, CALLER);
    expect(call.legs.map((l) => l.to)).toEqual([DESK]);
    await shows(agentPage, 'call', 'Incoming call');
    const consoleMs = Date.now() - t0;
    await shows(boardPage, 'calls', CALLER);
    const boardMs = Date.now() - t0;
    expect(await textOf(agentPage, '[data-testid="caller"]')).toContain(CALLER);
    expect(await textOf(agentPage, '[data-testid="call-queue"]')).toBe('support');
    await shows(boardPage, 'agents', 'Ringing');
    expect(consoleMs).toBeLessThan(1_000 + 500); // + the player's own requests
    expect(boardMs).toBeLessThan(2_000 + 500);

    await answer(server.player, call, DESK, 5);
    await shows(agentPage, 'call', 'On call');
    await shows(boardPage, 'agents', 'On call');
    for (const [page, name] of [
      [agentPage, 'console'],
      [boardPage, 'wallboard'],
    ] as const) {
      await page.bringToFront();
      await page.screenshot({ path: join(ROOT, `test-results/${name}-firefox.png`), fullPage: true });
    }

    await hangUp(server.player, call, 47);
    await shows(agentPage, 'no-call', 'No call right now.');
    await shows(agentPage, 'state', 'Wrap-up');
    await shows(boardPage, 'agents', 'Wrap-up');
    // Keys go to the tab in front, as for a person.
    await agentPage.bringToFront();
    await tabTo(agentPage, button('End wrap-up'));
    await agentPage.keyboard.press('Enter');
    await shows(agentPage, 'state', 'Idle');
    await shows(boardPage, 'agents', 'Idle');
  }, 60_000);

  it('the wallboard shows the numbers of /api/stats, without a reload', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const stats = (await (
      await fetch(`${server.url}/api/stats?date=${today}`, {
        headers: { authorization: `Bearer ${API_TOKEN}` },
      })
    ).json()) as { offered: number; answered: number; abandoned: number };
    expect(stats).toMatchObject({ offered: 1, answered: 1, abandoned: 0, serviceLevel: 1 });
    const kpi = (id: string) => textOf(boardPage, `[data-testid="kpi-${id}"] .kpi-value`);
    await eventually(async () => expect(await kpi('offered')).toBe(String(stats.offered)), 5_000);
    expect(await kpi('answered')).toBe(String(stats.answered));
    expect(await kpi('abandoned')).toBe(String(stats.abandoned));
    expect(await kpi('service-level')).toBe('100%');
    expect(await kpi('asa')).toBe('0:05');
    expect(await kpi('aht')).toBe('0:47');
    // uPlot draws into a canvas.
    expect(await boardPage.$$eval('.chart canvas', (c) => c.length)).toBe(1);
  }, 30_000);

  it('the live feed reconnects by itself after the connection drops', async () => {
    server.app.server.closeAllConnections();
    await shows(agentPage, 'feed', 'reconnecting…');
    await shows(agentPage, 'feed', 'live');
    await shows(boardPage, 'feed', 'live');
    // And it is live: a status change made elsewhere shows at once.
    await fetch(`${server.url}/api/agents/2001/status`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'break', reason: 'lunch' }),
    });
    await shows(agentPage, 'status', 'Break (lunch)');
  }, 30_000);

  it('fits a phone-sized screen without sideways scrolling', async () => {
    for (const [page, name] of [
      [agentPage, 'console'],
      [boardPage, 'wallboard'],
    ] as const) {
      await page.setViewport({ width: 390, height: 844 });
      const overflow = await page.evaluate(() => {
        const g = globalThis as unknown as {
          innerWidth: number;
          document: { documentElement: { scrollWidth: number } };
        };
        return g.document.documentElement.scrollWidth - g.innerWidth;
      });
      expect(overflow, name).toBeLessThanOrEqual(0);
      // Firefox paints a tab that is not in front only when it comes to the front (uPlot resizes
      // its chart in an animation frame), as a person looking at the page would bring it.
      await page.bringToFront();
      await page.screenshot({ path: join(ROOT, `test-results/${name}-phone-firefox.png`), fullPage: true });
    }
  }, 30_000);

  it("turns the softphone on with Firefox's microphone and a server-minted token, rings, answers, hangs up", async () => {
    // A page of its own: the SDK chunk is replaced by the local stand-in (same export, no Telnyx).
    const page = await (await browser.createBrowserContext()).newPage();
    const errors = await watch(page);
    await page.setRequestInterception(true);
    page.on('request', (r) =>
      /\/assets\/telnyx-sdk-[^/]+\.js$/.test(r.url())
        ? r.respond({ contentType: 'text/javascript', body: STANDIN })
        : r.continue(),
    );
    await page.goto((await loginLink(server, { agent: '2001' })).url);
    await Promise.all([page.waitForNavigation(), page.locator(button('Sign in')).click()]);
    await tabTo(page, button('Turn on'));
    await page.keyboard.press('Enter');
    await shows(page, 'softphone-phase', 'Ready: calls ring here');
    const standin = () =>
      (globalThis as unknown as { __standin: { token: string; actions: string[]; ring(n: string): void } })
        .__standin;
    expect(await page.evaluate(standin)).toMatchObject({ token: telnyx.tokens.at(-1)?.token });
    // The page told the server: Dana is now rung at the telephony credential's SIP user.
    const sip = `sip:${telnyx.telephonyCredentials()[0]?.sip_username}@sip.telnyx.com`;
    await eventually(async () => expect((await agents()).agents).toEqual([expect.objectContaining({ sip })]));

    await page.evaluate((n) => {
      (globalThis as unknown as { __standin: { ring(n: string): void } }).__standin.ring(n);
    }, CALLER);
    await shows(page, 'softphone-call', `Ringing: ${CALLER}`);
    await page.locator(button('Answer')).click();
    await page.locator(button('Mute')).click();
    await page.locator(button('Hang up')).click();
    await shows(page, 'softphone-phase', 'Ready: calls ring here');
    await page.locator(button('Turn off')).click();
    await eventually(async () =>
      expect((await agents()).agents).toEqual([expect.objectContaining({ sip: DESK })]),
    );
    expect((await page.evaluate(standin)).actions).toEqual(['answer', 'mute', 'hangup', 'disconnect']);
    expect(await errors()).toEqual([]);
  }, 30_000);

  it('neither page threw, logged an error or broke its Content-Security-Policy', async () => {
    expect(await agentErrors()).toEqual([]);
    expect(await boardErrors()).toEqual([]);
  });
});

import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import type { Browser as Chromium, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';
import { RedisSoftphonePresenceStore } from '../../src/web/softphone-presence.js';
import { eventually, type TestServer } from '../helper.js';
import { ensureWebBuilt } from './build-web.js';
import { answer, hangUp, type LiveCall, ringAgents } from './live-call.js';
import { API_TOKEN, launchChromium, loginLink, startWithDana } from './web-test-kit.js';

/**
 * The console and the wallboard in a real Chromium (playwright-core + /usr/bin/chromium), against
 * a real server, the fake Telnyx API and the TelnyxPlayer (docs/interface.md §8): an agent signs
 * in by link, turns the softphone on (the SDK module is swapped for a local stand-in, so nothing
 * talks to Telnyx; softphone-sdk.test.ts runs the real SDK), a simulated call arrives and shows
 * on the console and the wallboard, and the wallboard's numbers match /api/stats. Dana's desk
 * phone is not registered: her registered browser is what makes her offerable, and the calls ring
 * the telephony credential's SIP user (docs/interface.md §5, §8). Screenshots go to test-results/ (and to docs/ with
 * UPDATE_SCREENSHOTS=1).
 *
 * Setting the status by keyboard and ending wrap-up are tested in Firefox
 * (test/web/console-firefox.test.ts).
 */

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const STANDIN = readFileSync(join(ROOT, 'test/web/softphone-standin.js'), 'utf8');
/** axe-core, Deque's accessibility rules engine (https://github.com/dequelabs/axe-core). */
const AXE = readFileSync(join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');
const CALLER = '+13125550123';

describe('console and wallboard in Chromium', () => {
  let server: TestServer;
  let telnyx: FakeTelnyxApi;
  let browser: Chromium;
  let agentPage: Page;
  let boardPage: Page;
  let call: LiveCall;

  beforeAll(async () => {
    ensureWebBuilt();
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    ({ server, telnyx } = await startWithDana({ registration: 'Not Registered' }));
    // The at-start roster sync: Dana is on the roster, her desk phone not registered.
    await eventually(async () => {
      const body = await agents();
      expect(body.agents).toEqual([expect.objectContaining({ id: '2001', online: false })]);
      expect(body.presenceCheckedAt).toBeDefined();
    }, 15_000);
    browser = await launchChromium();
  }, 120_000);

  const agents = async () =>
    (await (
      await fetch(`${server.url}/api/agents`, { headers: { authorization: `Bearer ${API_TOKEN}` } })
    ).json()) as { presenceCheckedAt?: string; agents: Array<{ id: string; online: boolean; sip: string }> };
  /** The SIP URI of Dana's browser: her telephony credential's own SIP user. */
  const browserSip = () => `sip:${telnyx.telephonyCredentials()[0]?.sip_username}@sip.telnyx.com`;

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await telnyx?.close();
  });

  it('an agent signs in by link and turns the softphone on with a server-minted token', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    agentPage = await context.newPage();
    const errors: string[] = [];
    agentPage.on('pageerror', (e) => errors.push(String(e)));
    agentPage.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    // The SDK chunk is replaced by the stand-in: same export, no Telnyx.
    await agentPage.route(/\/assets\/telnyx-sdk-[^/]+\.js$/, (route) =>
      route.fulfill({ contentType: 'text/javascript', body: STANDIN }),
    );

    const link = await loginLink(server, { agent: '2001' });
    await agentPage.goto(link.url);
    await agentPage.getByRole('button', { name: 'Sign in' }).click();
    await agentPage.waitForURL(`${server.url}/console`);
    expect(agentPage.url()).not.toContain(new URL(link.url).pathname.slice(7));
    await agentPage.getByText('No call right now.').waitFor();
    await agentPage.getByTestId('feed').getByText('live').waitFor();
    // The agent's status comes from the agent state store: a new agent is available.
    await agentPage.getByTestId('status').getByText('Available').waitFor();

    // Keyboard: Tab to "Turn on" and press Enter.
    const turnOn = agentPage.getByRole('button', { name: 'Turn on' });
    for (let i = 0; i < 10 && !(await turnOn.evaluate((el) => el === el.ownerDocument.activeElement)); i++)
      await agentPage.keyboard.press('Tab');
    await agentPage.keyboard.press('Enter');
    await agentPage.getByText('Ready: calls ring here').waitFor();
    const token = await agentPage.evaluate(
      () => (globalThis as unknown as { __standin: { token: string } }).__standin.token,
    );
    expect(token).toBe(telnyx.tokens.at(-1)?.token);
    const [cred] = telnyx.telephonyCredentials();
    expect(cred).toMatchObject({ resource_id: 'connection:2001' });
    // The page told the server that calls may ring this browser, at the credential's SIP user.
    const presence = new RedisSoftphonePresenceStore(server.redis as Redis);
    await eventually(async () =>
      expect(await presence.all(Date.now())).toEqual({ '2001': cred?.sip_username }),
    );
    // A registered browser counts as registered: Dana is online, rung at the browser.
    await eventually(async () =>
      expect((await agents()).agents).toEqual([
        expect.objectContaining({ id: '2001', online: true, sip: browserSip() }),
      ]),
    );
    expect(errors).toEqual([]);
  }, 60_000);

  it('a supervisor signs in by link to the wallboard', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    boardPage = await context.newPage();
    const link = await loginLink(server, 'supervisor');
    await boardPage.goto(link.url);
    await boardPage.getByRole('button', { name: 'Sign in' }).click();
    await boardPage.waitForURL(`${server.url}/wallboard`);
    await boardPage.getByTestId('feed').getByText('live').waitFor();
    // The one queue without a call-center file, `support`, with nobody waiting.
    await boardPage.getByTestId('queue-support').getByText('0').first().waitFor();
    expect(await boardPage.getByTestId('kpi-offered').locator('.kpi-value').textContent()).toBe('0');
  }, 60_000);

  it('a simulated call shows on the console within 1 s and on the wallboard within 2 s', async () => {
    const t0 = Date.now();
    call = await ringAgents(server.player, CALLER);
    await agentPage.getByTestId('call').getByText('Incoming call').waitFor({ timeout: 5_000 });
    const consoleMs = Date.now() - t0;
    expect(call.legs.map((l) => l.to)).toEqual([browserSip()]);
    expect(await agentPage.getByTestId('caller').textContent()).toContain(CALLER);
    expect(await agentPage.getByTestId('call-queue').textContent()).toBe('support');
    expect(await agentPage.getByTestId('call-menu').textContent()).toBe('none');
    await boardPage.getByTestId('calls').getByText(CALLER).waitFor({ timeout: 5_000 });
    const boardMs = Date.now() - t0;
    expect(await boardPage.getByTestId('agents').getByText('Ringing').count()).toBe(1);
    expect(consoleMs).toBeLessThan(1_000 + 500); // + the player's own requests
    expect(boardMs).toBeLessThan(2_000 + 500);

    // Telnyx rings the browser: the agent answers in the softphone.
    await agentPage.evaluate(
      (n) => (globalThis as unknown as { __standin: { ring(n: string): void } }).__standin.ring(n),
      CALLER,
    );
    await agentPage.getByTestId('softphone-call').getByText(`Ringing: ${CALLER}`).waitFor();
    await agentPage.getByRole('button', { name: 'Answer' }).click();
    await answer(server.player, call, browserSip(), 5);
    await agentPage.getByTestId('call').getByText('On call').waitFor({ timeout: 5_000 });
    await boardPage.getByTestId('agents').getByText('On call').waitFor({ timeout: 5_000 });
    await agentPage.getByRole('button', { name: 'Mute' }).click();
    await agentPage.getByRole('button', { name: 'Hold' }).click();
    await agentPage.getByRole('button', { name: 'Resume' }).waitFor();
    await agentPage.getByRole('button', { name: 'Hang up' }).click();
    await agentPage.getByText('Ready: calls ring here').waitFor();
    const actions = await agentPage.evaluate(
      () => (globalThis as unknown as { __standin: { actions: string[] } }).__standin.actions,
    );
    expect(actions).toEqual(['answer', 'mute', 'hold', 'hangup']);
  }, 60_000);

  it('after the call the wallboard shows the numbers of /api/stats, without a reload', async () => {
    await hangUp(server.player, call, 47);
    await agentPage.getByText('No call right now.').waitFor({ timeout: 5_000 });
    const today = new Date().toISOString().slice(0, 10);
    const stats = (await (
      await fetch(`${server.url}/api/stats?date=${today}`, {
        headers: { authorization: `Bearer ${API_TOKEN}` },
      })
    ).json()) as { offered: number; answered: number; abandoned: number; serviceLevel: number };
    expect(stats).toMatchObject({ offered: 1, answered: 1, abandoned: 0, serviceLevel: 1 });
    const kpi = (id: string) => boardPage.getByTestId(`kpi-${id}`).locator('.kpi-value');
    await eventually(
      async () => expect(await kpi('offered').textContent()).toBe(String(stats.offered)),
      5_000,
    );
    expect(await kpi('answered').textContent()).toBe(String(stats.answered));
    expect(await kpi('abandoned').textContent()).toBe(String(stats.abandoned));
    expect(await kpi('service-level').textContent()).toBe('100%');
    expect(await kpi('asa').textContent()).toBe('0:05');
    expect(await kpi('aht').textContent()).toBe('0:47');
    expect(await boardPage.locator('.chart canvas').count()).toBe(1);
  }, 60_000);

  it('full screen for a TV: bigger numbers, no controls, and back', async () => {
    await boardPage.setViewportSize({ width: 1440, height: 1000 });
    const kpiSize = () =>
      boardPage
        .getByTestId('kpi-offered')
        .locator('.kpi-value')
        .evaluate((el) => {
          const w = globalThis as unknown as { getComputedStyle(e: unknown): { fontSize: string } };
          return Number.parseFloat(w.getComputedStyle(el).fontSize);
        });
    const normal = await kpiSize();
    const toggle = boardPage.getByRole('button', { name: 'Full screen' });
    await toggle.click();
    await boardPage.getByRole('button', { name: 'Exit full screen' }).waitFor({ timeout: 5_000 });
    expect(
      await boardPage.evaluate(
        () =>
          (globalThis as unknown as { document: { fullscreenElement: unknown } }).document
            .fullscreenElement !== null,
      ),
    ).toBe(true);
    expect(await kpiSize()).toBeGreaterThan(normal);
    // A TV has no mouse: the status selects and the sign-out button are gone.
    expect(await boardPage.getByTestId('agents').getByRole('combobox').count()).toBe(0);
    expect(await boardPage.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(false);
    await boardPage.getByRole('button', { name: 'Exit full screen' }).click();
    await boardPage.getByRole('button', { name: 'Full screen' }).waitFor({ timeout: 5_000 });
    expect(await kpiSize()).toBe(normal);
    expect(await boardPage.getByTestId('agents').getByRole('combobox').count()).toBe(1);
  }, 30_000);

  it('both pages pass the WCAG 2 A and AA rules axe checks (contrast, names, roles), light and dark', async () => {
    // What axe finds wrong on `page`: rule, impact and the elements, for a readable failure.
    const violations = async (page: Page) => {
      await page.evaluate(AXE); // through the DevTools protocol: the pages' CSP does not apply
      return page.evaluate(async () => {
        const axe = (globalThis as unknown as { axe: AxeApi }).axe;
        const result = await axe.run((globalThis as unknown as { document: unknown }).document, {
          runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
        });
        return result.violations.map(
          (v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
        );
      });
    };
    await agentPage.setViewportSize({ width: 1280, height: 860 });
    await boardPage.setViewportSize({ width: 1440, height: 1000 });
    for (const colorScheme of ['light', 'dark'] as const) {
      for (const page of [agentPage, boardPage]) {
        await page.emulateMedia({ colorScheme });
        expect(await violations(page), `${page.url()} in ${colorScheme}`).toEqual([]);
      }
    }
    for (const page of [agentPage, boardPage]) await page.emulateMedia({ colorScheme: null });
  }, 60_000);

  it('fits a phone-sized screen without sideways scrolling', async () => {
    // No panel scrolls sideways either (the wallboard's agents table once hid its status select).
    const clippedPanels = (page: Page) =>
      page.evaluate(() => {
        const g = globalThis as unknown as {
          document: {
            querySelectorAll(
              s: string,
            ): Iterable<{ scrollWidth: number; clientWidth: number; textContent: string }>;
          };
        };
        return [...g.document.querySelectorAll('.panel')]
          .filter((p) => p.scrollWidth > p.clientWidth + 1)
          .map((p) => `${p.textContent.slice(0, 20)}: ${p.scrollWidth - p.clientWidth}px too wide`);
      });
    await boardPage.setViewportSize({ width: 1440, height: 1000 });
    await eventually(async () => expect(await clippedPanels(boardPage)).toEqual([]), 5_000);
    for (const page of [agentPage, boardPage]) {
      await page.setViewportSize({ width: 390, height: 844 });
      const overflow = await page.evaluate(() => {
        const g = globalThis as unknown as {
          innerWidth: number;
          document: { documentElement: { scrollWidth: number } };
        };
        return g.document.documentElement.scrollWidth - g.innerWidth;
      });
      expect(overflow).toBeLessThanOrEqual(0);
      // The chart redraws at the new width on the window's resize event.
      await eventually(async () => expect(await clippedPanels(page)).toEqual([]), 5_000);
    }
    await agentPage.screenshot({ path: join(ROOT, 'test-results/console-phone.png'), fullPage: true });
  }, 30_000);

  it('the live feed reconnects by itself after the connection drops', async () => {
    await agentPage.setViewportSize({ width: 1280, height: 860 });
    // Every open connection cut, as a network drop or a proxy restart would.
    server.app.server.closeAllConnections();
    await agentPage.getByTestId('feed').getByText('reconnecting…').waitFor({ timeout: 5_000 });
    await agentPage.getByTestId('feed').getByText('live').waitFor({ timeout: 5_000 });
    const next = await ringAgents(server.player, CALLER);
    await agentPage.getByTestId('call').getByText('Incoming call').waitFor({ timeout: 5_000 });
    // The first call of this caller is now history, with its agent and outcome.
    const history = agentPage.getByTestId('history');
    expect(await history.getByText('Dana').count()).toBe(1);
    expect(await history.getByText('answered').count()).toBe(1);
    await answer(server.player, next, browserSip(), 2);
    await agentPage.getByTestId('call').getByText('On call').waitFor({ timeout: 5_000 });
    await boardPage.setViewportSize({ width: 1440, height: 1000 });
    await boardPage.getByTestId('agents').getByText('On call').waitFor({ timeout: 5_000 });
    // Both pages mid-call, with the day's first call in the KPIs and the console's history.
    for (const [page, name] of [
      [agentPage, 'console'],
      [boardPage, 'wallboard'],
    ] as const) {
      await page.screenshot({ path: join(ROOT, `test-results/${name}.png`), fullPage: true });
      if (process.env.UPDATE_SCREENSHOTS)
        await page.screenshot({ path: join(ROOT, `docs/${name}.png`), fullPage: true });
    }
    await hangUp(server.player, next, 10);

    // Turning the softphone off withdraws it from the server at once.
    await agentPage.getByRole('button', { name: 'Turn off' }).click();
    const presence = new RedisSoftphonePresenceStore(server.redis as Redis);
    await eventually(async () => expect(await presence.all(Date.now())).toEqual({}));
    // Back to the desk phone, which is not registered.
    await eventually(async () =>
      expect((await agents()).agents).toEqual([
        expect.objectContaining({ id: '2001', online: false, sip: 'sip:dana2001@sip.telnyx.com' }),
      ]),
    );
  }, 30_000);

  it('a refused microphone is explained, and no token is asked for', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.addInitScript(() => {
      const g = globalThis as unknown as {
        navigator: { mediaDevices: { getUserMedia: () => Promise<never> } };
      };
      g.navigator.mediaDevices.getUserMedia = () =>
        Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
    });
    let sdkFetched = false;
    await page.route(/\/assets\/telnyx-sdk-[^/]+\.js$/, (route) => {
      sdkFetched = true;
      return route.fulfill({ contentType: 'text/javascript', body: STANDIN });
    });
    const tokens = telnyx.tokens.length;
    await page.goto((await loginLink(server, { agent: '2001' })).url);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/console`);
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page
      .getByRole('alert')
      .getByText(/Microphone blocked\. .*allow it in the address bar/)
      .waitFor();
    expect(await page.getByRole('button', { name: 'Turn on' }).isVisible()).toBe(true);
    expect(telnyx.tokens.length).toBe(tokens);
    expect(sdkFetched).toBe(false);
    await context.close();
  }, 30_000);
});

/** The part of axe-core's API the test uses (https://www.deque.com/axe/core-documentation/api-documentation/). */
interface AxeApi {
  run(
    context: unknown,
    options: { runOnly: { type: 'tag'; values: string[] } },
  ): Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }> }>;
}

import type { AddressInfo } from 'node:net';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

/**
 * One Switchboard replica as its own process, for tests that need several: the same `buildApp`
 * as `src/server.ts`, configured from the environment, listening on a free loopback port. It
 * prints `{"port":N}` on stdout once listening and closes the app on SIGTERM. Slack pacing and
 * the voicemail finalizer are shortened (SB_TEST_* variables) so a test's alerts arrive in
 * milliseconds instead of one per second.
 *
 * Run: `node --import tsx test/e2e/replica-server.ts` with REDIS_URL, AGENTS, … set.
 */
async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, PORT: '0', HOST: '127.0.0.1' });
  const ms = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
  const app = await buildApp(config, {
    slack: {
      minIntervalMs: ms('SB_TEST_SLACK_INTERVAL_MS', 5),
      backoff: { baseMs: ms('SB_TEST_SLACK_BACKOFF_MS', 20), capMs: 200 },
      idlePollMs: 20,
    },
    finalizeEveryMs: ms('SB_TEST_FINALIZE_MS', 50),
    rosterRefreshMs: ms('SB_TEST_ROSTER_REFRESH_MS', 200),
  });
  let closing = false;
  process.on('SIGTERM', () => {
    if (closing) return;
    closing = true;
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`replica: close failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`${JSON.stringify({ port: (app.server.address() as AddressInfo).port })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`replica: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});

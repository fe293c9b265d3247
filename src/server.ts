import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { loadEnvFile } from './env-file.js';
import { processLogger } from './logger.js';

/**
 * The process: configuration, listening, graceful shutdown. Everything else is built by
 * `buildApp`, which tests call directly.
 */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  let fromFile: string[] | undefined;
  try {
    // .env in the working directory, if any; variables set in the real environment win.
    fromFile = loadEnvFile('.env');
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`switchboard: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }

  const logger = await processLogger(config.logLevel);
  if (fromFile) logger.info({ variables: fromFile.length }, 'settings read from .env (the environment wins)');
  const app = await buildApp(config, { logger });

  // On SIGTERM: first fail readiness while still serving for SHUTDOWN_DELAY_SECONDS — Kubernetes
  // removes the pod from the Service endpoints concurrently with SIGTERM, so requests keep
  // arriving for a moment even without a preStop sleep — then stop accepting, finish in-flight
  // requests, hand pending Slack messages to the outbox, close Redis (app.close runs every
  // onClose hook), and exit 0. The delay counts against close-with-grace's 25 s.
  closeWithGrace({ delay: 25_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an error');
    else {
      app.services.lifecycle.draining = true;
      app.log.info(
        { signal, delaySeconds: config.shutdownDelaySeconds },
        'shutting down: readiness fails now; still serving until the delay ends',
      );
      await new Promise((resolve) => setTimeout(resolve, config.shutdownDelaySeconds * 1000));
    }
    // server.close() waits for every open connection; a client stuck mid-request must not keep
    // the cleanup (outbox hand-over, Redis quit) from running before the grace period ends.
    const cut = setTimeout(() => app.server.closeAllConnections(), 10_000);
    try {
      await app.close();
    } finally {
      clearTimeout(cut);
    }
  });

  await app.listen({ port: config.port, host: config.host });
}

main().catch((err) => {
  process.stderr.write(`switchboard: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

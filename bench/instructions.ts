/**
 * A load-independent cross-check of CPU per request: machine instructions, counted by Valgrind.
 *
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null node --import tsx \
 *     bench/instructions.ts <tree root> <calls> <redis url>
 *
 * builds the app of `<tree root>` (this tree, or a baseline checked out elsewhere) as
 * `bench/server.ts` does (signatures on, 50 agents, wrap-up 0), plays `<calls>` whole calls of the
 * bench's mix through `app.inject` one request at a time, and exits. Start-up is the same for any
 * number of calls, so the instructions of N calls are Ir(2N runs) − Ir(N runs): run it twice and
 * subtract (`npx tsx bench/instructions.ts --compare <root A> <root B> [calls]` does all of it).
 * Valgrind serialises the process onto one simulated core, so other work on the machine does not
 * change the count; JIT and GC are counted, which is what the server pays too. HTTP sockets are
 * not (inject), nor is Redis (another process).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { signedCall } from './call-mix.js';

const AGENTS = 50;

async function play(root: string, calls: number, redisUrl: string): Promise<void> {
  const { generateKeyPairSync } = await import('node:crypto');
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
  const sips = Array.from(
    { length: AGENTS },
    (_, i) => `sip:agent${String(i).padStart(4, '0')}@sip.telnyx.com`,
  );
  const { loadConfig } = await import(pathToFileURL(join(root, 'src/config.ts')).href);
  const { buildApp } = await import(pathToFileURL(join(root, 'src/app.ts')).href);
  const { pino } = await import('pino');
  const config = loadConfig({
    REDIS_URL: redisUrl,
    TELNYX_PUBLIC_KEY: raw.toString('base64'),
    PUBLIC_URL: 'https://sb.example.com',
    HOTLINE_NUMBER: '+18005550199',
    AGENTS: sips.map((sip, i) => `Agent ${String(i).padStart(4, '0')}=${sip}`).join(','),
    ROUTING_STRATEGY: 'longest-idle',
    DIAL_MAX_TARGETS: '2',
    WRAP_UP_SECONDS: '0',
    LOG_LEVEL: 'silent',
  });
  const app = await buildApp(config, { logger: pino({ level: 'silent' }) });
  await app.ready();
  const redis = app.services.redis;
  if (redis && redis.status !== 'ready') await new Promise((r) => redis.once('ready', r));
  for (let n = 0; n < calls; n++) {
    for (const step of signedCall(n, { privateKey, agentSips: sips })) {
      const res = await app.inject({
        method: 'POST',
        url: step.path,
        headers: step.headers,
        payload: step.body,
      });
      if (res.statusCode >= 300) throw new Error(`${step.path}: ${res.statusCode} ${res.body}`);
    }
  }
  await app.close();
}

/** Runs one tree under callgrind with `calls` calls; its total instructions (Ir). */
function instructions(root: string, calls: number, redisUrl: string): number {
  const r = spawnSync(
    'valgrind',
    [
      '--tool=callgrind',
      '--callgrind-out-file=/dev/null',
      process.execPath,
      '--import',
      'tsx',
      join(import.meta.dirname, 'instructions.ts'),
      root,
      String(calls),
      redisUrl,
    ],
    { encoding: 'utf8', cwd: import.meta.dirname, maxBuffer: 1 << 26 },
  );
  const m = /Collected : (\d+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`callgrind failed (${r.status}):\n${r.stderr.slice(-2000)}`);
  return Number(m[1]);
}

async function compare(rootA: string, rootB: string, calls: number): Promise<void> {
  const { startRedisServer, stopRedisServer } = await import('../test/setup/redis-server.js');
  const redisServer = await startRedisServer();
  try {
    const rows: string[] = [];
    const perRequest: number[] = [];
    for (const [i, root] of [rootA, rootB].entries()) {
      const url = (db: number) => `${redisServer.url}/${2 * i + db}`;
      const one = instructions(root, calls, url(1));
      const two = instructions(root, 2 * calls, url(2));
      const per = (two - one) / (calls * 9);
      perRequest.push(per);
      rows.push(
        `| ${root} | ${one.toLocaleString('en-US')} | ${two.toLocaleString('en-US')} | ${Math.round(per).toLocaleString('en-US')} |`,
      );
    }
    process.stdout.write(
      `| tree | Ir, ${calls} calls | Ir, ${2 * calls} calls | Ir per request |\n| --- | ---: | ---: | ---: |\n${rows.join('\n')}\n\nratio A ÷ B: ${((perRequest[0] as number) / (perRequest[1] as number)).toFixed(3)}\n`,
    );
  } finally {
    await stopRedisServer(redisServer);
  }
}

const argv = process.argv.slice(2);
if (argv[0] === '--compare') {
  const [a, b, calls] = [resolve(argv[1] as string), resolve(argv[2] as string), Number(argv[3] ?? 20)];
  for (const root of [a, b]) if (!existsSync(join(root, 'src/app.ts'))) throw new Error(`no app in ${root}`);
  await compare(a, b, calls);
} else {
  await play(resolve(argv[0] as string), Number(argv[1]), argv[2] as string);
}

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../helper.js';
import { freePort } from '../setup/redis-server.js';

const SERVER = fileURLToPath(new URL('../../src/server.ts', import.meta.url));
// The working directory is a temp dir, so tsx is named by its path, not resolved from there.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/**
 * The real server process as a newcomer starts it: settings from a `.env` in the working
 * directory (the environment wins), and a start-up log that says where calls will go.
 */
describe('first run of the server process', () => {
  let child: ChildProcess | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const start = (dotenv: string, env: Record<string, string>) => {
    dir = mkdtempSync(join(tmpdir(), 'sb-first-run-'));
    writeFileSync(join(dir, '.env'), dotenv);
    const proc = spawn(process.execPath, ['--import', TSX, SERVER], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let out = '';
    proc.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    proc.stderr?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    return { proc, out: () => out };
  };

  it('reads .env, lets the real environment win, and logs the roster as JSON lines when piped', async () => {
    const port = await freePort();
    // HOST in the file is invalid: the server starts only if the environment's HOST wins.
    const { out } = start(
      `PORT=${port}\nHOST=not a host\nAGENTS=Alice=sip:alice@sip.telnyx.com,Bob=sip:bob@sip.telnyx.com\n`,
      { HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    );
    await eventually(
      async () => expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200),
      45_000,
    );
    await eventually(async () => {
      const lines = out()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { msg: string });
      expect(lines.map((l) => l.msg)).toContain('2 agents: Alice, Bob — calls ring them');
      expect(lines.map((l) => l.msg)).toContain('settings read from .env (the environment wins)');
    }, 10_000);
  }, 60_000);

  it('with no agents at all, says every call goes to voicemail', async () => {
    const port = await freePort();
    const { out } = start('', { HOST: '127.0.0.1', PORT: String(port) });
    await eventually(
      async () => expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200),
      45_000,
    );
    // The log line may reach the pipe a moment after the first reply (pino writes asynchronously).
    await eventually(
      async () =>
        expect(out()).toContain('no agents: every call goes to voicemail; set AGENTS or TELNYX_API_KEY'),
      10_000,
    );
  }, 60_000);
});

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/** A free TCP port on loopback, found by letting the OS pick one. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Starts a throw-away `redis-server` on a free port; the caller kills it. */
export async function startRedisServer(
  port?: number,
): Promise<{ url: string; port: number; process: ChildProcess; dir: string }> {
  const which = spawnSync('redis-server', ['--version']);
  if (which.error) {
    throw new Error(
      'The tests need Redis: set REDIS_URL, or install redis-server so it is on PATH (Debian: apt-get install -y redis-server).',
    );
  }
  const p = port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-redis-'));
  const child = spawn(
    'redis-server',
    ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 10_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${out}`));
    });
  });
  child.stdout?.removeAllListeners('data');
  child.removeAllListeners('exit');
  return { url: `redis://127.0.0.1:${p}`, port: p, process: child, dir };
}

export async function stopRedisServer(server: { process: ChildProcess; dir: string }): Promise<void> {
  if (server.process.exitCode === null) {
    const exited = new Promise((resolve) => server.process.once('exit', resolve));
    server.process.kill('SIGKILL');
    await exited;
  }
  rmSync(server.dir, { recursive: true, force: true });
}

export default async function setup(project: TestProject) {
  if (process.env.REDIS_URL) {
    project.provide('redisUrl', process.env.REDIS_URL);
    return;
  }
  const server = await startRedisServer();
  project.provide('redisUrl', server.url);
  return async () => stopRedisServer(server);
}

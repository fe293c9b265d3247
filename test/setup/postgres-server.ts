import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Client } from 'pg';
import type { TestProject } from 'vitest/node';
import { freePort } from './redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

const INSTALL_HINT =
  'The PostgreSQL tests need a server: set TEST_DATABASE_URL, or install PostgreSQL so that ' +
  '`initdb` and `postgres` are on PATH or in /usr/lib/postgresql/<version>/bin ' +
  '(Debian: apt-get install -y postgresql).';

/**
 * The directory holding `initdb` and `postgres`: PATH first, then Debian's versioned
 * /usr/lib/postgresql/<version>/bin (the package does not put them on PATH), newest version first.
 */
export function findPostgresBin(
  path = process.env.PATH ?? '',
  libDir = '/usr/lib/postgresql',
): string | undefined {
  const hasBoth = (dir: string) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'));
  for (const dir of path.split(delimiter)) if (dir && hasBoth(dir)) return dir;
  let versions: string[] = [];
  try {
    versions = readdirSync(libDir);
  } catch {
    return undefined;
  }
  versions.sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
  for (const v of versions) {
    const dir = join(libDir, v, 'bin');
    if (hasBoth(dir)) return dir;
  }
  return undefined;
}

/**
 * initdb and postgres refuse to run as root. As root (CI containers), both run as an unprivileged
 * user: `postgres` (created by the Debian package) or else `nobody`. Node sets the uid/gid on the
 * child itself (and drops supplementary groups), so the process we hold is postgres itself.
 */
function unprivilegedUser(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    // no passwd file: fall through to nobody
  }
  const entries = new Map(
    passwd
      .split('\n')
      .map((line) => line.split(':'))
      .filter((f) => f.length >= 4)
      .map((f) => [f[0], { uid: Number(f[2]), gid: Number(f[3]) }] as const),
  );
  return entries.get('postgres') ?? entries.get('nobody') ?? { uid: 65534, gid: 65534 };
}

export interface PostgresServer {
  /** URL of the `test` database, trust auth, user `postgres`. */
  url: string;
  process: ChildProcess;
  dir: string;
}

/**
 * Starts a throw-away PostgreSQL cluster (`initdb` into a temp dir, trust auth, loopback on a free
 * port, no fsync); `stopPostgresServer` kills it and removes the directory.
 */
export async function startPostgresServer(
  where: { path?: string; libDir?: string } = {},
): Promise<PostgresServer> {
  const bin = findPostgresBin(where.path, where.libDir);
  if (!bin) throw new Error(INSTALL_HINT);
  const user = unprivilegedUser();
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-pg-'));
  const data = join(dir, 'data');
  if (user) chownSync(dir, user.uid, user.gid);
  const env = { PATH: process.env.PATH ?? '', LC_ALL: 'C', TZ: 'UTC' };
  const init = spawnSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
    { env, cwd: dir, encoding: 'utf8', ...(user ?? {}) },
  );
  if (init.error || init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `initdb (${bin}) failed${user ? ` as uid ${user.uid}` : ''}: ${init.error?.message ?? ''}\n${init.stdout}${init.stderr}`,
    );
  }
  const port = await freePort();
  const child = spawn(
    join(bin, 'postgres'),
    [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
    ],
    { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], ...(user ?? {}) },
  );
  let out = '';
  const collect = (chunk: Buffer) => {
    if (out.length < 20_000) out += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const server = { url: `postgres://postgres@127.0.0.1:${port}/test`, process: child, dir };
  try {
    await waitUntilAccepting(port, child, () => out);
    const admin = new Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
    await admin.connect();
    try {
      await admin.query('CREATE DATABASE test');
    } finally {
      await admin.end();
    }
  } catch (err) {
    await stopPostgresServer(server);
    throw err;
  }
  child.stdout?.removeListener('data', collect);
  child.stderr?.removeListener('data', collect);
  // Keep draining the pipes so a chatty server never blocks on a full pipe.
  child.stdout?.resume();
  child.stderr?.resume();
  return server;
}

async function waitUntilAccepting(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`postgres exited with ${child.exitCode ?? child.signalCode}:\n${log()}`);
    }
    const probe = new Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
    try {
      await probe.connect();
      await probe.end();
      return;
    } catch {
      await probe.end().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new Error(`postgres did not start within 20 s:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function stopPostgresServer(server: PostgresServer): Promise<void> {
  const child = server.process;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // SIGQUIT: immediate shutdown (the postmaster stops its backends); the data is thrown away.
    child.kill('SIGQUIT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(server.dir, { recursive: true, force: true });
}

export default async function setup(project: TestProject) {
  if (process.env.TEST_DATABASE_URL) {
    project.provide('databaseUrl', process.env.TEST_DATABASE_URL);
    return;
  }
  const server = await startPostgresServer();
  project.provide('databaseUrl', server.url);
  return async () => stopPostgresServer(server);
}

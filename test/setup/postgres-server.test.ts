import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findPostgresBin, startPostgresServer } from './postgres-server.js';

describe('the private PostgreSQL of the test suite', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const fakeBin = (dir: string) => {
    mkdirSync(dir, { recursive: true });
    for (const name of ['initdb', 'postgres']) {
      writeFileSync(join(dir, name), '#!/bin/sh\n');
      chmodSync(join(dir, name), 0o755);
    }
    return dir;
  };

  it('finds initdb/postgres on PATH first, else in the newest /usr/lib/postgresql/<version>/bin', () => {
    const root = mkdtempSync(join(tmpdir(), 'sb-pgbin-'));
    dirs.push(root);
    const lib = join(root, 'lib');
    fakeBin(join(lib, '9.6', 'bin'));
    fakeBin(join(lib, '16', 'bin'));
    fakeBin(join(lib, '15', 'bin'));
    mkdirSync(join(lib, '17', 'bin'), { recursive: true }); // a leftover without binaries
    expect(findPostgresBin(join(root, 'nothing'), lib)).toBe(join(lib, '16', 'bin'));
    const onPath = fakeBin(join(root, 'path-bin'));
    expect(findPostgresBin(`${join(root, 'x')}:${onPath}`, lib)).toBe(onPath);
    expect(findPostgresBin('', join(root, 'no-lib'))).toBeUndefined();
  });

  it('without the binaries it fails at once, naming them and the package to install', async () => {
    await expect(startPostgresServer({ path: '', libDir: join(tmpdir(), 'sb-no-such-lib') })).rejects.toThrow(
      /initdb.*postgres.*apt-get install -y postgresql/s,
    );
  });
});

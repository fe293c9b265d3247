import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadEnvFile } from '../../src/env-file.js';

describe('loadEnvFile (.env for the server process)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const file = (text: string): string => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-env-'));
    dirs.push(dir);
    const path = join(dir, '.env');
    writeFileSync(path, text);
    return path;
  };

  it('fills in what the environment lacks; the environment wins, even an empty value', () => {
    const env: NodeJS.ProcessEnv = { PORT: '9000', PUBLIC_URL: '' };
    const taken = loadEnvFile(
      file(
        '# comment\nPORT=8080\nPUBLIC_URL=https://x.example\nAGENTS="Alice=sip:a@sip.telnyx.com"\nREDIS_URL=\n',
      ),
      env,
    );
    expect(env).toEqual({
      PORT: '9000',
      PUBLIC_URL: '',
      AGENTS: 'Alice=sip:a@sip.telnyx.com',
      REDIS_URL: '',
    });
    expect(taken?.sort()).toEqual(['AGENTS', 'REDIS_URL']);
  });

  it('is optional: no file, nothing changes', () => {
    const env: NodeJS.ProcessEnv = {};
    expect(loadEnvFile(join(tmpdir(), 'sb-no-such-dir', '.env'), env)).toBeUndefined();
    expect(env).toEqual({});
  });

  it('an unreadable .env (a directory) is an error naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-env-'));
    dirs.push(dir);
    expect(() => loadEnvFile(dir, {})).toThrow(/cannot read .*sb-env-/);
  });
});

import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallCenterConfig } from '../../src/call-center/call-center-file.js';
import { CallCenterFileError } from '../../src/call-center/call-center-file.js';
import {
  type CallCenterConfigSource,
  callCenterSourceFor,
  createFileCallCenterSource,
  resolveCallCenterPath,
} from '../../src/call-center/call-center-source.js';

const ONE = 'queues:\n  support: { agents: [alice] }\n';
const TWO = 'queues:\n  sales: { agents: [alice] }\n  support: { agents: [bob] }\ndefaultQueue: support\n';
const BAD = 'queues:\n  support: { agents: [alice], maxWaiting: 0 }\n';

/** A logger whose lines are kept, to check what an operator would read. */
function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { logger, lines };
}

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const queues = (c: CallCenterConfig) => [...c.queues.keys()];

describe('the call-center file source', () => {
  let dir: string;
  let source: CallCenterConfigSource | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sb-cc-'));
  });
  afterEach(async () => {
    await source?.close();
    source = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('an invalid file stops the start with the line and field', () => {
    const path = join(dir, 'cc.yaml');
    writeFileSync(path, BAD);
    const { logger } = capture();
    expect(() => createFileCallCenterSource({ path, logger })).toThrow(CallCenterFileError);
    expect(() => createFileCallCenterSource({ path, logger })).toThrow(
      /line 2:\d+ queues\.support\.maxWaiting/,
    );
  });

  it('a missing file named by the setting stops the start; without a setting the built-in queue is used', () => {
    const { logger } = capture();
    expect(() => callCenterSourceFor(join(dir, 'nope.yaml'), logger)).toThrow(/does not exist/);
    expect(resolveCallCenterPath(undefined, dir)).toBeUndefined();
    writeFileSync(join(dir, 'call-center.yaml'), ONE);
    expect(resolveCallCenterPath(undefined, dir)).toBe(join(dir, 'call-center.yaml'));
    expect(resolveCallCenterPath('sub/x.yaml', dir)).toBe(join(dir, 'sub/x.yaml'));
    const builtIn = callCenterSourceFor(undefined, logger);
    expect(queues(builtIn.current())).toEqual(['support']);
  });

  it('hot reload: a valid change is put in force and listeners hear it', async () => {
    const path = join(dir, 'cc.yaml');
    writeFileSync(path, ONE);
    const { logger } = capture();
    source = createFileCallCenterSource({ path, logger, debounceMs: 30, pollMs: 0 });
    const seen: string[][] = [];
    source.onChange((next, previous) => seen.push([...queues(previous), '→', ...queues(next)]));
    expect(queues(source.current())).toEqual(['support']);
    writeFileSync(path, TWO);
    await until(() => seen.length === 1);
    expect(seen).toEqual([['support', '→', 'sales', 'support']]);
    expect(queues(source.current())).toEqual(['sales', 'support']);
  });

  it('hot reload: an invalid change is refused with a log line naming the line, the old file stays', async () => {
    const path = join(dir, 'cc.yaml');
    writeFileSync(path, ONE);
    const { logger, lines } = capture();
    source = createFileCallCenterSource({ path, logger, debounceMs: 30, pollMs: 0 });
    let changes = 0;
    source.onChange(() => changes++);
    writeFileSync(path, BAD);
    await until(() => lines.some((l) => l.level === 50));
    const error = lines.find((l) => l.level === 50)!;
    expect(error.msg).toMatch(/refused.*line 2:\d+ queues\.support\.maxWaiting/s);
    expect(queues(source.current())).toEqual(['support']);
    expect(source.current().queues.get('support')!.maxWaiting).toBe(50);
    expect(changes).toBe(0);
    // Fixing it is picked up again.
    writeFileSync(path, TWO);
    await until(() => changes === 1);
    expect(queues(source.current())).toEqual(['sales', 'support']);
  });

  it('an editor that saves by writing a new file and renaming it over the old one', async () => {
    const path = join(dir, 'cc.yaml');
    writeFileSync(path, ONE);
    const { logger } = capture();
    source = createFileCallCenterSource({ path, logger, debounceMs: 30, pollMs: 0 });
    writeFileSync(join(dir, '.cc.yaml.swp'), TWO);
    renameSync(join(dir, '.cc.yaml.swp'), path);
    await until(() => source!.current().queues.size === 2);
  });

  it('a Kubernetes ConfigMap update: the ..data symlink is swapped to a new timestamped folder', async () => {
    // The layout kubelet writes: cc.yaml → ..data/cc.yaml, ..data → ..2026_12_06_08_00_00.1
    mkdirSync(join(dir, '..v1'));
    writeFileSync(join(dir, '..v1', 'cc.yaml'), ONE);
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync(join('..data', 'cc.yaml'), join(dir, 'cc.yaml'));
    const { logger } = capture();
    source = createFileCallCenterSource({ path: join(dir, 'cc.yaml'), logger, debounceMs: 30, pollMs: 0 });
    expect(source.current().queues.size).toBe(1);
    mkdirSync(join(dir, '..v2'));
    writeFileSync(join(dir, '..v2', 'cc.yaml'), TWO);
    symlinkSync('..v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    rmSync(join(dir, '..v1'), { recursive: true });
    await until(() => source!.current().queues.size === 2);
  });

  it('the same content written again changes nothing; a deleted file keeps the loaded version', async () => {
    const path = join(dir, 'cc.yaml');
    writeFileSync(path, ONE);
    const { logger, lines } = capture();
    source = createFileCallCenterSource({ path, logger, debounceMs: 30, pollMs: 0 });
    let changes = 0;
    source.onChange(() => changes++);
    writeFileSync(path, ONE);
    unlinkSync(path);
    await until(() => lines.some((l) => String(l.msg).includes('not readable')));
    expect(changes).toBe(0);
    expect(queues(source.current())).toEqual(['support']);
  });

  it('polling catches a change whose event was missed', async () => {
    const path = join(dir, 'cc.yaml');
    writeFileSync(path, ONE);
    const { logger } = capture();
    // A debounce far longer than the test: only the poll can pick the change up.
    source = createFileCallCenterSource({ path, logger, debounceMs: 60_000, pollMs: 50 });
    writeFileSync(path, TWO);
    await until(() => source!.current().queues.size === 2);
  });
});

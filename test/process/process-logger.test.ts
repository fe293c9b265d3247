import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { processLogger } from '../../src/logger.js';

const capture = (isTTY: boolean) => {
  const stream = Object.assign(new PassThrough(), { isTTY });
  let out = '';
  stream.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  return { stream, out: () => out };
};

describe('processLogger (the server process logger)', () => {
  it('on a terminal: readable lines, not JSON, phone numbers still masked', async () => {
    const { stream, out } = capture(true);
    const log = await processLogger('info', stream);
    log.info({ from: '+13125550100' }, 'no agents: every call goes to voicemail');
    await new Promise((r) => setTimeout(r, 50));
    expect(out()).toMatch(/INFO.*no agents: every call goes to voicemail/);
    expect(out()).not.toContain('{"level"');
    expect(out()).not.toContain('+13125550100');
  });

  it('not a terminal: one JSON object per line', async () => {
    const { stream, out } = capture(false);
    const log = await processLogger('info', stream);
    log.info('hello');
    await new Promise((r) => setTimeout(r, 50));
    expect(JSON.parse(out().trim())).toMatchObject({ level: 30, msg: 'hello' });
  });
});

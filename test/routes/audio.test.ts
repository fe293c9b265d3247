import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { audioRoutes, DEFAULT_AUDIO_DIR } from '../../src/routes/audio.js';

const PROMPTS = ['greeting', 'try-again', 'voicemail', 'thanks', 'no-agents', 'hold-music'];

let app: FastifyInstance | undefined;
let tmp: string | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

async function build(audioDir?: string): Promise<FastifyInstance> {
  app = Fastify();
  await app.register(audioRoutes, audioDir ? { audioDir } : {});
  await app.ready();
  return app;
}

describe('GET /audio/<name>.mp3', () => {
  it('serves each prompt as audio/mpeg with caching headers', async () => {
    const server = await build();
    for (const name of PROMPTS) {
      const file = readFileSync(join(DEFAULT_AUDIO_DIR, `${name}.mp3`));
      const res = await server.inject({ method: 'GET', url: `/audio/${name}.mp3` });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('audio/mpeg');
      expect(res.headers['cache-control']).toBe('public, max-age=86400');
      expect(res.headers.etag).toMatch(/^(W\/)?".+"$/);
      expect(new Date(String(res.headers['last-modified'])).getTime()).toBeGreaterThan(0);
      expect(res.headers['accept-ranges']).toBe('bytes');
      expect(res.rawPayload.equals(file)).toBe(true);
    }
  });

  it('answers a range request with 206 and exactly those bytes', async () => {
    const server = await build();
    const path = join(DEFAULT_AUDIO_DIR, 'greeting.mp3');
    const res = await server.inject({
      method: 'GET',
      url: '/audio/greeting.mp3',
      headers: { range: 'bytes=0-99' },
    });
    expect(res.statusCode).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes 0-99/${statSync(path).size}`);
    expect(res.rawPayload.length).toBe(100);
    expect(res.rawPayload.equals(readFileSync(path).subarray(0, 100))).toBe(true);
  });

  it('revalidates with the ETag (304)', async () => {
    const server = await build();
    const first = await server.inject({ method: 'GET', url: '/audio/thanks.mp3' });
    const again = await server.inject({
      method: 'GET',
      url: '/audio/thanks.mp3',
      headers: { 'if-none-match': String(first.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
    expect(again.rawPayload.length).toBe(0);
  });

  it('answers HEAD with the length and no body', async () => {
    const server = await build();
    const res = await server.inject({ method: 'HEAD', url: '/audio/voicemail.mp3' });
    expect(res.statusCode).toBe(200);
    expect(Number(res.headers['content-length'])).toBe(
      statSync(join(DEFAULT_AUDIO_DIR, 'voicemail.mp3')).size,
    );
    expect(res.rawPayload.length).toBe(0);
  });

  it('is 404 for unknown names, other files, listings and paths out of the folder', async () => {
    tmp = mkdtempSync(join(tmpdir(), 'sb-audio-'));
    writeFileSync(join(tmp, 'hello.mp3'), Buffer.from('ID3hello'));
    writeFileSync(join(tmp, 'secret.txt'), 'TOP-SECRET-CONTENT');
    writeFileSync(join(tmp, '.hidden.mp3'), 'TOP-SECRET-CONTENT');
    writeFileSync(join(tmp, 'Upper.mp3'), 'TOP-SECRET-CONTENT');
    const server = await build(tmp);
    expect((await server.inject({ method: 'GET', url: '/audio/hello.mp3' })).statusCode).toBe(200);
    for (const url of [
      '/audio/nope.mp3',
      '/audio/secret.txt',
      '/audio/.hidden.mp3',
      '/audio/Upper.mp3',
      '/audio/hello.MP3',
      '/audio/',
      '/audio',
      '/audio/..%2Fsecret.txt',
      '/audio/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '/audio/../secret.txt',
      '/audio/sub/hello.mp3',
    ]) {
      const res = await server.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.body, url).not.toContain('TOP-SECRET');
    }
  });
});

describe('the shipped prompts', () => {
  it('are small MP3 files', () => {
    for (const name of PROMPTS) {
      const bytes = readFileSync(join(DEFAULT_AUDIO_DIR, `${name}.mp3`));
      expect(bytes.length, name).toBeGreaterThan(2_000);
      expect(bytes.length, name).toBeLessThan(100_000);
      const id3 = bytes.subarray(0, 3).toString('latin1') === 'ID3';
      const frameSync = bytes[0] === 0xff && (bytes[1]! & 0xe0) === 0xe0;
      expect(id3 || frameSync, name).toBe(true);
    }
  });
});

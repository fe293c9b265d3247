import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDockerfile, parseInstructions } from '../../scripts/deploy/dockerfile-check.js';
import { REPO_ROOT } from '../../scripts/deploy/helm.js';

const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const messages = (text: string) => checkDockerfile(text).map((p) => p.message);
/** The Dockerfile with one exact piece replaced (fails loudly if the piece is not there). */
const mutate = (from: string | RegExp, to: string): string => {
  const next = dockerfile.replace(from, to);
  if (next === dockerfile) throw new Error(`the Dockerfile has no ${String(from)}`);
  return next;
};

describe('Dockerfile', () => {
  it('passes dockerfile-utils and the image rules', () => {
    expect(checkDockerfile(dockerfile)).toEqual([]);
  });

  it('is multi-stage on node:22-bookworm-slim with a numeric non-root USER and exec-form CMD', () => {
    const instructions = parseInstructions(dockerfile);
    const froms = instructions.filter((i) => i.keyword === 'FROM').map((i) => i.args);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from).toMatch(/^node:22-bookworm-slim@sha256:[0-9a-f]{64} AS \w+$/);
    expect(instructions.filter((i) => i.keyword === 'USER').at(-1)?.args).toMatch(/^[1-9]\d*(:\d+)?$/);
    const cmd = JSON.parse(instructions.filter((i) => i.keyword === 'CMD').at(-1)!.args) as string[];
    expect(cmd[0]).toBe('node');
    expect(cmd.at(-1)).toBe('dist/src/server.js');
  });

  it.each([
    ['a shell-form CMD', /CMD \["node".*\]\n/, 'CMD node dist/src/server.js\n', 'CMD must be exec form'],
    ['USER root', 'USER 1000:1000', 'USER 0', 'must not be root'],
    ['a named USER', 'USER 1000:1000', 'USER node', 'use a numeric uid'],
    ['no USER', 'USER 1000:1000\n', '', 'must set USER'],
    [
      'another base image',
      /FROM node:22-bookworm-slim@sha256:[0-9a-f]{64} AS runtime/,
      'FROM node:20-alpine AS runtime',
      'must build on node:22-bookworm-slim',
    ],
    [
      'a base by tag only',
      /FROM node:22-bookworm-slim@sha256:[0-9a-f]{64} AS runtime/,
      'FROM node:22-bookworm-slim AS runtime',
      'pin the base by digest',
    ],
    [
      'two different digests',
      /FROM node:22-bookworm-slim@sha256:[0-9a-f]{64} AS runtime/,
      `FROM node:22-bookworm-slim@sha256:${'0'.repeat(64)} AS runtime`,
      'the same node:22-bookworm-slim digest',
    ],
    ['no production-only install', 'npm ci --omit=dev', 'npm ci', 'npm ci --omit=dev'],
    [
      'sources in the runtime image',
      'COPY texml ./texml',
      'COPY texml ./texml\nCOPY src ./src',
      'compiled output only',
    ],
    ['no templates', 'COPY texml ./texml\n', '', 'must contain texml/'],
    ['no prompts', 'COPY audio ./audio\n', '', 'must contain audio/'],
    ['a broken instruction', 'EXPOSE 8080', 'EXPOSE 80a80', 'dockerfile-utils'],
  ])('refuses %s', (_what, from, to, expected) => {
    expect(messages(mutate(from, to)).join('\n')).toContain(expected);
  });

  it('refuses a single-stage build', () => {
    const single =
      'FROM node:22-bookworm-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci\nUSER 1000\nCMD ["node", "x.js"]\n';
    expect(messages(single).join('\n')).toContain('must be multi-stage');
  });

  it('joins continuation lines and skips comments', () => {
    const parsed = parseInstructions('# c\nRUN a \\\n  # inside\n  && b\nCMD ["x"]\n');
    expect(parsed).toEqual([
      { line: 2, keyword: 'RUN', args: 'a && b' },
      { line: 5, keyword: 'CMD', args: '["x"]' },
    ]);
  });
});

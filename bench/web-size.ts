import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/**
 * First-load weight of the console and the wallboard: the JavaScript and CSS a browser fetches
 * before the page can render (the entry and its static imports, from Vite's manifest; dynamic
 * imports such as the Telnyx SDK excluded and listed apart), raw and gzipped at level 9.
 * Builds the web app first. Writes bench/RESULTS-web.md. Target: wallboard JS under 150 kB gzipped.
 */

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const DIST = join(ROOT, 'dist/web');
const TARGET_KB = 150;

execFileSync(
  join(ROOT, 'node_modules/.bin/vite'),
  ['build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'],
  {
    cwd: ROOT,
    stdio: 'inherit',
  },
);

interface Chunk {
  file: string;
  imports?: string[];
  dynamicImports?: string[];
  css?: string[];
}
const manifest = JSON.parse(readFileSync(join(DIST, '.vite/manifest.json'), 'utf8')) as Record<string, Chunk>;

const size = (file: string) => {
  const buf = readFileSync(join(DIST, file));
  return { raw: buf.length, gz: gzipSync(buf, { level: 9 }).length };
};
const kb = (n: number) => (n / 1024).toFixed(1);

function firstLoad(entry: string) {
  const js = new Set<string>();
  const css = new Set<string>();
  const lazy = new Set<string>();
  const walk = (key: string) => {
    const c = manifest[key];
    if (!c || js.has(c.file)) return;
    js.add(c.file);
    for (const f of c.css ?? []) css.add(f);
    for (const i of c.imports ?? []) walk(i);
    for (const d of c.dynamicImports ?? []) {
      const f = manifest[d]?.file;
      if (f) lazy.add(f);
    }
  };
  walk(entry);
  const sum = (files: Set<string>) =>
    [...files].map(size).reduce((a, b) => ({ raw: a.raw + b.raw, gz: a.gz + b.gz }), { raw: 0, gz: 0 });
  return { js: sum(js), css: sum(css), lazy: [...lazy].map((f) => ({ f, ...size(f) })) };
}

const pages = ['wallboard', 'console'].map((p) => ({ page: p, ...firstLoad(`${p}.html`) }));
const wallboard = pages[0]!;
const lines = [
  '# Web app weight',
  '',
  `Measured ${new Date().toISOString().slice(0, 10)} by \`npm run bench:web\` (Vite ${JSON.parse(readFileSync(join(ROOT, 'node_modules/vite/package.json'), 'utf8')).version}, production build, gzip level 9).`,
  'First load = the page entry and its static imports; the Telnyx WebRTC SDK is a separate chunk the',
  'console fetches only when the agent turns the softphone on.',
  '',
  '| page | first-load JS (raw) | first-load JS (gzip) | CSS (gzip) | loaded later (gzip) |',
  '|---|---|---|---|---|',
  ...pages.map(
    (p) =>
      `| ${p.page} | ${kb(p.js.raw)} kB | **${kb(p.js.gz)} kB** | ${kb(p.css.gz)} kB | ${
        p.lazy.map((l) => `${l.f.replace(/^assets\//, '')} ${kb(l.gz)} kB`).join(', ') || '—'
      } |`,
  ),
  '',
  `Target: the wallboard's first-load JavaScript under ${TARGET_KB} kB gzipped — ${
    wallboard.js.gz / 1024 < TARGET_KB ? 'met' : '**not met**'
  } (${kb(wallboard.js.gz)} kB, ${((wallboard.js.gz / 1024 / TARGET_KB) * 100).toFixed(0)}% of it).`,
  '',
];
writeFileSync(join(ROOT, 'bench/RESULTS-web.md'), lines.join('\n'));
console.log(lines.join('\n'));

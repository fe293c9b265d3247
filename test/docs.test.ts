import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../src/config.js';

/**
 * The documents live in the repo (docs/): code comments cite `docs/<page>.md §N` or a public URL,
 * never a file outside the repository, and every citation and link points at something that exists.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SELF = relative(ROOT, fileURLToPath(import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Text files of the repository that carry comments or documentation. */
function sourceFiles(): string[] {
  const out: string[] = ['README.md', '.env.example'];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(ROOT, dir))) {
      const path = join(dir, name);
      if (statSync(join(ROOT, path)).isDirectory()) walk(path);
      else if (/\.(ts|js|mjs|md|ya?ml|json|sh|xml|tpl|txt)$/.test(name)) out.push(path);
    }
  };
  for (const dir of ['src', 'test', 'scripts', 'helm', 'bench', 'texml', 'docs']) walk(dir);
  return out;
}

/** Section numbers of a markdown page: `## 3. Title` → `3`, `### 4.6 Title` → `4.6`. */
function sectionNumbers(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const m of markdown.matchAll(/^#{2,4} (\d+(?:\.\d+)*)\.?\s/gm)) out.add(m[1]!);
  return out;
}

/** GitHub's anchor for a heading. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const m of markdown.matchAll(/^#{1,6} (.+)$/gm)) out.add(slug(m[1]!));
  return out;
}

describe('docs/', () => {
  it('documents every setting the server reads in docs/interface.md §2', () => {
    const text = read('docs/interface.md');
    const section = text.slice(text.indexOf('## 2. Settings'), text.indexOf('## 3. '));
    const missing = CONFIG_VARIABLES.filter((name) => !section.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it('keeps the ten section numbers of the public interface that code comments cite', () => {
    const numbers = sectionNumbers(read('docs/interface.md'));
    for (let n = 1; n <= 10; n++) expect(numbers.has(String(n)), `§${n}`).toBe(true);
  });

  it('is what comments cite: nothing outside the repository', () => {
    // Built from parts so this file does not match itself.
    const outside = new RegExp(
      ['CONTRACT\\.md', '\\.\\./shared/', 'reference/(telnyx|slack|contact-center)\\.md', 'STYLE\\.md'].join(
        '|',
      ),
    );
    const offenders: string[] = [];
    for (const file of sourceFiles()) {
      if (file === SELF) continue;
      read(file)
        .split('\n')
        .forEach((line, i) => {
          if (outside.test(line)) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offenders).toEqual([]);
  });

  it('has every section a `docs/<page>.md §N` citation names', () => {
    const pages = new Map<string, Set<string>>();
    const dead: string[] = [];
    for (const file of sourceFiles()) {
      for (const m of read(file).matchAll(/docs\/([a-z-]+\.md) (§[\d.,§ –-]*\d)/g)) {
        const page = m[1]!;
        if (!existsSync(join(ROOT, 'docs', page))) {
          dead.push(`${file}: docs/${page} does not exist`);
          continue;
        }
        if (!pages.has(page)) pages.set(page, sectionNumbers(read(`docs/${page}`)));
        for (const n of m[2]!.match(/\d+(?:\.\d+)?/g) ?? []) {
          if (!pages.get(page)!.has(n)) dead.push(`${file}: docs/${page} has no §${n}`);
        }
      }
    }
    expect(dead).toEqual([]);
  });

  it('links only to files and headings that exist', () => {
    const broken: string[] = [];
    const pages = readdirSync(join(ROOT, 'docs'))
      .filter((n) => n.endsWith('.md'))
      .map((n) => `docs/${n}`);
    for (const file of [...pages, 'README.md']) {
      for (const m of read(file).matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/i.test(target)) continue; // a public URL
        const [path, anchor] = target.split('#') as [string, string | undefined];
        // The README's own links are checked only where they point into docs/.
        if (file === 'README.md' && !path.startsWith('docs/')) continue;
        const resolved = path ? join(dirname(file), path) : file;
        if (!existsSync(join(ROOT, resolved))) {
          broken.push(`${file}: ${target} (no such file)`);
          continue;
        }
        if (anchor && resolved.endsWith('.md') && !anchors(read(resolved)).has(anchor)) {
          broken.push(`${file}: ${target} (no such heading)`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});

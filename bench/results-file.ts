import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * bench/RESULTS.md is part hand-written (analysis, what was tried), part generated. A run only
 * rewrites its own sections, between `<!-- bench:<name> -->` and `<!-- /bench:<name> -->`; a
 * section not in the file yet is appended.
 */
export function writeSection(path: string, name: string, markdown: string): void {
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const block = `${begin}\n${markdown.trim()}\n${end}`;
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '# Switchboard benchmark — results\n';
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  const next =
    from >= 0 && to > from
      ? text.slice(0, from) + block + text.slice(to + end.length)
      : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, next);
}

/** A Markdown table; numbers right-aligned. */
export function table(head: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)));
  const numeric = head.map((_, i) => rows.every((r) => typeof r[i] === 'number'));
  const sep = numeric.map((n) => (n ? '---:' : '---'));
  const line = (r: string[]) => `| ${r.join(' | ')} |`;
  return [line(head), line(sep), ...cells.map(line)].join('\n');
}

/** Integers as they are; otherwise 3 significant digits for small numbers, thousands separators for large ones. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return '–';
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

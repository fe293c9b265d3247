import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const DIST_WEB = join(ROOT, 'dist/web');

function newest(dir: string): number {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    t = Math.max(t, st.isDirectory() ? newest(p) : st.mtimeMs);
  }
  return t;
}

/**
 * Builds the web app (`vite build`, ~5 s) unless dist/web is newer than every file under web/:
 * CI's `npm run build` has built it already, so the browser test normally builds nothing.
 */
export function ensureWebBuilt(): void {
  const html = join(DIST_WEB, 'console.html');
  if (existsSync(html) && statSync(html).mtimeMs >= newest(join(ROOT, 'web'))) return;
  execFileSync(
    join(ROOT, 'node_modules/.bin/vite'),
    ['build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  );
}

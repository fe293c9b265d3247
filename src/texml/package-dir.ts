import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * A folder of the package (e.g. `texml`, `audio`), found by walking up from this module to the
 * nearest `package.json`. That works from `src/` (tsx, vitest) and from the compiled `dist/src/`
 * alike, where a fixed `../..` would be wrong for one of them.
 */
export function packageDir(name: string): string {
  if (root === undefined) {
    let dir = dirname(fileURLToPath(import.meta.url));
    while (!existsSync(join(dir, 'package.json'))) {
      const parent = dirname(dir);
      if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
      dir = parent;
    }
    root = dir;
  }
  return join(root, name);
}

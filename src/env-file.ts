import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';

/**
 * Reads a dotenv file (Node's own parser, `util.parseEnv`: `KEY=value` lines, `#` comments, quoted
 * values) into `env`. The real environment wins: a variable already present in `env`, even empty,
 * is left as it is. A missing file is not an error (it is optional); an unreadable one is.
 * Returns the names taken from the file, or undefined when there is no file.
 */
export function loadEnvFile(path: string, env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  const taken: string[] = [];
  for (const [key, value] of Object.entries(parseEnv(text))) {
    if (Object.hasOwn(env, key)) continue;
    env[key] = value;
    taken.push(key);
  }
  return taken;
}

import { createHash } from 'node:crypto';
import { existsSync, type FSWatcher, readFileSync, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import {
  builtInCallCenter,
  type CallCenterConfig,
  CallCenterFileError,
  parseCallCenterFile,
} from './call-center-file.js';

/**
 * Where the call flow reads the call-center file from (docs/interface.md §9). `current()` never
 * does I/O: the file is read at start and again when it changes on disk, in the background.
 */
export interface CallCenterConfigSource {
  current(): CallCenterConfig;
  /** Called after a valid new version replaced the old one; returns the unsubscribe function. */
  onChange(listener: (next: CallCenterConfig, previous: CallCenterConfig) => void): () => void;
  /** Stops watching the file. */
  close(): Promise<void>;
}

/** The file name looked for in the working directory when CALL_CENTER_CONFIG is unset. */
export const DEFAULT_CALL_CENTER_FILE = 'call-center.yaml';

/**
 * The path to load: CALL_CENTER_CONFIG when set, else `call-center.yaml` in `cwd` when present,
 * else undefined (the built-in single `support` queue).
 */
export function resolveCallCenterPath(setting: string | undefined, cwd = process.cwd()): string | undefined {
  if (setting) return resolve(cwd, setting);
  const candidate = resolve(cwd, DEFAULT_CALL_CENTER_FILE);
  return existsSync(candidate) ? candidate : undefined;
}

export const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** A source that never changes (tests, embeddings, and the built-in default without a file). */
export function staticCallCenterSource(
  config: CallCenterConfig = builtInCallCenter(),
): CallCenterConfigSource {
  return { current: () => config, onChange: () => () => undefined, close: async () => undefined };
}

export interface FileSourceOptions {
  /** Absolute path of the YAML file; it must exist at start. */
  path: string;
  logger: Logger;
  /** Quiet time after the last change event before the file is read (default 250 ms). */
  debounceMs?: number;
  /** A re-read every this often, for file systems whose change events get lost (default 30 s; 0 = off). */
  pollMs?: number;
}

/**
 * Loads the file now (throws `CallCenterFileError` naming the line and field when it is invalid,
 * or when it cannot be read), then watches its directory: a change is read after `debounceMs` of
 * quiet, compared by content hash, validated, and either put in force (listeners are called) or
 * refused with an error log while the old version stays in force.
 *
 * The directory is watched, not the file: editors save by writing a new file and renaming it over
 * the old one, and Kubernetes updates a mounted ConfigMap by swapping the `..data` symlink. A
 * watch on the file itself would follow the old inode and miss both.
 */
export function createFileCallCenterSource(options: FileSourceOptions): CallCenterConfigSource {
  const { path, logger } = options;
  const log = logger.child({ callCenterFile: path });
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const reason =
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : (err as Error).message;
    throw new CallCenterFileError(path, [
      { line: 1, col: 1, field: '', message: `cannot be read: ${reason}` },
    ]);
  }
  let config = parseCallCenterFile(bytes.toString('utf8'), path, sha256(bytes));
  log.info({ queues: [...config.queues.keys()], hash: config.hash.slice(0, 12) }, 'call-center file loaded');

  const listeners = new Set<(next: CallCenterConfig, previous: CallCenterConfig) => void>();
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let reading: Promise<void> | undefined;
  let again = false;
  /** The hash of the last content refused, so one bad save is logged once, not on every poll. */
  let refusedHash: string | undefined;

  const reload = async (): Promise<void> => {
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch (err) {
      // Between an unlink and the rename of an atomic save, or a ConfigMap swap: try again later.
      log.warn(
        { err: (err as Error).message },
        'call-center file not readable; the loaded version stays in force',
      );
      return;
    }
    const hash = sha256(data);
    if (hash === config.hash || hash === refusedHash) return;
    let next: CallCenterConfig;
    try {
      next = parseCallCenterFile(data.toString('utf8'), path, hash);
    } catch (err) {
      refusedHash = hash;
      const problems =
        err instanceof CallCenterFileError ? err.problems : [{ message: (err as Error).message }];
      log.error(
        { problems },
        `call-center file change refused, the previous version stays in force: ${(err as Error).message}`,
      );
      return;
    }
    refusedHash = undefined;
    const previous = config;
    config = next;
    log.info({ queues: [...next.queues.keys()], hash: hash.slice(0, 12) }, 'call-center file reloaded');
    for (const listener of listeners) {
      try {
        listener(next, previous);
      } catch (err) {
        log.error({ err }, 'a call-center file listener failed');
      }
    }
  };

  const runReload = () => {
    if (closed) return;
    if (reading) {
      again = true;
      return;
    }
    reading = reload()
      .catch((err) => log.error({ err }, 'call-center file reload failed'))
      .finally(() => {
        reading = undefined;
        if (again && !closed) {
          again = false;
          runReload();
        }
      });
  };

  const schedule = () => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(runReload, options.debounceMs ?? 250);
    timer.unref();
  };

  const dir = dirname(path);
  const name = basename(path);
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, { persistent: false }, (_event, filename) => {
      // No file name (some platforms), the file itself, or a ConfigMap's `..data` swap.
      if (!filename || filename === name || filename.startsWith('..')) schedule();
    });
    watcher.on('error', (err) =>
      log.warn({ err: err.message }, 'watching the call-center file stopped; polling only'),
    );
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'cannot watch the call-center file directory; polling only');
  }
  const pollMs = options.pollMs ?? 30_000;
  const poll = pollMs > 0 ? setInterval(runReload, pollMs) : undefined;
  poll?.unref();

  return {
    current: () => config,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      clearInterval(poll);
      watcher?.close();
      await reading;
    },
  };
}

/** The source for a setting: the file's when there is one, else the built-in `support` queue. */
export function callCenterSourceFor(
  setting: string | undefined,
  logger: Logger,
  options: Omit<FileSourceOptions, 'path' | 'logger'> = {},
): CallCenterConfigSource {
  const path = resolveCallCenterPath(setting);
  if (!path) {
    logger.info('no call-center file: one queue, support, with every agent, always open');
    return staticCallCenterSource();
  }
  return createFileCallCenterSource({ path, logger, ...options });
}

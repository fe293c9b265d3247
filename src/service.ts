import type { Logger } from 'pino';
import { TimeoutError, withTimeout } from './with-timeout.js';

/**
 * A long-running part of the app (the outbox worker, the scheduler, the roster refresh, …): one
 * shape for all, so the app starts them in one place and stops them in the reverse order
 * (docs/architecture.md "Service lifecycle").
 */
export interface Service {
  /** For the log: which part failed to start or stop. */
  readonly name: string;
  /**
   * Begins the work. May return at once and carry on in the background; a rejection is logged
   * (with `startFailure` as the message) and never stops the app: calls are served meanwhile.
   */
  start(): void | Promise<void>;
  /**
   * Ends the work and waits for what is in flight, at most `stopWithinMs` when given. Called on
   * close even when `start` never ran (the app closed before its store connected): it must be
   * safe then too, and release what the service holds from its construction on.
   */
  stop(): Promise<void>;
  /** Longest wait for `stop` before the app moves on (default: no limit). */
  readonly stopWithinMs?: number;
  /** Log message when `start` rejects (default "<name> failed to start"). */
  readonly startFailure?: string;
  /** Level of that message (default `error`). */
  readonly startFailureLevel?: 'warn' | 'error';
}

/**
 * The app's services in start order. `start` starts them all, in order; `stop` stops every one,
 * last first, so a part stops before what it depends on (the scheduler before the outbox it
 * writes to, the outbox before the stores). A failing stop is logged and the rest still stop.
 * After `stop`, `start` does nothing: an app closed before its store connected starts nothing.
 */
export class ServiceGroup {
  readonly #services: Service[] = [];
  readonly #started: Service[] = [];
  #stopped = false;

  constructor(private readonly log: Logger) {}

  add(service: Service): void {
    this.#services.push(service);
  }

  /** Names in start order, for tests and the log. */
  get names(): string[] {
    return this.#services.map((s) => s.name);
  }

  start(): void {
    if (this.#stopped) return;
    for (const service of this.#services) {
      if (this.#started.includes(service)) continue;
      this.#started.push(service);
      Promise.resolve()
        .then(() => service.start())
        .catch((err: unknown) =>
          this.log[service.startFailureLevel ?? 'error'](
            { err },
            service.startFailure ?? `${service.name} failed to start`,
          ),
        );
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const service of [...this.#services].reverse()) {
      try {
        if (service.stopWithinMs === undefined) await service.stop();
        else await withTimeout(() => service.stop(), service.stopWithinMs);
      } catch (err) {
        if (err instanceof TimeoutError) {
          this.log.warn(
            `${service.name} still stopping after ${service.stopWithinMs} ms; not waiting longer`,
          );
        } else this.log.warn({ err }, `${service.name} did not stop cleanly`);
      }
    }
  }
}

/**
 * A `Service` that runs `work` every `everyMs` on this replica while `isReady()` (the store is
 * connected; an outage is already logged once), one run at a time; a failed run is logged and
 * tried again on the next beat; stopping waits for a run in progress.
 */
export function intervalService(o: {
  name: string;
  work: () => Promise<unknown>;
  isReady: () => boolean;
  onError: (err: unknown) => void;
  everyMs: number;
}): Service {
  let running: Promise<unknown> | undefined;
  let timer: NodeJS.Timeout | undefined;
  return {
    name: o.name,
    start() {
      timer = setInterval(() => {
        if (running || !o.isReady()) return;
        running = o
          .work()
          .catch(o.onError)
          .finally(() => {
            running = undefined;
          });
      }, o.everyMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

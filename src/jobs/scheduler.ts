import { randomUUID } from 'node:crypto';
import {
  type Logger as CronLogger,
  createTask,
  type RunCoordinator,
  type ScheduledTask,
  validate,
} from 'node-cron';
import type { Logger } from 'pino';
import type { Notifier } from '../alerts/alert.js';
import { describeTelnyxError } from '../telnyx/client.js';
import type { JobHealth, JobStore } from './job-store.js';

export type JobRunReason = 'scheduled' | 'start' | 'manual';

export interface JobRunContext {
  job: string;
  /** The scheduled time (to the second) for a scheduled run; the start time otherwise. */
  slot: Date;
  reason: JobRunReason;
}

export interface JobDefinition<T = unknown> {
  /** Letters, digits and dashes; appears in Redis keys, alerts and metrics. */
  name: string;
  /** node-cron expression, five or six fields (seconds first when six). */
  cron: string;
  run: (context: JobRunContext) => Promise<T>;
  /** Also run once when the scheduler starts (roster sync, balance check). */
  runAtStart?: boolean;
  /** IANA zone the expression is read in (default: the scheduler's). */
  timezone?: string;
}

export type JobRunOutcome<T> =
  /** The job ran here (or this call joined the run already in progress in this process). */
  | { status: 'ran'; result: T }
  /** The job is running on another replica; nothing was done. */
  | { status: 'busy' };

export interface JobSchedulerOptions {
  /** Slot claims, run leases and job health: `RedisJobStore` with Redis, `MemoryJobStore` without. */
  store: JobStore;
  notifier: Notifier;
  logger: Logger;
  /** Default zone for the cron expressions (`TZ`); node-cron's default is the process zone. */
  timezone?: string;
  /** Clock for health timestamps and alert times (schedules follow the real clock). */
  now?: () => number;
  /** How long a claimed slot stays claimed: must exceed the clock skew between replicas (default 10 min). */
  slotLeaseMs?: number;
  /** Run lease TTL, renewed every third of it while the job runs (default 30 s). */
  runLeaseMs?: number;
}

const JOB_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/i;

interface Registered {
  definition: JobDefinition;
  task?: ScheduledTask;
}

/**
 * Runs named jobs on cron schedules across any number of replicas:
 * - every firing is a slot (the scheduled second); the first replica to claim a slot in the
 *   `JobStore` runs it, the others skip it (node-cron's `distributed` hook, backed by our lease);
 * - a job never overlaps itself: node-cron's `noOverlap` skips a firing while the previous local
 *   run is going, and the run lease (renewed while running) does the same across replicas;
 * - health is recorded per run; a failing job sends ONE `job-failing` alert per failure streak
 *   (`job:<name>:fail:<streakStartSlot>`) and one `job-recovered` when it succeeds again.
 * Without Redis, pass a `MemoryJobStore`: the same rules, in this process.
 */
export class JobScheduler {
  readonly #options: JobSchedulerOptions;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #slotLeaseMs: number;
  readonly #runLeaseMs: number;
  readonly #jobs = new Map<string, Registered>();
  /** Runs in progress in this process, so a manual run can join a scheduled one. */
  readonly #running = new Map<string, Promise<unknown>>();
  /** `runNow` calls in progress (including those still waiting for the lease). */
  readonly #calls = new Set<Promise<unknown>>();
  /** node-cron coordination key → our run-lease token and its renewal timer. */
  readonly #held = new Map<string, { token: string; timer: NodeJS.Timeout }>();
  #started = false;
  #stopping = false;

  constructor(options: JobSchedulerOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'scheduler' });
    this.#now = options.now ?? Date.now;
    this.#slotLeaseMs = options.slotLeaseMs ?? 600_000;
    this.#runLeaseMs = options.runLeaseMs ?? 30_000;
  }

  /** Adds a job; before or after `start()`. Throws on a duplicate name or an invalid expression. */
  register<T>(definition: JobDefinition<T>): void {
    if (!JOB_NAME.test(definition.name))
      throw new Error(`job name "${definition.name}" must be letters, digits, dashes`);
    if (this.#jobs.has(definition.name)) throw new Error(`job "${definition.name}" is already registered`);
    if (!validate(definition.cron))
      throw new Error(`job "${definition.name}": invalid cron "${definition.cron}"`);
    const registered: Registered = { definition: definition as JobDefinition };
    this.#jobs.set(definition.name, registered);
    if (this.#started) this.#schedule(registered);
  }

  /** Names of the registered jobs, in registration order. */
  jobs(): string[] {
    return [...this.#jobs.keys()];
  }

  /**
   * Starts the schedules, then runs the `runAtStart` jobs one after another in registration order
   * (so a presence check registered after the roster sync sees the synced agents). The returned
   * promise settles when those first runs are done; their failures are recorded and alerted, never
   * thrown, so the app may await it or not.
   */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#stopping = false;
    for (const registered of this.#jobs.values()) this.#schedule(registered);
    for (const registered of [...this.#jobs.values()]) {
      if (!registered.definition.runAtStart || this.#stopping) continue;
      const job = registered.definition.name;
      await this.runNow(job, 'start').catch((err: unknown) => {
        this.#logger.warn({ job, err }, 'at-start run did not complete');
      });
    }
  }

  /**
   * Runs a job now, outside its schedule (admin API, start). Joins the run already in progress in
   * this process; answers `busy` when another replica holds the run lease. Throws the job's error
   * (after recording it, and alerting on a new failure streak).
   */
  runNow<T = unknown>(name: string, reason: JobRunReason = 'manual'): Promise<JobRunOutcome<T>> {
    const registered = this.#jobs.get(name);
    if (!registered) return Promise.reject(new Error(`unknown job "${name}"`));
    if (this.#stopping) return Promise.reject(new Error('the job scheduler is stopping'));
    // Tracked from the first moment, so stop() also waits for a run still taking its lease.
    const call = this.#runNow<T>(registered, reason);
    this.#calls.add(call);
    const forget = () => this.#calls.delete(call);
    call.then(forget, forget);
    return call;
  }

  async #runNow<T>(registered: Registered, reason: JobRunReason): Promise<JobRunOutcome<T>> {
    const name = registered.definition.name;
    const local = this.#running.get(name);
    if (local) return { status: 'ran', result: (await local) as T };

    const token = randomUUID();
    if (!(await this.#options.store.acquireRun(name, token, this.#runLeaseMs))) {
      // The holder may be a scheduled run of this process that just started.
      const mine = this.#running.get(name);
      return mine ? { status: 'ran', result: (await mine) as T } : { status: 'busy' };
    }
    // Another local run may have started while we waited on the lease.
    const raced = this.#running.get(name);
    if (raced) {
      await this.#options.store.releaseRun(name, token).catch(() => undefined);
      return { status: 'ran', result: (await raced) as T };
    }
    const timer = this.#renewEvery(name, token);
    try {
      const slot = new Date(Math.floor(this.#now() / 1000) * 1000);
      return { status: 'ran', result: (await this.#execute(registered.definition, slot, reason)) as T };
    } finally {
      clearInterval(timer);
      await this.#options.store.releaseRun(name, token).catch(() => undefined);
    }
  }

  /** True while the job runs in this process. */
  isRunning(name: string): boolean {
    return this.#running.has(name);
  }

  /** Health of every registered job (or of the named ones), as stored (shared by replicas). */
  async health(names: readonly string[] = this.jobs()): Promise<JobHealth[]> {
    return Promise.all(names.map((name) => this.#options.store.getHealth(name)));
  }

  /** Stops every schedule and waits for the runs in progress in this process. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#started = false;
    for (const registered of this.#jobs.values()) {
      await registered.task?.destroy();
      registered.task = undefined;
    }
    await Promise.allSettled([...this.#calls, ...this.#running.values()]);
  }

  #schedule(registered: Registered): void {
    const { definition } = registered;
    const timezone = definition.timezone ?? this.#options.timezone;
    registered.task = createTask(
      definition.cron,
      async (context) => {
        // A firing whose lease was granted while stop() began: let it go.
        if (this.#stopping) return;
        // Errors are recorded and alerted inside; node-cron only needs to know the run ended.
        await this.#execute(definition, context.date, 'scheduled').catch(() => undefined);
      },
      {
        name: definition.name,
        noOverlap: true,
        distributed: true,
        runCoordinator: this.#coordinator(definition.name),
        distributedLease: this.#slotLeaseMs,
        logger: this.#cronLogger(definition.name),
        ...(timezone && { timezone }),
      },
    );
    void registered.task.start();
  }

  /**
   * node-cron asks `shouldRun("<name>:<slot ISO>", ttl)` before each firing and calls
   * `onComplete` with the same key after it; the slot is claimed and the run lease taken in one
   * atomic step. A lease error skips the slot (fail closed): running without coordination could
   * run it twice.
   */
  #coordinator(name: string): RunCoordinator {
    return {
      shouldRun: async (key, ttlMs) => {
        if (this.#stopping || this.#running.has(name)) return false;
        const slot = key.slice(name.length + 1);
        const token = randomUUID();
        try {
          const claim = await this.#options.store.claimSlot(name, slot, ttlMs, token, this.#runLeaseMs);
          if (claim === 'busy')
            this.#logger.info({ job: name, slot }, 'job still running elsewhere: slot skipped');
          if (claim !== 'run') return false;
        } catch (err) {
          this.#logger.warn({ job: name, slot, err }, 'job lease unavailable: slot skipped');
          return false;
        }
        this.#held.set(key, { token, timer: this.#renewEvery(name, token) });
        return true;
      },
      onComplete: async (key) => {
        const held = this.#held.get(key);
        if (!held) return;
        this.#held.delete(key);
        clearInterval(held.timer);
        await this.#options.store.releaseRun(name, held.token).catch((err: unknown) => {
          this.#logger.warn({ job: name, err }, 'could not release the job run lease (it will expire)');
        });
      },
    };
  }

  #renewEvery(name: string, token: string): NodeJS.Timeout {
    const timer = setInterval(
      () => {
        this.#options.store.renewRun(name, token, this.#runLeaseMs).then(
          (kept) => {
            if (!kept) this.#logger.warn({ job: name }, 'job run lease lost while running');
          },
          (err: unknown) => this.#logger.warn({ job: name, err }, 'could not renew the job run lease'),
        );
      },
      Math.max(10, Math.floor(this.#runLeaseMs / 3)),
    );
    timer.unref();
    return timer;
  }

  #execute(definition: JobDefinition, slot: Date, reason: JobRunReason): Promise<unknown> {
    const run = this.#runAndRecord(definition, slot, reason);
    this.#running.set(definition.name, run);
    const clear = () => {
      if (this.#running.get(definition.name) === run) this.#running.delete(definition.name);
    };
    run.then(clear, clear);
    return run;
  }

  async #runAndRecord(definition: JobDefinition, slot: Date, reason: JobRunReason): Promise<unknown> {
    const name = definition.name;
    const startedAt = this.#now();
    let result: unknown;
    try {
      result = await definition.run({ job: name, slot, reason });
    } catch (err) {
      await this.#recordFailure(name, slot, err, this.#now() - startedAt);
      throw err;
    }
    await this.#recordSuccess(name, this.#now() - startedAt);
    return result;
  }

  async #recordFailure(name: string, slot: Date, err: unknown, durationMs: number): Promise<void> {
    const error = describeTelnyxError(err);
    const at = new Date(this.#now()).toISOString();
    this.#logger.error({ job: name, err }, 'job failed');
    try {
      const streak = await this.#options.store.recordFailure(name, slot.toISOString(), at, error, durationMs);
      if (streak.consecutiveFailures === 1) {
        await this.#options.notifier.enqueue(`job:${name}:fail:${streak.failingSince}`, {
          type: 'job-failing',
          job: name,
          error,
          at,
        });
      }
    } catch (storeErr) {
      this.#logger.error({ job: name, err: storeErr }, 'could not record the job failure');
    }
  }

  async #recordSuccess(name: string, durationMs: number): Promise<void> {
    const at = new Date(this.#now()).toISOString();
    try {
      const { recovered } = await this.#options.store.recordSuccess(name, at, durationMs);
      if (recovered) {
        this.#logger.info({ job: name, failures: recovered.consecutiveFailures }, 'job recovered');
        await this.#options.notifier.enqueue(`job:${name}:recovered:${recovered.failingSince}`, {
          type: 'job-recovered',
          job: name,
          failures: recovered.consecutiveFailures,
          at,
        });
      }
    } catch (err) {
      this.#logger.error({ job: name, err }, 'could not record the job success');
    }
  }

  #cronLogger(name: string): CronLogger {
    const log = this.#logger.child({ job: name });
    const text = (m: string | Error): string => (m instanceof Error ? m.message : m);
    return {
      info: (message) => log.debug(message),
      warn: (message) => log.warn(message),
      error: (message, err) => log.error({ err: err ?? message }, text(message)),
      debug: (message) => log.debug(text(message)),
    };
  }
}

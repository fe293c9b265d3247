import type { Logger } from 'pino';
import { withTimeout } from '../with-timeout.js';
import type { QueueHours } from './call-center-file.js';
import type { CallCenterConfigSource } from './call-center-source.js';
import { type HoursOverrideStore, overrideFor } from './hours-override-store.js';
import { type HoursState, isOpen, type ManualOverride, stateAt } from './opening-hours.js';

export interface QueueHoursState extends HoursState {
  queue: string;
  /** The hours' time zone; undefined for a queue without hours (always open). */
  timeZone?: string;
}

/**
 * Opening hours as the call flow and `GET /api/hours` see them: the current call-center file's
 * schedule plus the manual overrides. A store that cannot be read does not hold up a caller: the
 * schedule alone decides and `overridesUnknown` says so (and a warning is logged).
 */
export class OpeningHoursService {
  private readonly source: CallCenterConfigSource;
  private readonly overrides: HoursOverrideStore;
  private readonly now: () => number;
  private readonly log?: Logger;
  private readonly overridesBudgetMs?: number;

  constructor(options: {
    source: CallCenterConfigSource;
    overrides: HoursOverrideStore;
    now?: () => number;
    logger?: Logger;
    /**
     * How long `check` (the call path) waits for the overrides before the schedule alone decides;
     * default: no limit.
     */
    overridesBudgetMs?: number;
    /**
     * How long `check` reuses the overrides it read (default 0: read every time). A change made
     * on this replica is seen at once; one made on another replica within this time.
     */
    overridesCacheMs?: number;
  }) {
    this.source = options.source;
    this.overrides = options.overrides;
    this.now = options.now ?? Date.now;
    this.log = options.logger;
    this.overridesBudgetMs = options.overridesBudgetMs;
    this.overridesCacheMs = options.overridesCacheMs ?? 0;
  }

  private readonly overridesCacheMs: number;
  private cached?: { at: number; list: ManualOverride[] };

  /**
   * The overrides for `check`: read on this server's clock (never the request's: the store drops
   * overrides it sees as expired, and a request's time may be off), reused for `overridesCacheMs`.
   */
  private async overridesForCheck(): Promise<ManualOverride[] | undefined> {
    const now = this.now();
    const c = this.cached;
    if (c && now >= c.at && now - c.at < this.overridesCacheMs) return c.list;
    const list = await this.loadOverrides(now, this.overridesBudgetMs);
    if (list && this.overridesCacheMs > 0) this.cached = { at: now, list };
    return list;
  }

  /** Overrides in force, or undefined when the store cannot be read (in `budgetMs`). */
  private async loadOverrides(at: number, budgetMs?: number): Promise<ManualOverride[] | undefined> {
    try {
      const list = this.overrides.list(at);
      return await (budgetMs === undefined ? list : withTimeout(list, budgetMs));
    } catch (err) {
      this.log?.warn({ err }, 'hours overrides unreadable; the schedule alone decides');
      return undefined;
    }
  }

  /**
   * One queue's state at `at` without `nextChange`: what the call flow asks for each call (no
   * look-ahead, microseconds). An unknown queue is open (it has no hours).
   */
  async check(
    queue: string,
    at = this.now(),
  ): Promise<Omit<QueueHoursState, 'nextChange'> & { overridesUnknown?: true }> {
    // An override whose `until` is before `at` is passed over by `stateAt`.
    const overrides = await this.overridesForCheck();
    const hours = this.source.current().hours.get(queue);
    const s = stateAt(hours, at, overrides && overrideFor(overrides, queue));
    return {
      queue,
      ...(hours ? { timeZone: hours.timeZone } : {}),
      ...s,
      ...(overrides ? {} : { overridesUnknown: true }),
    };
  }

  /** One queue's state with `nextChange` (the look-ahead is cached per schedule and override). */
  async state(queue: string, at = this.now()): Promise<QueueHoursState & { overridesUnknown?: true }> {
    const overrides = await this.loadOverrides(at);
    const hours = this.source.current().hours.get(queue);
    const s = this.withNextChange(hours, at, overrides && overrideFor(overrides, queue));
    return {
      queue,
      ...(hours ? { timeZone: hours.timeZone } : {}),
      ...s,
      ...(overrides ? {} : { overridesUnknown: true }),
    };
  }

  /**
   * `isOpen` with its look-ahead reused: for a later instant before the cached `nextChange`, with
   * the same schedule (object identity: a reload makes a new one), the same override and the same
   * open state, the next flip is the same one. A schedule that never flips within the horizon is
   * looked at again hourly.
   */
  private readonly nextCache = new WeakMap<
    QueueHours,
    { key: string; at: number; open: boolean; next: number | null }
  >();

  private withNextChange(hours: QueueHours | undefined, at: number, override?: ManualOverride): HoursState {
    if (!hours) return isOpen(hours, at, override);
    const now = stateAt(hours, at, override);
    const key = override ? JSON.stringify(override) : '';
    const cached = this.nextCache.get(hours);
    if (
      cached &&
      cached.key === key &&
      cached.open === now.open &&
      at >= cached.at &&
      (cached.next === null ? at - cached.at < 3_600_000 : at < cached.next)
    ) {
      return { ...now, nextChange: cached.next };
    }
    const full = isOpen(hours, at, override);
    this.nextCache.set(hours, { key, at, open: full.open, next: full.nextChange });
    return full;
  }

  /** Every queue of the file, in file order. Throws when the override store is unreadable. */
  async all(at = this.now()): Promise<QueueHoursState[]> {
    const overrides = await this.overrides.list(at);
    const config = this.source.current();
    return [...config.queues.keys()].map((queue) => {
      const hours = config.hours.get(queue);
      return {
        queue,
        ...(hours ? { timeZone: hours.timeZone } : {}),
        ...this.withNextChange(hours, at, overrideFor(overrides, queue)),
      };
    });
  }

  async setOverride(override: Omit<ManualOverride, 'setAt'>): Promise<ManualOverride> {
    const full = { ...override, setAt: this.now() };
    this.cached = undefined;
    await this.overrides.set(full);
    this.cached = undefined;
    return full;
  }

  async clearOverride(queue?: string): Promise<number> {
    this.cached = undefined;
    const n = await this.overrides.clear(queue);
    this.cached = undefined;
    return n;
  }
}

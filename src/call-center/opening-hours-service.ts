import type { Logger } from 'pino';
import type { CallCenterConfigSource } from './call-center-source.js';
import { type HoursOverrideStore, overrideFor } from './hours-override-store.js';
import { type HoursState, isOpen, type ManualOverride } from './opening-hours.js';

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

  constructor(options: {
    source: CallCenterConfigSource;
    overrides: HoursOverrideStore;
    now?: () => number;
    logger?: Logger;
  }) {
    this.source = options.source;
    this.overrides = options.overrides;
    this.now = options.now ?? Date.now;
    this.log = options.logger;
  }

  /** Overrides in force, or undefined when the store cannot be read. */
  private async loadOverrides(at: number): Promise<ManualOverride[] | undefined> {
    try {
      return await this.overrides.list(at);
    } catch (err) {
      this.log?.warn({ err }, 'hours overrides unreadable; the schedule alone decides');
      return undefined;
    }
  }

  /** One queue's state now (or at `at`); an unknown queue is open (it has no hours). */
  async state(queue: string, at = this.now()): Promise<QueueHoursState & { overridesUnknown?: true }> {
    const overrides = await this.loadOverrides(at);
    const hours = this.source.current().hours.get(queue);
    const s = isOpen(hours, at, overrides && overrideFor(overrides, queue));
    return {
      queue,
      ...(hours ? { timeZone: hours.timeZone } : {}),
      ...s,
      ...(overrides ? {} : { overridesUnknown: true }),
    };
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
        ...isOpen(hours, at, overrideFor(overrides, queue)),
      };
    });
  }

  async setOverride(override: Omit<ManualOverride, 'setAt'>): Promise<ManualOverride> {
    const full = { ...override, setAt: this.now() };
    await this.overrides.set(full);
    return full;
  }

  clearOverride(queue?: string): Promise<number> {
    return this.overrides.clear(queue);
  }
}

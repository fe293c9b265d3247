import type { Logger } from 'pino';
import type { StaticAgentEntry } from '../config.js';
import type { Agent, Roster, RosterSnapshot } from './agent.js';
import type { RosterStore, StoredRoster } from './roster-store.js';
import { sipKey } from './sip-uri.js';
import { indexBySip, staticAgents } from './static-roster.js';

export interface LiveRosterOptions {
  store: RosterStore;
  /** `AGENTS`: the seed of the roster, always online, listed first. */
  staticAgents?: readonly StaticAgentEntry[];
  /** How often to re-read the store, so a sync on another replica shows up here (default 2 s). */
  refreshMs?: number;
  logger: Logger;
}

/**
 * Static agents plus the synced Telnyx agents, as flows see them. A static entry whose SIP URI
 * equals a synced connection's hides that connection: the operator's `AGENTS` entry wins (its
 * name, and always online), which lets an operator pin an agent online.
 */
export function composeSnapshot(stored: StoredRoster, statics: readonly Agent[]): RosterSnapshot {
  const staticSips = new Set(statics.map((a) => sipKey(a.sip)));
  const synced: Agent[] = [];
  for (const entry of stored.agents) {
    if (staticSips.has(sipKey(entry.sip))) continue;
    synced.push(
      Object.freeze({
        id: entry.id,
        name: entry.name,
        sip: entry.sip,
        // A phone Telnyx will not connect a call to is never rung, registered or not.
        online: (stored.presence[entry.id] ?? false) && entry.unreachable === undefined,
        source: 'telnyx' as const,
        ...(entry.unreachable && { unreachable: entry.unreachable }),
      }),
    );
  }
  return Object.freeze({
    version: stored.version,
    agents: Object.freeze([...statics, ...synced]),
    syncedAt: stored.syncedAt,
    presenceCheckedAt: stored.presenceCheckedAt,
  });
}

/**
 * The roster of a deployment with a Telnyx API key. `current()` returns the snapshot held in
 * memory (no I/O on the call path); a background timer re-reads the shared store every
 * `refreshMs`, so after a sync or presence check on any replica every replica routes on the new
 * roster within that interval, without a restart. Until the first read succeeds (or while the
 * store is unreachable) the last known snapshot stays in use, initially the static agents alone.
 */
export class LiveRoster implements Roster {
  readonly #store: RosterStore;
  readonly #statics: readonly Agent[];
  readonly #refreshMs: number;
  readonly #logger: Logger;
  #snapshot: RosterSnapshot;
  #index: Map<string, Agent>;
  #timer: NodeJS.Timeout | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #inFlight = false;
  #failing = false;

  constructor(options: LiveRosterOptions) {
    this.#store = options.store;
    this.#statics = Object.freeze(staticAgents(options.staticAgents ?? []).map((a) => Object.freeze(a)));
    this.#refreshMs = options.refreshMs ?? 2000;
    this.#logger = options.logger.child({ component: 'roster' });
    this.#snapshot = composeSnapshot({ version: 0, agents: [], presence: {} }, this.#statics);
    this.#index = indexBySip(this.#snapshot.agents);
  }

  current(): RosterSnapshot {
    return this.#snapshot;
  }

  bySip(sip: string): Agent | undefined {
    const key = sipKey(sip);
    return key ? this.#index.get(key) : undefined;
  }

  /** Reads the store once (errors are logged, not thrown) and starts the background refresh. */
  async start(): Promise<void> {
    await this.refresh().catch(() => undefined);
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      // A slow store must not pile up reads.
      if (!this.#inFlight) void this.refresh().catch(() => undefined);
    }, this.#refreshMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Re-reads the store now; call it after a local sync or presence check so this replica does not
   * wait for the timer. Reads are serialised, so a refresh started after a write sees that write.
   * Rejects when the store is unreachable (the previous snapshot stays current).
   */
  refresh(): Promise<RosterSnapshot> {
    const run = this.#queue.then(async () => {
      this.#inFlight = true;
      try {
        const stored = await this.#store.load();
        if (this.#failing) this.#logger.info('roster store reachable again');
        this.#failing = false;
        this.#apply(stored);
        return this.#snapshot;
      } catch (err) {
        if (!this.#failing)
          this.#logger.warn({ err }, 'roster store unreachable: keeping the last known roster');
        this.#failing = true;
        throw err;
      } finally {
        this.#inFlight = false;
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #apply(stored: StoredRoster): void {
    const prev = this.#snapshot;
    if (
      stored.version === prev.version &&
      stored.syncedAt === prev.syncedAt &&
      stored.presenceCheckedAt === prev.presenceCheckedAt
    ) {
      // Every agent or presence change bumps the version: nothing new to show.
      return;
    }
    const next = composeSnapshot(stored, this.#statics);
    this.#index = indexBySip(next.agents);
    this.#snapshot = next;
    if (next.version !== prev.version) {
      this.#logger.info({ version: next.version, agents: next.agents.length }, 'roster updated');
    }
  }
}

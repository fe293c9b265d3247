import type { Redis } from 'ioredis';
import type { Agent, Roster, RosterSnapshot } from '../agents/agent.js';
import { sipKey, telnyxSipUri } from '../agents/sip-uri.js';

/**
 * Which agents have their browser softphone registered right now (docs/interface.md §5, §8): the
 * console reports it after the SDK's `telnyx.ready` and every 30 s while it stays registered
 * (a heartbeat with a 75 s lease, so a closed laptop drops out by itself), and withdraws it when
 * the phone is turned off or the page closes. Shared by replicas through Redis; built for the
 * configured backend by `createStores` (src/stores.ts).
 */

export const SOFTPHONE_LEASE_MS = 75_000;

export interface SoftphonePresenceStore {
  /** The agent's browser is registered as `sipUsername` until `untilMs`. */
  set(agentId: string, sipUsername: string, untilMs: number): Promise<void>;
  clear(agentId: string): Promise<void>;
  /** Agent id → SIP user of each browser whose lease has not run out. */
  all(nowMs: number): Promise<Record<string, string>>;
}

export class MemorySoftphonePresenceStore implements SoftphonePresenceStore {
  readonly #leases = new Map<string, { sip: string; until: number }>();
  async set(agentId: string, sipUsername: string, untilMs: number) {
    this.#leases.set(agentId, { sip: sipUsername, until: untilMs });
  }
  async clear(agentId: string) {
    this.#leases.delete(agentId);
  }
  async all(nowMs: number) {
    const out: Record<string, string> = {};
    for (const [id, l] of this.#leases) {
      if (l.until > nowMs) out[id] = l.sip;
      else this.#leases.delete(id);
    }
    return out;
  }
}

const KEY = 'web:softphones';
/**
 * The hash expires this long after its last heartbeat: two leases, so a fleet whose browsers all
 * went quiet leaves nothing behind. Each entry still carries its own lease, checked on read.
 */
const KEY_TTL_MS = 2 * SOFTPHONE_LEASE_MS;

/** One hash, `web:softphones`: agent id → `{ sip, until }`. */
export class RedisSoftphonePresenceStore implements SoftphonePresenceStore {
  constructor(private readonly redis: Redis) {}
  async set(agentId: string, sipUsername: string, untilMs: number) {
    const replies = await this.redis
      .multi()
      .hset(KEY, agentId, JSON.stringify({ sip: sipUsername, until: untilMs }))
      .pexpire(KEY, KEY_TTL_MS)
      .exec();
    for (const [err] of replies ?? []) if (err) throw err;
  }
  async clear(agentId: string) {
    await this.redis.hdel(KEY, agentId);
  }
  async all(nowMs: number) {
    const raw = await this.redis.hgetall(KEY);
    const out: Record<string, string> = {};
    const expired: string[] = [];
    for (const [id, v] of Object.entries(raw)) {
      try {
        const l = JSON.parse(v) as { sip?: unknown; until?: unknown };
        if (typeof l.sip === 'string' && typeof l.until === 'number' && l.until > nowMs) out[id] = l.sip;
        else expired.push(id);
      } catch {
        expired.push(id);
      }
    }
    if (expired.length > 0) await this.redis.hdel(KEY, ...expired);
    return out;
  }
}

/**
 * The roster as calls should see it once browsers count: an agent whose browser softphone is
 * registered is online and is rung at the browser's SIP user (`sip:<gencred…>@sip.telnyx.com`:
 * a JWT login registers as the telephony credential's own SIP user, not as the connection's), and
 * a leg to that URI resolves to the agent. Like `LiveRoster`, `current()` does no I/O: the
 * registrations are re-read in the background every `refreshMs`.
 *
 * src/app.ts hands it to the call flow, the router, the call center and the console in place of
 * the plain roster (with TELNYX_API_KEY and SESSION_SECRET: the softphone needs both), and runs
 * `start`/`stop` as a service; `refresh` also runs at once after this replica's console reported
 * a change, so the next call sees it without waiting for the timer.
 */
export class BrowserAwareRoster implements Roster {
  #browsers: Record<string, string> = {};
  #print = '';
  #epoch = 0;
  #cache: { inner: RosterSnapshot; epoch: number; snap: RosterSnapshot } | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly inner: Roster,
    private readonly store: SoftphonePresenceStore,
    private readonly options: { refreshMs?: number; now?: () => number } = {},
  ) {}

  async refresh(): Promise<void> {
    const browsers = await this.store.all((this.options.now ?? Date.now)());
    const print = JSON.stringify(Object.entries(browsers).sort());
    if (print !== this.#print) {
      this.#print = print;
      this.#browsers = browsers;
      this.#epoch += 1;
    }
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(
      () => void this.refresh().catch(() => undefined),
      this.options.refreshMs ?? 1_000,
    );
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  current(): RosterSnapshot {
    const inner = this.inner.current();
    if (this.#print === '' || this.#print === '[]') return inner;
    const c = this.#cache;
    if (c && c.inner === inner && c.epoch === this.#epoch) return c.snap;
    const agents = inner.agents.map((a): Agent => {
      const user = this.#browsers[a.id];
      return user ? { ...a, sip: telnyxSipUri(user), online: true } : a;
    });
    // Snapshots differ whenever the browsers do, so a version still tells "something changed".
    const snap: RosterSnapshot = { ...inner, agents, version: inner.version * 1_000 + (this.#epoch % 1_000) };
    this.#cache = { inner, epoch: this.#epoch, snap };
    return snap;
  }

  bySip(sip: string): Agent | undefined {
    const key = sipKey(sip);
    if (key) {
      const agent = this.current().agents.find((a) => sipKey(a.sip) === key);
      if (agent) return agent;
    }
    return this.inner.bySip(sip);
  }
}

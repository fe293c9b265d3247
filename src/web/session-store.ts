import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Sign-in links and sessions of the console and the wallboard (docs/interface.md §8). Secrets
 * (link tokens, session ids) are 32 random bytes; only their SHA-256 is stored, so a copy of
 * Redis signs nobody in. Two implementations: Redis (shared by replicas, survives restarts) and
 * memory (one process).
 */

/** Who a link or session belongs to: one agent of the roster, or a supervisor (sees everything). */
export type Principal = { role: 'agent'; agentId: string } | { role: 'supervisor' };

export interface SessionRecord {
  principal: Principal;
  /** Epoch ms. */
  createdAt: number;
  expiresAt: number;
}

export interface SessionStore {
  /** A one-time sign-in token for `principal`, valid for `ttlMs`. */
  createLink(principal: Principal, ttlMs: number): Promise<{ token: string; expiresAt: number }>;
  /** The link's principal, once: a second redemption (or an expired link) gives null. */
  redeemLink(token: string): Promise<Principal | null>;
  /** A new session id (the cookie's value). */
  createSession(principal: Principal, ttlMs: number): Promise<string>;
  getSession(id: string): Promise<SessionRecord | null>;
  deleteSession(id: string): Promise<void>;
  /** Ends every session of one agent; resolves to how many there were. */
  revokeAgent(agentId: string): Promise<number>;
}

export const newSecret = (): string => randomBytes(32).toString('base64url');
const hash = (secret: string): string => createHash('sha256').update(secret).digest('base64url');
const isPrincipal = (v: unknown): v is Principal => {
  if (!v || typeof v !== 'object') return false;
  const p = v as Record<string, unknown>;
  return p.role === 'supervisor' || (p.role === 'agent' && typeof p.agentId === 'string' && p.agentId !== '');
};

export class MemorySessionStore implements SessionStore {
  readonly #links = new Map<string, { principal: Principal; expiresAt: number }>();
  readonly #sessions = new Map<string, SessionRecord>();

  constructor(private readonly now: () => number = Date.now) {}

  async createLink(principal: Principal, ttlMs: number) {
    this.#sweep();
    const token = newSecret();
    const expiresAt = this.now() + ttlMs;
    this.#links.set(hash(token), { principal, expiresAt });
    return { token, expiresAt };
  }

  async redeemLink(token: string) {
    const key = hash(token);
    const link = this.#links.get(key);
    this.#links.delete(key);
    return link && link.expiresAt > this.now() ? link.principal : null;
  }

  async createSession(principal: Principal, ttlMs: number) {
    this.#sweep();
    const id = newSecret();
    const createdAt = this.now();
    this.#sessions.set(hash(id), { principal, createdAt, expiresAt: createdAt + ttlMs });
    return id;
  }

  async getSession(id: string) {
    const s = this.#sessions.get(hash(id));
    return s && s.expiresAt > this.now() ? s : null;
  }

  async deleteSession(id: string) {
    this.#sessions.delete(hash(id));
  }

  async revokeAgent(agentId: string) {
    let n = 0;
    for (const [key, s] of this.#sessions) {
      if (s.principal.role === 'agent' && s.principal.agentId === agentId) {
        this.#sessions.delete(key);
        if (s.expiresAt > this.now()) n += 1;
      }
    }
    return n;
  }

  /** Expired entries go on the next write, so memory stays bounded by the live ones. */
  #sweep() {
    const now = this.now();
    for (const [k, v] of this.#links) if (v.expiresAt <= now) this.#links.delete(k);
    for (const [k, v] of this.#sessions) if (v.expiresAt <= now) this.#sessions.delete(k);
  }
}

const LINK = (h: string) => `web:link:${h}`;
const SESSION = (h: string) => `web:session:${h}`;
const AGENT_SESSIONS = (agentId: string) => `web:agent-sessions:${agentId}`;

export class RedisSessionStore implements SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly now: () => number = Date.now,
  ) {}

  async createLink(principal: Principal, ttlMs: number) {
    const token = newSecret();
    const expiresAt = this.now() + ttlMs;
    await this.redis.set(LINK(hash(token)), JSON.stringify({ principal, expiresAt }), 'PX', ttlMs);
    return { token, expiresAt };
  }

  async redeemLink(token: string) {
    // GETDEL is atomic: two replicas redeeming one link at once sign in one browser.
    const raw = await this.redis.getdel(LINK(hash(token)));
    if (!raw) return null;
    const v = parse(raw) as { principal?: unknown; expiresAt?: unknown } | undefined;
    if (!v || !isPrincipal(v.principal) || typeof v.expiresAt !== 'number' || v.expiresAt <= this.now())
      return null;
    return v.principal;
  }

  async createSession(principal: Principal, ttlMs: number) {
    const id = newSecret();
    const h = hash(id);
    const createdAt = this.now();
    const record: SessionRecord = { principal, createdAt, expiresAt: createdAt + ttlMs };
    const multi = this.redis.multi().set(SESSION(h), JSON.stringify(record), 'PX', ttlMs);
    if (principal.role === 'agent') {
      multi.sadd(AGENT_SESSIONS(principal.agentId), h).pexpire(AGENT_SESSIONS(principal.agentId), ttlMs);
    }
    await multi.exec();
    return id;
  }

  async getSession(id: string) {
    const raw = await this.redis.get(SESSION(hash(id)));
    if (!raw) return null;
    const v = parse(raw) as Partial<SessionRecord> | undefined;
    if (!v || !isPrincipal(v.principal) || typeof v.expiresAt !== 'number' || typeof v.createdAt !== 'number')
      return null;
    return v.expiresAt > this.now() ? (v as SessionRecord) : null;
  }

  async deleteSession(id: string) {
    const h = hash(id);
    const s = await this.getSession(id);
    const multi = this.redis.multi().del(SESSION(h));
    if (s?.principal.role === 'agent') multi.srem(AGENT_SESSIONS(s.principal.agentId), h);
    await multi.exec();
  }

  async revokeAgent(agentId: string) {
    const hashes = await this.redis.smembers(AGENT_SESSIONS(agentId));
    if (hashes.length === 0) return 0;
    const deleted = await this.redis.del(...hashes.map(SESSION));
    await this.redis.srem(AGENT_SESSIONS(agentId), ...hashes);
    return deleted;
  }
}

function parse(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

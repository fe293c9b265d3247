import type { Agent, Roster } from '../../agents/agent.js';
import type { JobHealth } from '../../jobs/job-store.js';

/** The body of `GET /api/agents`. */
export interface AgentsReport {
  version: number;
  /** ISO time of the last successful roster sync (absent for a static roster or before the first). */
  syncedAt?: string;
  presenceCheckedAt?: string;
  online: number;
  agents: Agent[];
  /** Health of the Telnyx jobs; absent when there are none or their store is unreachable. */
  jobs?: JobHealth[];
}

export interface AgentsReportSources {
  roster: Roster & { refresh?(): Promise<unknown> };
  /** The scheduler (or anything with its `health()`); omitted when the Telnyx jobs are off. */
  jobs?: { health(): Promise<JobHealth[]> };
}

/**
 * Builds the `GET /api/agents` answer: the roster as call flows see it, with online state, last
 * sync and presence times, and job health. A live roster is re-read first so an operator sees a
 * sync that just ran on another replica; when the store is unreachable the answer still comes,
 * from the last known roster.
 */
export async function agentsReport(sources: AgentsReportSources): Promise<AgentsReport> {
  await sources.roster.refresh?.().catch(() => undefined);
  const snapshot = sources.roster.current();
  const jobs = sources.jobs ? await sources.jobs.health().catch(() => undefined) : undefined;
  return {
    version: snapshot.version,
    ...(snapshot.syncedAt && { syncedAt: snapshot.syncedAt }),
    ...(snapshot.presenceCheckedAt && { presenceCheckedAt: snapshot.presenceCheckedAt }),
    online: snapshot.agents.filter((a) => a.online).length,
    agents: snapshot.agents.map((a) => ({
      id: a.id,
      name: a.name,
      sip: a.sip,
      online: a.online,
      source: a.source,
      ...(a.unreachable && { unreachable: a.unreachable }),
    })),
    ...(jobs && { jobs }),
  };
}

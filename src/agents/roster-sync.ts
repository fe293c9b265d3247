import type { Logger } from 'pino';
import type { Notifier } from '../alerts/alert.js';
import { describeTelnyxError, type TelnyxClient } from '../telnyx/client.js';
import { type AgentFilter, listAgentConnections } from './agent-connections.js';
import { diffRoster, type RosterRename } from './roster-diff.js';
import type { RosterEntry, RosterStore } from './roster-store.js';

export interface RosterSyncOptions {
  client: TelnyxClient;
  store: RosterStore;
  notifier: Notifier;
  logger: Logger;
  filter: AgentFilter;
  now?: () => number;
  /** Passed to `listAgentConnections` (defaults 250 and 200). */
  pageSize?: number;
  maxPages?: number;
  /** Called after the store was written, e.g. `() => liveRoster.refresh()`; its errors are ignored. */
  onStored?: () => unknown;
  /**
   * `AGENT_SIP_URI_CALLING=enable`: set `sip_uri_calling_preference` to `internal` on agent
   * connections that refuse SIP URI calls (PATCH /v2/credential_connections/{id}, spec3.yml
   * `UpdateCredentialConnection`). Off: they are only reported.
   */
  enableSipUriCalling?: boolean;
}

/** What `POST /api/agents/sync` answers. */
export interface RosterSyncResult {
  added: string[];
  removed: string[];
  renamed: RosterRename[];
  /** Agents whose SIP URI changed. */
  resipped: string[];
  changed: boolean;
  /** Roster version after the sync (unchanged when nothing changed). */
  version: number;
  syncedAt: string;
  /** Number of synced Telnyx agents now in the roster. */
  agents: number;
  /** Agents Telnyx will not connect calls to (listed, never rung), by name. */
  unreachable: string[];
  /** Agents whose connection Switchboard just set to `sip_uri_calling_preference: internal`. */
  sipUriCallingEnabled: string[];
}

/** Lost compare-and-set races before giving up; each loss means another writer just wrote. */
const MAX_ATTEMPTS = 5;

const sortAgents = (agents: RosterEntry[]): RosterEntry[] =>
  agents.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));

/**
 * Rebuilds the Telnyx part of the roster from the account's credential connections and stores it
 * as a new version when it changed. On a change that adds, removes or renames agents it enqueues
 * ONE `roster-changed` alert under the key `roster:<version>`: the version is won by exactly one
 * writer (compare-and-set), so replicas racing through the same change alert once. A rename is
 * shown as the new name added and the old one removed; a SIP-only change is stored and logged but
 * not alerted. When Telnyx cannot be read the stored roster is left as it is and the error is
 * thrown (the scheduler turns it into a `job-failing` alert).
 */
export async function syncRoster(options: RosterSyncOptions): Promise<RosterSyncResult> {
  const { store, logger } = options;
  const now = options.now ?? Date.now;
  const agents = sortAgents(
    await listAgentConnections(options.client, options.filter, {
      logger,
      pageSize: options.pageSize,
      maxPages: options.maxPages,
    }),
  );
  const sipUriCallingEnabled = options.enableSipUriCalling ? await enableSipUriCalling(options, agents) : [];
  const unreachable = agents.filter((a) => a.unreachable).map((a) => a.name);
  if (unreachable.length) {
    logger.warn(
      { agents: unreachable },
      'agents not rung: their credential connection refuses SIP URI calls (sip_uri_calling_preference=disabled)',
    );
  }
  const syncedAt = new Date(now()).toISOString();
  const extra = { unreachable, sipUriCallingEnabled };

  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const stored = await store.load();
    const diff = diffRoster(stored.agents, agents);
    if (!diff.changed) {
      await store.markSynced(syncedAt);
      await notifyStored(options);
      return { ...diff, ...extra, version: stored.version, syncedAt, agents: agents.length };
    }
    const version = await store.replaceAgents(stored.version, agents, syncedAt);
    if (version === null) continue;

    logger.info(
      {
        version,
        added: diff.added.length,
        removed: diff.removed.length,
        renamed: diff.renamed.length,
        resipped: diff.resipped.length,
      },
      'roster changed',
    );
    await notifyStored(options);
    const added = [...diff.added, ...diff.renamed.map((r) => r.to)];
    const removed = [...diff.removed, ...diff.renamed.map((r) => r.from)];
    if (added.length + removed.length > 0) {
      try {
        await options.notifier.enqueue(`roster:${version}`, {
          type: 'roster-changed',
          added,
          removed,
          at: syncedAt,
        });
      } catch (err) {
        // The new roster is stored and in use; a lost notice must not fail the sync.
        logger.error({ err, version }, 'roster-changed alert could not be queued');
      }
    }
    // One roster warning per version that changed who cannot be rung (or that fixed someone).
    const before = new Set(stored.agents.filter((a) => a.unreachable).map((a) => a.id));
    const after = new Set(agents.filter((a) => a.unreachable).map((a) => a.id));
    const newlyUnreachable = [...after].some((id) => !before.has(id));
    if (newlyUnreachable || sipUriCallingEnabled.length) {
      try {
        await options.notifier.enqueue(`roster-unreachable:${version}`, {
          type: 'roster-unreachable',
          agents: unreachable,
          enabled: sipUriCallingEnabled,
          at: syncedAt,
        });
      } catch (err) {
        logger.error({ err, version }, 'roster-unreachable alert could not be queued');
      }
    }
    return { ...diff, ...extra, version, syncedAt, agents: agents.length };
  }
  throw new Error(`roster sync: the roster kept changing underneath (${MAX_ATTEMPTS} attempts)`);
}

async function notifyStored(options: RosterSyncOptions): Promise<void> {
  try {
    await options.onStored?.();
  } catch {
    // The background refresh will catch up.
  }
}

/**
 * Sets `sip_uri_calling_preference: internal` on each agent connection that refuses SIP URI
 * calls, one PATCH per connection (`internal` admits calls from this account's own connections,
 * the narrowest setting that lets Switchboard ring the agent). A connection that cannot be
 * updated stays unreachable and is logged; the sync goes on. Returns the names fixed.
 */
async function enableSipUriCalling(options: RosterSyncOptions, agents: RosterEntry[]): Promise<string[]> {
  const enabled: string[] = [];
  for (const agent of agents) {
    if (!agent.unreachable) continue;
    try {
      const res = await options.client.credentialConnections.update(agent.id, {
        sip_uri_calling_preference: 'internal',
      });
      const now = res.data?.sip_uri_calling_preference;
      if (now !== undefined && now !== 'internal' && now !== 'unrestricted') {
        throw new Error(`Telnyx answered sip_uri_calling_preference=${now}`);
      }
      delete agent.unreachable;
      enabled.push(agent.name);
      options.logger.warn(
        { connectionId: agent.id, agent: agent.name },
        'set sip_uri_calling_preference=internal on the credential connection (AGENT_SIP_URI_CALLING=enable)',
      );
    } catch (err) {
      options.logger.error(
        { connectionId: agent.id, agent: agent.name, error: describeTelnyxError(err) },
        'could not enable SIP URI calling on the credential connection; the agent stays unreachable',
      );
    }
  }
  return enabled;
}

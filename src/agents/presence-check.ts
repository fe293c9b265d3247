import type { Logger } from 'pino';
import { describeTelnyxError, type TelnyxClient } from '../telnyx/client.js';
import type { RosterStore } from './roster-store.js';

export interface PresenceCheckOptions {
  client: TelnyxClient;
  store: RosterStore;
  logger: Logger;
  /** Registration checks in flight at once (default 5), to stay clear of Telnyx rate limits. */
  concurrency?: number;
  now?: () => number;
  /** Called after presence was stored, e.g. `() => liveRoster.refresh()`; its errors are ignored. */
  onStored?: () => unknown;
}

export interface PresenceCheckResult {
  /** Agents whose status was read. */
  checked: number;
  online: string[];
  offline: string[];
  /** Agents whose check failed; they keep their last known state. */
  failed: string[];
  version: number;
  checkedAt?: string;
}

/**
 * Asks Telnyx for the SIP registration status of every synced agent
 * (`POST /credential_connections/{id}/actions/check_registration_status`, docs/telnyx.md §4.2)
 * and stores who is online: `Registered` is online, every other status is offline. An agent whose
 * check fails keeps its last known state. When every check fails (Telnyx down, key revoked) nothing
 * is stored and the error is thrown, so the scheduler reports the job as failing.
 */
export async function checkPresence(options: PresenceCheckOptions): Promise<PresenceCheckResult> {
  const { client, store, logger } = options;
  const now = options.now ?? Date.now;
  const concurrency = Math.max(1, options.concurrency ?? 5);
  const roster = await store.load();
  const agents = roster.agents;
  if (agents.length === 0)
    return { checked: 0, online: [], offline: [], failed: [], version: roster.version };

  const presence: Record<string, boolean> = {};
  const online: string[] = [];
  const offline: string[] = [];
  const failed: string[] = [];
  let firstError: unknown;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < agents.length) {
      const agent = agents[next++]!;
      try {
        const reply = await client.credentialConnections.actions.checkRegistrationStatus(agent.id);
        const registered = reply.data?.status === 'Registered';
        presence[agent.id] = registered;
        (registered ? online : offline).push(agent.name);
      } catch (err) {
        firstError ??= err;
        failed.push(agent.name);
        logger.warn(
          { agentId: agent.id, error: describeTelnyxError(err) },
          'registration status check failed: keeping the last known state',
        );
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, agents.length) }, worker));

  if (failed.length === agents.length) {
    throw new Error(
      `presence check failed for all ${agents.length} agents: ${describeTelnyxError(firstError)}`,
    );
  }
  const checkedAt = new Date(now()).toISOString();
  const version = await store.setPresence(presence, checkedAt);
  if (version !== roster.version) logger.info({ version, online: online.length }, 'agent presence changed');
  try {
    await options.onStored?.();
  } catch {
    // The background refresh will catch up.
  }
  return { checked: agents.length - failed.length, online, offline, failed, version, checkedAt };
}

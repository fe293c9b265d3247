import type { Logger } from 'pino';
import { checkPresence } from '../agents/presence-check.js';
import type { RosterStore } from '../agents/roster-store.js';
import { syncRoster } from '../agents/roster-sync.js';
import type { Notifier } from '../alerts/alert.js';
import type { Config } from '../config.js';
import type { TelnyxClient } from '../telnyx/client.js';
import { checkBalance } from './balance-check.js';
import type { JobStore } from './job-store.js';
import type { JobScheduler } from './scheduler.js';

/** Job names, as they appear in alerts, `/api/agents` and metrics. */
export const TELNYX_JOBS = {
  rosterSync: 'agent-sync',
  presence: 'agent-presence',
  balance: 'balance-check',
} as const;

export interface TelnyxJobsOptions {
  scheduler: JobScheduler;
  client: TelnyxClient;
  rosterStore: RosterStore;
  /** The balance check's alert state. */
  jobStore: Pick<JobStore, 'getBalance' | 'compareAndSetBalance'>;
  notifier: Notifier;
  logger: Logger;
  agents: Pick<Config['agents'], 'connectionFilter' | 'outboundProfileId' | 'syncCron' | 'presenceCron'> &
    Partial<Pick<Config['agents'], 'enableSipUriCalling'>>;
  balance: Config['balance'];
  /** Refreshed after each sync / presence check so this replica routes on the result at once. */
  roster?: { refresh(): Promise<unknown> };
  now?: () => number;
}

/**
 * Registers the three Telnyx account jobs (only when `TELNYX_API_KEY` is set): the roster sync
 * (`AGENT_SYNC_CRON`, also at start), the presence check (`AGENT_PRESENCE_CRON`, also right after
 * the first sync) and the balance check (`BALANCE_CHECK_CRON`, also at start).
 * `POST /api/agents/sync` is `scheduler.runNow<RosterSyncResult>(TELNYX_JOBS.rosterSync)`.
 */
export function registerTelnyxJobs(options: TelnyxJobsOptions): void {
  const { scheduler, client, notifier, now } = options;
  const onStored = options.roster ? () => options.roster?.refresh() : undefined;
  scheduler.register({
    name: TELNYX_JOBS.rosterSync,
    cron: options.agents.syncCron,
    runAtStart: true,
    run: () =>
      syncRoster({
        client,
        store: options.rosterStore,
        notifier,
        logger: options.logger.child({ job: TELNYX_JOBS.rosterSync }),
        filter: {
          connectionName: options.agents.connectionFilter,
          outboundProfileId: options.agents.outboundProfileId,
        },
        now,
        onStored,
        enableSipUriCalling: options.agents.enableSipUriCalling,
      }),
  });
  scheduler.register({
    name: TELNYX_JOBS.presence,
    cron: options.agents.presenceCron,
    runAtStart: true,
    run: () =>
      checkPresence({
        client,
        store: options.rosterStore,
        logger: options.logger.child({ job: TELNYX_JOBS.presence }),
        now,
        onStored,
      }),
  });
  scheduler.register({
    name: TELNYX_JOBS.balance,
    cron: options.balance.cron,
    runAtStart: true,
    run: () =>
      checkBalance({
        client,
        store: options.jobStore,
        notifier,
        logger: options.logger.child({ job: TELNYX_JOBS.balance }),
        threshold: options.balance.threshold,
        now,
      }),
  });
}

import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Roster } from '../../agents/agent.js';
import { agentsReport } from '../../agents/agents-report.js';
import type { RosterSyncResult } from '../../agents/roster-sync.js';
import { Errors } from '../../errors.js';
import type { JobScheduler } from '../../jobs/scheduler.js';
import { TELNYX_JOBS } from '../../jobs/telnyx-jobs.js';
import { describeTelnyxError } from '../../telnyx/client.js';

export interface AgentRoutesOptions {
  roster: Roster & { refresh?(): Promise<unknown> };
  scheduler: JobScheduler;
  /** False without TELNYX_API_KEY: the roster is the static AGENTS and cannot be synced. */
  syncEnabled: boolean;
}

const JobHealth = Type.Object({
  job: Type.String(),
  lastSuccessAt: Type.Optional(Type.String()),
  lastFailureAt: Type.Optional(Type.String()),
  lastError: Type.Optional(Type.String()),
  consecutiveFailures: Type.Integer(),
});

export default async function agentRoutes(app: FastifyInstance, opts: AgentRoutesOptions): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    '/agents',
    {
      schema: {
        tags: ['agents'],
        summary: 'The roster with online state, last sync and presence check, and job health',
        response: {
          200: Type.Object({
            version: Type.Integer(),
            syncedAt: Type.Optional(Type.String()),
            presenceCheckedAt: Type.Optional(Type.String()),
            online: Type.Integer(),
            agents: Type.Array(
              Type.Object({
                id: Type.String(),
                name: Type.String(),
                sip: Type.String(),
                online: Type.Boolean(),
                source: Type.String(),
                /** Why Telnyx will not connect a call to this agent (never rung), e.g. `sip-uri-calling-disabled`. */
                unreachable: Type.Optional(Type.String()),
              }),
            ),
            jobs: Type.Optional(Type.Array(JobHealth)),
          }),
        },
      },
    },
    async () => agentsReport({ roster: opts.roster, jobs: opts.syncEnabled ? opts.scheduler : undefined }),
  );

  api.post(
    '/agents/sync',
    {
      schema: {
        tags: ['agents'],
        summary: 'Runs the roster sync now and returns what changed',
        response: {
          200: Type.Object({
            added: Type.Array(Type.String()),
            removed: Type.Array(Type.String()),
            renamed: Type.Array(Type.Object({ id: Type.String(), from: Type.String(), to: Type.String() })),
            changed: Type.Boolean(),
            version: Type.Integer(),
            syncedAt: Type.String(),
            unreachable: Type.Array(Type.String()),
            sipUriCallingEnabled: Type.Array(Type.String()),
          }),
          409: Type.Ref('ErrorReply'),
          502: Type.Ref('ErrorReply'),
          503: Type.Ref('ErrorReply'),
        },
      },
    },
    async () => {
      if (!opts.syncEnabled) throw new Errors.NotConfigured('roster sync needs TELNYX_API_KEY');
      let outcome: Awaited<ReturnType<typeof opts.scheduler.runNow<RosterSyncResult>>>;
      try {
        outcome = await opts.scheduler.runNow<RosterSyncResult>(TELNYX_JOBS.rosterSync, 'manual');
      } catch (err) {
        throw new Errors.Upstream(describeTelnyxError(err));
      }
      if (outcome.status === 'busy')
        throw new Errors.Busy('a roster sync is already running on another replica');
      const r = outcome.result;
      return {
        added: r.added,
        removed: r.removed,
        renamed: r.renamed,
        changed: r.changed,
        version: r.version,
        syncedAt: r.syncedAt,
        unreachable: r.unreachable,
        sipUriCallingEnabled: r.sipUriCallingEnabled,
      };
    },
  );
}

import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Roster } from '../../agents/agent.js';
import type { AgentRecord } from '../../agents/agent-state.js';
import { AGENT_STATUSES, type AgentStatusService } from '../../agents/agent-status-service.js';
import type { RosterSyncResult } from '../../agents/roster-sync.js';
import { Errors } from '../../errors.js';
import type { JobScheduler } from '../../jobs/scheduler.js';
import { TELNYX_JOBS } from '../../jobs/telnyx-jobs.js';
import { describeTelnyxError } from '../../telnyx/client.js';
import { agentsReport } from './agents-report.js';

export interface AgentRoutesOptions {
  roster: Roster & { refresh?(): Promise<unknown> };
  scheduler: JobScheduler;
  /** False without TELNYX_API_KEY: the roster is the static AGENTS and cannot be synced. */
  syncEnabled: boolean;
  /** Agent status and state (docs/interface.md §5); without it the routes below are not mounted. */
  status?: AgentStatusService;
  /** Status and state of many agents in one read, for `GET /api/agents`. */
  records?: (agentIds: readonly string[]) => Promise<Map<string, AgentRecord>>;
}

const StatusView = Type.Object({
  status: Type.Union(AGENT_STATUSES.map((s) => Type.Literal(s))),
  reason: Type.Optional(Type.String()),
  state: Type.Union(['idle', 'offered', 'on-call', 'wrap-up'].map((s) => Type.Literal(s))),
  stateSince: Type.String(),
  statusSince: Type.Optional(Type.String()),
});

const AgentParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 256 }) });

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
                /** Set by a person: available, break (with a reason) or offline (docs/interface.md §5). */
                status: Type.Optional(Type.String()),
                reason: Type.Optional(Type.String()),
                /** Set by the system: idle, offered, on-call or wrap-up. */
                state: Type.Optional(Type.String()),
                stateSince: Type.Optional(Type.String()),
                wrapUpUntil: Type.Optional(Type.String()),
              }),
            ),
            jobs: Type.Optional(Type.Array(JobHealth)),
          }),
        },
      },
    },
    async (req) => {
      const report = await agentsReport({
        roster: opts.roster,
        jobs: opts.syncEnabled ? opts.scheduler : undefined,
      });
      if (!opts.records) return report;
      // The roster still answers when the agent state store does not (no status then).
      const records = await opts.records(report.agents.map((a) => a.id)).catch((err) => {
        req.log.warn({ err }, 'agent states unavailable for GET /api/agents');
        return undefined;
      });
      if (!records) return report;
      return {
        ...report,
        agents: report.agents.map((a) => {
          const r = records.get(a.id);
          if (!r) return a;
          return {
            ...a,
            status: r.status,
            ...(r.reason ? { reason: r.reason } : {}),
            state: r.state,
            stateSince: new Date(r.stateAt).toISOString(),
            ...(r.wrapUpUntil ? { wrapUpUntil: new Date(r.wrapUpUntil).toISOString() } : {}),
          };
        }),
      };
    },
  );

  const status = opts.status;
  if (status) {
    api.put(
      '/agents/:id/status',
      {
        schema: {
          tags: ['agents'],
          summary: "Sets an agent's status: available, break (with a reason) or offline",
          params: AgentParams,
          body: Type.Object(
            {
              status: Type.Union(AGENT_STATUSES.map((s) => Type.Literal(s))),
              reason: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            },
            { additionalProperties: false },
          ),
          response: { 200: StatusView, 404: Type.Ref('ErrorReply'), 409: Type.Ref('ErrorReply') },
        },
      },
      async (req) =>
        status.setStatus(req.params.id, req.body.status, req.body.reason, { role: 'supervisor' }),
    );

    api.post(
      '/agents/:id/wrap-up/end',
      {
        schema: {
          tags: ['agents'],
          summary: "Ends an agent's wrap-up now",
          params: AgentParams,
          response: { 200: StatusView, 404: Type.Ref('ErrorReply'), 409: Type.Ref('ErrorReply') },
        },
      },
      async (req) => status.endWrapUp(req.params.id),
    );
  }

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

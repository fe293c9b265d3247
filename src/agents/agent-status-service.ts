/**
 * What the agent console and the admin API may do with an agent's status and state
 * (docs/interface.md §5, §6 and §8). The shape is shared with the web console (src/web), which
 * takes any implementation of `AgentStatusService`; `createAgentStatusService` is the one backed
 * by the agent state store and the event log (src/queues/call-center.ts).
 */

export const AGENT_STATUSES = ['available', 'break', 'offline'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];
export type AgentActivity = 'idle' | 'offered' | 'on-call' | 'wrap-up';

export interface AgentStatusView {
  status: AgentStatus;
  reason?: string;
  state: AgentActivity;
  /** ISO time the state last changed. */
  stateSince: string;
  /** ISO time the status last changed; absent for an agent whose status was never set. */
  statusSince?: string;
  /** The call the agent is offered, on, or wrapping up after (absent when idle). */
  callSid?: string;
  /** That call's queue, when known (docs/interface.md §7). */
  queue?: string;
}

/** Who changes a status: the agent (from the console) or a supervisor (admin API, console). */
export type StatusChanger = { role: 'agent'; agentId: string } | { role: 'supervisor' };

export interface AgentStatusService {
  /** The agent's status and state; null for an agent not in the roster. */
  get(agentId: string): Promise<AgentStatusView | null>;
  /** Sets the status (a reason only with `break`). Rejects with 404 for an unknown agent. */
  setStatus(
    agentId: string,
    status: AgentStatus,
    reason: string | undefined,
    by: StatusChanger,
  ): Promise<AgentStatusView>;
  /** Ends the agent's wrap-up now. Rejects with 404 (unknown agent) or 409 (not in wrap-up). */
  endWrapUp(agentId: string): Promise<AgentStatusView>;
}

/** The `by` written into the event log for a change by `who`. */
export function changerName(who: StatusChanger): string {
  return who.role === 'agent' ? `agent:${who.agentId}` : 'supervisor';
}

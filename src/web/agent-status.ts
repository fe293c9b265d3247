/**
 * The agent status (set by a person) and state (set by the system) of docs/interface.md §5, as
 * the console and the wallboard use them. The store behind it is built separately; until it is
 * wired in, the web routes get no service and answer 503 "agent status is not available yet".
 */

export const AGENT_STATUSES = ['available', 'break', 'offline'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];
export type AgentActivity = 'idle' | 'offered' | 'on-call' | 'wrap-up';

export interface AgentStatusView {
  status: AgentStatus;
  /** The break's reason (`lunch`, `no-answer`, ...). */
  reason?: string;
  state: AgentActivity;
  /** ISO time the state began: the console's and the wallboard's timers count from it. */
  stateSince: string;
  /** ISO time the status was last set. */
  statusSince?: string;
}

/** Who changed a status: the agent themself, or a supervisor. */
export type StatusChanger = { role: 'agent'; agentId: string } | { role: 'supervisor' };

export interface AgentStatusService {
  /** null when the agent is unknown to the store. */
  get(agentId: string): Promise<AgentStatusView | null>;
  setStatus(
    agentId: string,
    status: AgentStatus,
    reason: string | undefined,
    by: StatusChanger,
  ): Promise<AgentStatusView>;
  /** Ends the agent's wrap-up now (no-op when not in wrap-up). */
  endWrapUp(agentId: string): Promise<AgentStatusView>;
}

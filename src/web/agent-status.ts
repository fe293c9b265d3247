/**
 * The agent status seam the console and the wallboard use: one definition, shared with the admin
 * API and the call center (src/agents/agent-status-service.ts).
 */
export {
  AGENT_STATUSES,
  type AgentActivity,
  type AgentStatus,
  type AgentStatusService,
  type AgentStatusView,
  type StatusChanger,
} from '../agents/agent-status-service.js';

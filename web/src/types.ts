/** The views the server sends (src/web/live-view.ts), as the pages read them. */

export interface AgentStatusView {
  status: 'available' | 'break' | 'offline';
  reason?: string;
  state: 'idle' | 'offered' | 'on-call' | 'wrap-up';
  stateSince: string;
  statusSince?: string;
  /** The call the agent is offered, on, or wrapping up after, and its queue. */
  callSid?: string;
  queue?: string;
}

export interface CallSummary {
  sid: string;
  direction: 'inbound' | 'outbound';
  number: string;
  callerName?: string;
  status: string;
  phase: string;
  startedAt: string;
  answeredAt?: string;
  agents: Array<{ id: string; name: string; leg: string }>;
  queue: string | null;
  menuChoice: string | null;
}

export interface HistoryEntry {
  sid: string;
  startedAt: string;
  agent?: string;
  outcome: string;
  waitSeconds: number;
  talkSeconds: number;
  voicemailUrl?: string;
}

export interface ConsoleView {
  generatedAt: string;
  agent: { id: string; name: string; online: boolean };
  status: AgentStatusView | null;
  call?: CallSummary & { state: 'offered' | 'on-call' };
  history: HistoryEntry[];
}

export interface DayStats {
  date: string;
  timeZone: string;
  serviceLevelSeconds: number;
  offered: number;
  answered: number;
  abandoned: number;
  missed: number;
  voicemails: number;
  serviceLevel: number | null;
  averageSpeedOfAnswer: number | null;
  averageHandleTime: number | null;
  longestWait: number;
  hourly: number[];
}

export interface QueueView {
  name: string;
  waiting: Array<{ position: number; waitSeconds: number; callbackRequested: boolean }>;
  longestWaitSeconds: number;
}

export interface WallboardView {
  generatedAt: string;
  roster: Array<{
    id: string;
    name: string;
    online: boolean;
    call?: { sid: string; state: 'offered' | 'on-call'; since: string; number: string };
  }>;
  calls: CallSummary[];
  stats: DayStats;
  /** Cumulative service level at the end of each local hour (null where nothing counted yet). */
  serviceLevelByHour: Array<number | null>;
  agentStates: Record<string, AgentStatusView> | null;
  queues: QueueView[] | null;
}

import type { Alert, AlertType } from '../../src/alerts/alert.js';

export const AT = '2023-11-14T22:13:20.000Z';
export const AT_EPOCH = 1_700_000_000;

/** One alert of every type, with ordinary values. */
export const sampleAlerts: { [T in AlertType]: Extract<Alert, { type: T }> } = {
  incoming: {
    type: 'incoming',
    callSid: 'v3:call-1',
    from: '+13125550100',
    callerName: 'JANE DOE',
    agents: ['Alice', 'Bob'],
    queue: 'sales',
    at: AT,
  },
  answered: {
    type: 'answered',
    callSid: 'v3:call-1',
    from: '+13125550100',
    agent: 'Alice',
    waitSeconds: 45,
    at: AT,
  },
  missed: {
    type: 'missed',
    callSid: 'v3:call-2',
    from: '+13125550100',
    waitSeconds: 25,
    reason: 'no-answer',
    at: AT,
  },
  voicemail: {
    type: 'voicemail',
    callSid: 'v3:call-3',
    from: '+13125550100',
    durationSeconds: 3720,
    recordingUrl:
      'https://s3.amazonaws.com/telephony-recorder-prod/rec.mp3?X-Amz-Signature=abc&X-Amz-Expires=600',
    at: AT,
  },
  completed: {
    type: 'completed',
    callSid: 'v3:call-1',
    from: '+13125550100',
    agent: 'Alice',
    talkSeconds: 185,
    waitSeconds: 45,
    at: AT,
  },
  'outbound-ringing': {
    type: 'outbound-ringing',
    callSid: 'v3:out-1',
    agent: 'Bob',
    to: '+442071838750',
    at: AT,
  },
  'outbound-answered': {
    type: 'outbound-answered',
    callSid: 'v3:out-1',
    agent: 'Bob',
    to: '+442071838750',
    at: AT,
  },
  'outbound-completed': {
    type: 'outbound-completed',
    callSid: 'v3:out-1',
    agent: 'Bob',
    to: '+442071838750',
    answered: true,
    talkSeconds: 62,
    at: AT,
  },
  'roster-changed': { type: 'roster-changed', added: ['Carol', 'Dave'], removed: ['Eve'], at: AT },
  'roster-unreachable': { type: 'roster-unreachable', agents: ['Carol'], enabled: ['Dave'], at: AT },
  'agent-auto-paused': { type: 'agent-auto-paused', agent: 'Alice', noAnswers: 3, at: AT },
  'queue-abandoned': {
    type: 'queue-abandoned',
    callSid: 'v3:call-7',
    from: '+13125550100',
    queue: 'support',
    waitSeconds: 95,
    position: 2,
    at: AT,
  },
  'service-level-breached': {
    type: 'service-level-breached',
    callSid: 'v3:call-8',
    queue: 'support',
    waitSeconds: 21,
    at: AT,
  },
  'no-agent-signed-in': { type: 'no-agent-signed-in', queue: 'support', at: AT },
  'callback-failed': {
    type: 'callback-failed',
    callSid: 'v3:call-9',
    from: '+13125550100',
    queue: 'support',
    attempts: 3,
    at: AT,
  },
  'low-balance': {
    type: 'low-balance',
    amount: '12.50',
    currency: 'USD',
    threshold: '80',
    reminder: false,
    at: AT,
  },
  'balance-recovered': {
    type: 'balance-recovered',
    amount: '120.00',
    currency: 'USD',
    threshold: '80',
    at: AT,
  },
  'job-failing': { type: 'job-failing', job: 'roster-sync', error: 'Telnyx API answered 503', at: AT },
  'job-recovered': { type: 'job-recovered', job: 'roster-sync', failures: 3, at: AT },
  backlog: {
    type: 'backlog',
    counts: { incoming: 312, answered: 40, completed: 38 },
    since: '2023-11-14T22:08:20.000Z',
    until: AT,
    at: AT,
  },
  'daily-summary': {
    type: 'daily-summary',
    date: '2026-11-19',
    timeZone: 'Europe/Berlin',
    offered: 42,
    answered: 35,
    missed: 2,
    abandoned: 3,
    shortAbandoned: 1,
    voicemails: 1,
    serviceLevel: 0.842,
    serviceLevelSeconds: 20,
    averageSpeedOfAnswer: 11,
    averageHandleTime: 245,
    longestWait: 61,
    busiestHour: { hour: 10, offered: 9 },
    outboundPlaced: 4,
    agents: [{ agent: 'Alice <ops>', answered: 20, talkSeconds: 4900, outbound: 3 }],
    at: AT,
  },
};

export const allSampleAlerts = (): Alert[] => Object.values(sampleAlerts);

/** The same alert with every free-text field replaced by `value` (numbers and enums kept). */
export function withEveryString(alert: Alert, value: string): Alert {
  const out: Record<string, unknown> = { ...alert };
  for (const [field, current] of Object.entries(alert)) {
    if (field === 'type' || field === 'at' || field === 'reason') continue;
    if (typeof current === 'string') out[field] = value;
    if (Array.isArray(current)) {
      out[field] = current.map((item) =>
        item && typeof item === 'object'
          ? Object.fromEntries(Object.entries(item).map(([k, v]) => [k, typeof v === 'string' ? value : v]))
          : value,
      );
      if (!current.length) out[field] = [value, value];
    }
  }
  return out as unknown as Alert;
}

import { describe, expect, it } from 'vitest';
import { rosterSummary } from '../../src/agents/roster-summary.js';

const agent = (name: string) => ({ name, sip: `sip:${name.toLowerCase()}@sip.telnyx.com` });
const base = { static: [], connectionFilter: undefined, outboundProfileId: undefined, syncCron: '0 * * * *' };

describe('rosterSummary (the start-up line saying where calls go)', () => {
  it('no AGENTS and no Telnyx key: every call goes to voicemail, and says what to set', () => {
    expect(rosterSummary(base, false)).toBe(
      'no agents: every call goes to voicemail; set AGENTS or TELNYX_API_KEY',
    );
  });

  it('static agents: names them', () => {
    expect(rosterSummary({ ...base, static: [agent('Alice'), agent('Bob')] }, false)).toBe(
      '2 agents: Alice, Bob — calls ring them',
    );
    expect(rosterSummary({ ...base, static: [agent('Alice')] }, false)).toBe(
      '1 agent: Alice — calls ring them',
    );
    const many = ['A', 'B', 'C', 'D', 'E', 'F', 'G'].map(agent);
    expect(rosterSummary({ ...base, static: many }, false)).toBe(
      '7 agents: A, B, C, D, E and 2 more — calls ring them',
    );
  });

  it('with a Telnyx key: where the synced agents come from, plus the static ones', () => {
    expect(rosterSummary({ ...base, connectionFilter: 'agent' }, true)).toMatch(
      /^agents: credential connections whose name contains "agent" \(synced at start and on "0 \* \* \* \*"\) — calls ring those registered; with none registered a call goes to voicemail$/,
    );
    expect(rosterSummary({ ...base, outboundProfileId: 'p1', static: [agent('Alice')] }, true)).toContain(
      'outbound voice profile p1 (synced at start and on "0 * * * *"), plus 1 agent from AGENTS: Alice',
    );
    expect(rosterSummary(base, true)).toContain('every credential connection of the Telnyx account');
  });
});

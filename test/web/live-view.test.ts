import { describe, expect, it } from 'vitest';
import { applyEvents } from '../../src/calls/call-state.js';
import type { CallState } from '../../src/calls/call-types.js';
import { queueAndMenu, summarize } from '../../src/web/live-view.js';

/**
 * The call's queue and menu choice as the console shows them (docs/interface.md §8): read from
 * optional fields of the call state that a newer call flow may write, never assumed to be there.
 */

const T = Date.parse('2026-12-01T10:00:00Z');

function ringing(): CallState {
  const t = applyEvents(null, [
    { kind: 'inbound', sid: 'CA1', from: '+13125550100', to: '+18005550199', at: T },
    {
      kind: 'dial-started',
      attempt: 1,
      targets: [{ id: 'a1', name: 'Alice', sip: 'sip:alice@sip.telnyx.com' }],
      sticky: true,
      at: T,
    },
  ]);
  return t!.state;
}

describe('the call summary of the console and wallboard', () => {
  it('has no queue or menu choice when the call state records none', () => {
    const state = ringing();
    expect(state.stickyRounds).toBe(1);
    expect(summarize(state)).toMatchObject({ sid: 'CA1', queue: null, menuChoice: null });
  });

  it.each([
    [
      { queue: 'billing', menuChoice: '2' },
      { queue: 'billing', menuChoice: '2' },
    ],
    [
      { queue: 'sales', menuChoice: 3 },
      { queue: 'sales', menuChoice: '3' },
    ],
    [{ menu: 'Billing' }, { queue: null, menuChoice: 'Billing' }],
    [{ menu: { digit: '2', label: 'Billing' } }, { queue: null, menuChoice: 'Billing' }],
    [{ menu: { digit: 1 } }, { queue: null, menuChoice: '1' }],
    [
      { queue: '', menuChoice: '  ' },
      { queue: null, menuChoice: null },
    ],
    [
      { queue: { name: 'x' }, menu: ['1'] },
      { queue: null, menuChoice: null },
    ],
  ])('reads %j as %j', (extra, expected) => {
    const state = { ...ringing(), ...extra } as CallState;
    expect(queueAndMenu(state)).toEqual(expected);
    expect(summarize(state)).toMatchObject(expected);
  });

  it('caps what it shows at 100 characters', () => {
    const state = { ...ringing(), queue: 'q'.repeat(500) } as CallState;
    expect(queueAndMenu(state).queue).toHaveLength(100);
  });
});

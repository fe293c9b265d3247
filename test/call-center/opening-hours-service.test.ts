import { describe, expect, it } from 'vitest';
import { parseCallCenterFile } from '../../src/call-center/call-center-file.js';
import { staticCallCenterSource } from '../../src/call-center/call-center-source.js';
import {
  type HoursOverrideStore,
  MemoryHoursOverrideStore,
} from '../../src/call-center/hours-override-store.js';
import { OpeningHoursService } from '../../src/call-center/opening-hours-service.js';

/**
 * `OpeningHoursService.check`, the call flow's question (docs/interface.md §9): the schedule at
 * the request's time plus the manual overrides read on this server's clock.
 */

const FILE = `
timeZone: Europe/Berlin
queues:
  sales: { agents: [alice] }
  support: { agents: [bob] }
hours:
  sales:
    weekly: { mon-fri: ["09:00-17:00"] }
defaultQueue: support
`;
const source = staticCallCenterSource(parseCallCenterFile(FILE, 'test.yaml'));
/** Tuesday 15 December 2026, 11:00 in Berlin (10:00 UTC): sales is open. */
const TUESDAY_11 = Date.parse('2026-12-15T10:00:00Z');

describe('OpeningHoursService.check', () => {
  it('judges the schedule at the given time; an override set now still counts for a request stamped later', async () => {
    let clock = TUESDAY_11;
    const overrides = new MemoryHoursOverrideStore();
    const hours = new OpeningHoursService({ source, overrides, now: () => clock });
    expect(await hours.check('sales', TUESDAY_11)).toMatchObject({ open: true, reason: 'open' });
    expect(await hours.check('sales', TUESDAY_11 + 9 * 3_600_000)).toMatchObject({
      open: false,
      reason: 'after-hours',
    });
    await hours.setOverride({ queue: 'support', closed: true, until: clock + 3_600_000, reason: 'Meeting' });
    // A request stamped two days ahead (a simulator's --at) sees the override as over…
    expect(await hours.check('support', clock + 2 * 86_400_000)).toMatchObject({ open: true });
    // …without dropping it from the store: it is still in force on this server's clock.
    expect(await overrides.list(clock)).toHaveLength(1);
    expect(await hours.check('support', clock)).toMatchObject({
      open: false,
      reason: 'manual',
      closure: { reason: 'Meeting' },
    });
    clock += 3_600_000;
    expect(await hours.check('support', clock)).toMatchObject({ open: true });
  });

  it('reuses the overrides for overridesCacheMs; a change through this service is seen at once', async () => {
    let clock = TUESDAY_11;
    const shared = new MemoryHoursOverrideStore();
    const a = new OpeningHoursService({
      source,
      overrides: shared,
      now: () => clock,
      overridesCacheMs: 1_000,
    });
    const b = new OpeningHoursService({
      source,
      overrides: shared,
      now: () => clock,
      overridesCacheMs: 1_000,
    });
    expect(await b.check('support')).toMatchObject({ open: true });
    await a.setOverride({ queue: 'support', closed: true });
    expect(await a.check('support')).toMatchObject({ open: false, reason: 'manual' }); // at once here
    expect(await b.check('support')).toMatchObject({ open: true }); // the other replica: its last read
    clock += 1_000;
    expect(await b.check('support')).toMatchObject({ open: false, reason: 'manual' }); // within a second
    await b.clearOverride('support');
    expect(await b.check('support')).toMatchObject({ open: true });
  });

  it('an override store that does not answer in overridesBudgetMs: the schedule alone decides', async () => {
    const hanging: HoursOverrideStore = {
      set: async () => undefined,
      clear: async () => 0,
      list: () => new Promise(() => undefined),
    };
    const hours = new OpeningHoursService({
      source,
      overrides: hanging,
      now: () => TUESDAY_11,
      overridesBudgetMs: 20,
    });
    expect(await hours.check('sales', TUESDAY_11)).toMatchObject({ open: true, overridesUnknown: true });
    expect(await hours.check('sales', TUESDAY_11 + 9 * 3_600_000)).toMatchObject({
      open: false,
      reason: 'after-hours',
      overridesUnknown: true,
    });
  });
});

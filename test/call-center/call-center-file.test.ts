import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  builtInCallCenter,
  CallCenterFileError,
  DEFAULT_PROMPTS,
  parseCallCenterFile,
} from '../../src/call-center/call-center-file.js';

function problems(text: string) {
  try {
    parseCallCenterFile(text, 'cc.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(CallCenterFileError);
    return (err as CallCenterFileError).problems;
  }
  throw new Error('expected the file to be refused');
}

describe('parseCallCenterFile', () => {
  it('reads the example of docs/interface.md §9 and fills in the defaults of §7', () => {
    const c = parseCallCenterFile(readFileSync('call-center.example.yaml', 'utf8'), 'example');
    expect([...c.queues.keys()]).toEqual(['sales', 'support']);
    expect(c.defaultQueue).toBe('support');
    const support = c.queues.get('support')!;
    expect(support).toMatchObject({
      announceSeconds: 30,
      callbackAfterSeconds: 60,
      callbackAttempts: 3,
      callbackRetrySeconds: 300,
      maxWaitSeconds: 600,
      maxWaiting: 50,
      holdMusic: 'hold-music',
    });
    expect(c.hours.get('support')!.timeZone).toBe('Europe/Berlin');
    expect(c.hours.get('support')!.weekly[0]).toEqual([
      { start: 540, end: 750 },
      { start: 810, end: 1020 },
    ]);
    expect(c.menu!.options.map((o) => [o.digit, o.queue])).toEqual([
      ['1', 'sales'],
      ['2', 'support'],
    ]);
    expect(c.menu).toMatchObject({ timeoutSeconds: 5, retries: 2 });
  });

  it('reads the contract example verbatim', () => {
    const text = `timeZone: Europe/Berlin
queues:
  sales:
    agents: [alice]
    strategy: longest-idle
  support:
    agents: [bob, alice]
    announceSeconds: 30
    maxWaitSeconds: 600
hours:
  support:
    weekly:
      mon-fri: ["09:00-12:30", "13:30-17:00"]
      sat: ["10:00-14:00"]
    holidays: ["2026-12-25", "2026-12-26"]
    closures:
      - { from: "2026-12-31T12:00", to: "2027-01-01T00:00", reason: "New Year's Eve" }
menu:
  prompt: "For sales press 1, for support press 2."
  options: { "1": sales, "2": support }
  timeoutSeconds: 5
  retries: 2
defaultQueue: support
`;
    const c = parseCallCenterFile(text, 'contract');
    expect(c.queues.get('sales')!.strategy).toBe('longest-idle');
    expect(c.hours.get('support')!.closures).toEqual([
      { from: '2026-12-31T12:00', to: '2027-01-01T00:00', reason: "New Year's Eve" },
    ]);
    expect(c.hours.get('support')!.holidays).toEqual([{ date: '2026-12-25' }, { date: '2026-12-26' }]);
    expect(c.menu!.prompt).toEqual({ say: 'For sales press 1, for support press 2.' });
  });

  it('names the line, column and field of a wrong value', () => {
    const p = problems(`queues:
  support:
    agents: [alice]
    maxWaiting: -3
`);
    expect(p).toEqual([
      { line: 4, col: 17, field: 'queues.support.maxWaiting', message: expect.stringMatching(/at least 1/) },
    ]);
  });

  it('points an unknown field at its key', () => {
    const p = problems(`queues:
  support:
    agents: [alice]
    maxWait: 600
`);
    expect(p).toEqual([
      { line: 4, col: 5, field: 'queues.support.maxWait', message: 'unknown field maxWait' },
    ]);
  });

  it('reports every problem at once, in line order', () => {
    const p = problems(`timeZone: Mars/Olympus
queues:
  sales: { agents: [alice] }
  support: { agents: [bob] }
hours:
  support:
    weekly: { mon-fri: ["9-5"], funday: ["10:00-11:00"] }
    holidays: ["2026-02-30"]
menu:
  options: { "1": sales, "3": billing }
defaultQueue: support
`);
    expect(p.map((x) => `${x.line}:${x.field}`)).toEqual([
      '1:timeZone',
      '7:hours.support.weekly.mon-fri.0',
      '7:hours.support.weekly.funday',
      '8:hours.support.holidays.0',
      '10:menu.options.3',
    ]);
    expect(p[0]!.message).toMatch(/IANA time zone/);
    expect(p[4]!.message).toBe('no queue named "billing"');
  });

  it('a YAML syntax error names its line; a duplicate key is refused', () => {
    expect(problems('queues:\n  support: { agents: [alice]\n')[0]!.line).toBeGreaterThanOrEqual(2);
    const dup = problems('queues:\n  a: { agents: [x] }\n  a: { agents: [y] }\ndefaultQueue: a\n');
    expect(dup[0]).toMatchObject({ line: 3, message: expect.stringMatching(/unique/) });
  });

  it('requires defaultQueue with several queues, and it must exist', () => {
    expect(problems('queues:\n  a: { agents: [x] }\n  b: { agents: [y] }\n')[0]).toMatchObject({
      field: 'defaultQueue',
      message: expect.stringMatching(/required/),
    });
    expect(problems('queues:\n  a: { agents: [x] }\ndefaultQueue: b\n')[0]).toMatchObject({
      line: 3,
      field: 'defaultQueue',
    });
    // One queue: it is the default.
    expect(parseCallCenterFile('queues:\n  only: { agents: ["*"] }\n', 'x').defaultQueue).toBe('only');
  });

  it('hours for an unknown queue, overlapping ranges, a closure that ends before it starts', () => {
    const p = problems(`queues:
  a: { agents: [x] }
hours:
  b: { weekly: { mon: ["09:00-17:00"] } }
  a:
    weekly: { mon: ["09:00-12:00", "11:00-13:00"] }
    closures: [{ from: "2026-01-02T10:00", to: "2026-01-02T09:00", reason: "x" }]
`);
    expect(p.map((x) => x.field)).toEqual(['hours.b', 'hours.a.weekly', 'hours.a.closures.0.to']);
    expect(p[1]!.message).toMatch(/overlap/);
    expect(p[2]!.message).toMatch(/after from/);
  });

  it('an empty file, and one without queues, say what is missing', () => {
    expect(problems('')[0]!.message).toMatch(/empty/);
    expect(problems('timeZone: UTC\n')[0]).toMatchObject({ field: 'queues' });
  });

  it('prompts: text or { play, say }; per-queue overrides keep the other defaults; play names are checked', () => {
    const c = parseCallCenterFile(
      `queues:
  sales:
    agents: [alice]
    prompts:
      closed: { play: sales-closed.mp3, say: "Sales is closed." }
      holiday: "Happy holidays, sales is closed."
`,
      'x',
    );
    const prompts = c.queues.get('sales')!.prompts;
    expect(prompts.closed).toEqual({ play: 'sales-closed', say: 'Sales is closed.' });
    expect(prompts.holiday).toEqual({ say: 'Happy holidays, sales is closed.' });
    expect(prompts.closedByHand).toEqual(DEFAULT_PROMPTS.closedByHand);
    const bad = problems(`queues:
  sales:
    agents: [alice]
    prompts:
      closed: { play: ../../etc/passwd, say: x }
`);
    expect(bad[0]).toMatchObject({ line: 5, message: expect.stringMatching(/AUDIO_DIR|https/) });
  });

  it('without a file: one support queue with every agent, always open, no menu', () => {
    const c = builtInCallCenter();
    expect([...c.queues.keys()]).toEqual(['support']);
    expect(c.queues.get('support')!.agents).toEqual(['*']);
    expect(c.hours.size).toBe(0);
    expect(c.menu).toBeUndefined();
  });
});

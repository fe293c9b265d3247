import { describe, expect, it } from 'vitest';
import { parseCallCenterFile } from '../../src/call-center/call-center-file.js';
import { menuChoice, renderMenuTexml } from '../../src/call-center/menu.js';
import { positionAnnouncement, promptVerb } from '../../src/call-center/prompts.js';
import { validateTexml } from '../../src/texml/texml-document.js';

const config = parseCallCenterFile(
  `queues:
  sales: { agents: [alice], prompts: { menuOption: { play: press-1-sales, say: "Sales: press 1." } } }
  support: { agents: [bob] }
  billing: { agents: [carol] }
menu:
  options: { "1": sales, "2": support, "3": { queue: billing, prompt: "For bills & invoices, press 3." } }
  timeoutSeconds: 7
  retries: 2
defaultQueue: support
`,
  'menu.yaml',
);
const menu = config.menu!;

describe('menuChoice', () => {
  it('a valid key joins its queue', () => {
    expect(menuChoice(menu, '1', 1, 'support')).toEqual({ queue: 'sales' });
    expect(menuChoice(menu, '3', 3, 'support')).toEqual({ queue: 'billing' });
    // Only the first key counts (numDigits="1"; a caller who pressed on is not punished).
    expect(menuChoice(menu, '2#', 1, 'support')).toEqual({ queue: 'support' });
  });

  it('no key repeats the menu, then after the retries the default queue (reason timeout)', () => {
    expect(menuChoice(menu, undefined, 1, 'support')).toEqual({ repeat: 2, reason: 'timeout' });
    expect(menuChoice(menu, '', 2, 'support')).toEqual({ repeat: 3, reason: 'timeout' });
    expect(menuChoice(menu, '', 3, 'support')).toEqual({ queue: 'support', reason: 'timeout' });
  });

  it('a wrong key repeats, then the default queue (reason invalid)', () => {
    expect(menuChoice(menu, '9', 1, 'support')).toEqual({ repeat: 2, reason: 'invalid' });
    expect(menuChoice(menu, '*', 3, 'support')).toEqual({ queue: 'support', reason: 'invalid' });
  });

  it('retries: 0 sends a caller who presses nothing straight to the default queue', () => {
    expect(menuChoice({ ...menu, retries: 0 }, undefined, 1, 'sales')).toEqual({
      queue: 'sales',
      reason: 'timeout',
    });
  });
});

describe('renderMenuTexml', () => {
  const base = 'https://sb.example.com';
  const action = `${base}/texml/menu`;

  it('one Gather of one DTMF key with each option prompt, then a Redirect for no input', () => {
    const xml = renderMenuTexml(config, { base, action });
    expect(validateTexml(xml)).toBeNull();
    expect(xml).toContain(`<Gather input="dtmf" numDigits="1" timeout="7" action="${action}">`);
    // The queue's own MP3, a default sentence, and the option's text (escaped).
    expect(xml).toContain(`<Play continueOnError="true">${base}/audio/press-1-sales.mp3</Play>`);
    expect(xml).toContain('<Say>For support, press 2.</Say>');
    expect(xml).toContain('<Say>For bills &amp; invoices, press 3.</Say>');
    expect(xml.indexOf('</Gather>')).toBeLessThan(
      xml.indexOf(`<Redirect method="POST">${action}</Redirect>`),
    );
  });

  it('a missing MP3 falls back to <Say>; after a wrong key the invalid prompt comes first', () => {
    const xml = renderMenuTexml(config, { base, action, hasAudio: () => false, afterInvalid: true });
    expect(xml).toContain('<Say>Sales: press 1.</Say>');
    expect(xml.indexOf('<Say>Sorry, that is not one of the choices.</Say>')).toBeLessThan(
      xml.indexOf('<Gather'),
    );
    expect(validateTexml(xml)).toBeNull();
  });

  it('with an intro prompt, options without a prompt of their own are not read twice', () => {
    const c = parseCallCenterFile(
      'queues:\n  a: { agents: [x] }\n  b: { agents: [y] }\nmenu:\n  prompt: "For a press 1, for b press 2."\n  options: { "1": a, "2": b }\ndefaultQueue: a\n',
      'x',
    );
    const xml = renderMenuTexml(c, { base, action });
    expect(xml.match(/<Say>/g)).toHaveLength(1);
  });
});

describe('prompts', () => {
  it('position and wait: MP3 names within range, <Say> text for each', () => {
    expect(positionAnnouncement(1, 20)).toEqual([
      { play: 'queue-position-1', say: 'You are next in line.' },
      { play: 'queue-wait-0', say: 'Your wait is less than a minute.' },
    ]);
    expect(positionAnnouncement(3, 130)).toEqual([
      { play: 'queue-position-3', say: 'You are number 3 in line.' },
      { play: 'queue-wait-2', say: 'Your wait is about 2 minutes.' },
    ]);
    expect(positionAnnouncement(25, 3600).map((p) => p.play)).toEqual([
      'queue-position-many',
      'queue-wait-long',
    ]);
    expect(positionAnnouncement(2)).toHaveLength(1);
  });

  it('an https prompt is played as is; text is escaped', () => {
    expect(
      promptVerb({ play: 'https://cdn.example.com/a.mp3?x=1&y=2', say: 'x' }, { base: 'https://b' }),
    ).toBe('<Play continueOnError="true">https://cdn.example.com/a.mp3?x=1&amp;y=2</Play>');
    expect(promptVerb({ say: '<Hangup/>' }, { base: 'https://b' })).toBe('<Say>&lt;Hangup/&gt;</Say>');
  });
});

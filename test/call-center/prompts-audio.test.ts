import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MENU_INVALID,
  DEFAULT_PROMPTS,
  type Prompt,
} from '../../src/call-center/call-center-file.js';
import { announcementPromptNames, positionAnnouncement } from '../../src/call-center/prompts.js';

const script = readFileSync('scripts/generate-prompts.sh', 'utf8');

describe('built-in prompts of the call-center file', () => {
  const fixed: Prompt[] = [...Object.values(DEFAULT_PROMPTS), DEFAULT_MENU_INVALID];

  it('every MP3 a default prompt or announcement names is in audio/', () => {
    const names = [...fixed.map((p) => p.play!), ...announcementPromptNames()];
    expect(names.filter((n) => !existsSync(`audio/${n}.mp3`))).toEqual([]);
  });

  it('each MP3 says what its <Say> fallback says (the script holds the same text)', () => {
    for (const p of fixed) expect(script).toContain(`[${p.play}]="${p.say}"`);
    expect(script).toContain('You are number $n in line.');
    expect(positionAnnouncement(4)[0]!.say).toBe('You are number 4 in line.');
    expect(script).toContain('Your wait is about $m minutes.');
    expect(positionAnnouncement(1, 7 * 60)[1]!.say).toBe('Your wait is about 7 minutes.');
    for (const p of [
      ...positionAnnouncement(1, 0),
      ...positionAnnouncement(50, 60),
      ...positionAnnouncement(2, 3600),
    ]) {
      if (
        !/-\d+$/.test(p.play!) ||
        p.play === 'queue-position-1' ||
        p.play === 'queue-wait-1' ||
        p.play === 'queue-wait-0'
      )
        expect(script).toContain(`[${p.play}]="${p.say}"`);
    }
  });
});

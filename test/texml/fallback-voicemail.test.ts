import { describe, expect, it } from 'vitest';
import { FALLBACK_VOICEMAIL_TEXML, fallbackVoicemailTexml } from '../../src/texml/flows.js';
import { validateTexml } from '../../src/texml/texml-document.js';
import { count, parseXml } from './xml-tree.js';

describe('fallback voicemail', () => {
  it('the constant is TeXML Telnyx runs: apology, record, hang up', () => {
    expect(validateTexml(FALLBACK_VOICEMAIL_TEXML)).toBeNull();
    const root = parseXml(FALLBACK_VOICEMAIL_TEXML);
    expect(root.children.map((c) => c.name)).toEqual(['Say', 'Record', 'Say', 'Hangup']);
    expect(FALLBACK_VOICEMAIL_TEXML).not.toContain('http');
  });

  it('with a base URL, the recording reports to /texml/voicemail and /texml/recording', () => {
    const xml = fallbackVoicemailTexml('https://sb.example.com/');
    expect(validateTexml(xml)).toBeNull();
    const record = parseXml(xml).children.find((c) => c.name === 'Record')!;
    expect(record.attrs).toMatchObject({
      action: 'https://sb.example.com/texml/voicemail',
      recordingStatusCallback: 'https://sb.example.com/texml/recording',
      channels: 'single',
    });
  });

  it('escapes the base URL', () => {
    const xml = fallbackVoicemailTexml('https://x"/><Dial><Number>+19005551234</Number></Dial><Record a="');
    expect(validateTexml(xml)).toBeNull();
    expect(count(parseXml(xml), 'Dial')).toBe(0);
  });
});

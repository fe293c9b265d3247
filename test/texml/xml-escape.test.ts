import { describe, expect, it } from 'vitest';
import { escapeXml } from '../../src/texml/xml-escape.js';

describe('escapeXml', () => {
  it('escapes the five XML specials', () => {
    expect(escapeXml(`a&b<c>d"e'f`)).toBe('a&amp;b&lt;c&gt;d&quot;e&apos;f');
  });

  it('does not touch slashes, colons or non-ASCII (URLs and names stay readable)', () => {
    expect(escapeXml('https://sb.example.com/texml/status')).toBe('https://sb.example.com/texml/status');
    expect(escapeXml('Zoë 😀')).toBe('Zoë 😀');
  });

  it('keeps line breaks and tabs as character references', () => {
    expect(escapeXml('a\nb\r\tc')).toBe('a&#10;b&#13;&#9;c');
  });

  it('drops characters XML 1.0 cannot carry', () => {
    expect(escapeXml('a\u0000b\u0008c\uFFFEd\uD800e')).toBe('abcde');
  });

  it('turns numbers into text and null/undefined into nothing', () => {
    expect(escapeXml(20)).toBe('20');
    expect(escapeXml(null)).toBe('');
    expect(escapeXml(undefined)).toBe('');
  });
});

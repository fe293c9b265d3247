import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_TEXML_DIR, loadFlows, TemplateError } from '../../src/texml/flows.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sb-texml-'));
  cpSync(DEFAULT_TEXML_DIR, dir, { recursive: true });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const write = (file: string, lines: string[]) => writeFileSync(join(dir, file), `${lines.join('\n')}\n`);

/** Loads the folder and returns the TemplateError it must throw. */
function loadError(): TemplateError {
  try {
    loadFlows(dir);
  } catch (err) {
    expect(err).toBeInstanceOf(TemplateError);
    return err as TemplateError;
  }
  throw new Error('loadFlows accepted a broken template');
}

const INBOUND_HEAD = ['<?xml version="1.0" encoding="UTF-8"?>', '<Response>'];

describe('the shipped templates', () => {
  it('all load and validate', () => {
    expect(() => loadFlows(DEFAULT_TEXML_DIR)).not.toThrow();
  });

  it('name the file relative to the working directory when it is inside it', () => {
    write('answered.xml', ['<Hangup/>']);
    const cwd = process.cwd();
    process.chdir(dirname(dir));
    try {
      expect(loadError().message).toMatch(new RegExp(`^${escapeRe(basename(dir))}/answered\\.xml:1: `));
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('a broken template stops loading with file:line', () => {
  it('malformed XML in a section only one kind of call renders', () => {
    write('inbound.xml', [
      ...INBOUND_HEAD, // 1-2
      '{{#round}}', // 3
      '  <Play continueOnError="true">{{base}}/audio/greeting.mp3</Play>', // 4
      '{{> dial}}', // 5
      '{{/round}}', // 6
      '{{^round}}', // 7
      '  <Play continueOnError="true">{{base}}/audio/no-agents.mp3</Plya>', // 8
      '{{> voicemail-record}}', // 9
      '{{/round}}', // 10
      '</Response>', // 11
    ]);
    const err = loadError();
    expect(err.message).toMatch(new RegExp(`^${escapeRe(join(dir, 'inbound.xml'))}:8: `));
    expect(err.line).toBe(8);
    expect(err.message).toContain("closing tag 'Plya'");
    expect(err.message).toContain('opened on line 8');
    expect(err.message).toContain('no agent online');
  });

  it('malformed XML in a partial names the partial', () => {
    write('partials/dial.xml', [
      '{{! a comment line }}', // 1
      '  <Dial action="{{base}}/texml/dial-result?attempt={{attempt}}">', // 2
      '{{#targets}}', // 3
      '    <Sip statusCallback="{{base}}/texml/status>{{sip}}</Sip>', // 4: unterminated attribute
      '{{/targets}}', // 5
      '  </Dial>', // 6
    ]);
    const err = loadError();
    expect(err.file).toBe(join(dir, 'partials', 'dial.xml'));
    expect(err.line).toBeGreaterThanOrEqual(4);
    expect(err.line).toBeLessThanOrEqual(6);
    expect(err.message).toMatch(/^\S+partials\/dial\.xml:\d+: /);
  });

  it('a verb Telnyx does not support', () => {
    write('thanks.xml', [
      ...INBOUND_HEAD,
      '  <Play continueOnError="true">{{base}}/audio/thanks.mp3</Play>', // 3
      '  <Pay chargeAmount="10"/>', // 4
      '  <Hangup/>',
      '</Response>',
    ]);
    expect(loadError().message).toBe(
      `${join(dir, 'thanks.xml')}:4: <Pay> is not supported by Telnyx TeXML (rendered for a recorded message)`,
    );
  });

  it('an unknown element and a mis-cased verb', () => {
    write('answered.xml', [...INBOUND_HEAD, '', '  <Hangupp/>', '</Response>']);
    expect(loadError().message).toBe(
      `${join(dir, 'answered.xml')}:4: unknown TeXML element <Hangupp> (rendered for an answered call)`,
    );
    write('answered.xml', [...INBOUND_HEAD, '  <hangup/>', '</Response>']);
    expect(loadError().message).toContain(':3: unknown TeXML element <hangup>: did you mean <Hangup>?');
  });

  it('an unknown placeholder', () => {
    write('inbound.xml', [
      ...INBOUND_HEAD,
      '{{#round}}', // 3
      '  <Play continueOnError="true">{{base}}/audio/greeting.mp3</Play>', // 4
      '  <Dial timeout="{{timeout}}">', // 5
      '{{#targets}}', // 6
      '    <Sip>{{agentz}}</Sip>', // 7
      '{{/targets}}',
      '  </Dial>',
      '{{/round}}',
      '</Response>',
    ]);
    const err = loadError();
    expect(err.message).toMatch(
      new RegExp(`^${escapeRe(join(dir, 'inbound.xml'))}:7: unknown placeholder "agentz"`),
    );
    expect(err.message).toContain('known here: attempt, base, callerId, name, round, sip, targets, timeout');
  });

  it('a name used outside the section that provides it', () => {
    write('next-round.xml', [...INBOUND_HEAD, '  <Dial timeout="{{timeout}}"/>', '</Response>']);
    expect(loadError().message).toBe(
      `${join(dir, 'next-round.xml')}:3: unknown placeholder "timeout" (known here: base, round)`,
    );
  });

  it('a section used as a value', () => {
    write('inbound.xml', [...INBOUND_HEAD, '  <Play>{{round}}</Play>', '</Response>']);
    expect(loadError().message).toContain('inbound.xml:3: "round" is a section: use {{#round}}…{{/round}}');
  });

  it('an unknown partial', () => {
    write('next-round.xml', [...INBOUND_HEAD, '{{#round}}', '{{> dail}}', '{{/round}}', '</Response>']);
    expect(loadError().message).toContain(
      'next-round.xml:4: unknown partial "dail" (partials: dial, voicemail-record)',
    );
  });

  it('triple mustache and {{& }}, which would bypass escaping', () => {
    write('outbound.xml', [
      ...INBOUND_HEAD,
      '  <Dial callerId="{{callerId}}">',
      '    <Number>{{{to}}}</Number>',
      '  </Dial>',
      '</Response>',
    ]);
    const triple = loadError();
    expect(triple.message).toMatch(/outbound\.xml:4: "to" is written unescaped/);

    write('outbound.xml', [
      ...INBOUND_HEAD,
      '  <Dial callerId="{{& callerId}}">',
      '  </Dial>',
      '</Response>',
    ]);
    expect(loadError().message).toMatch(/outbound\.xml:3: "callerId" is written unescaped/);
  });

  it('changed delimiters', () => {
    write('answered.xml', [...INBOUND_HEAD, '{{=<% %>=}}', '  <Hangup/>', '</Response>']);
    expect(loadError().message).toContain('answered.xml:3: changing the Mustache delimiters');
  });

  it('a Mustache syntax error', () => {
    write('voicemail.xml', [...INBOUND_HEAD, '{{#noAnswer}}', '  <Hangup/>', '{{/noAgents}}', '</Response>']);
    expect(loadError().message).toMatch(/voicemail\.xml:5: Mustache: Unclosed section "noAnswer"/);
  });

  it('a second root element and text outside <Response>', () => {
    write('answered.xml', [...INBOUND_HEAD, '  <Hangup/>', '</Response>', '<Response/>']);
    expect(loadError().message).toContain('answered.xml:5: a second root element <Response>');
    write('answered.xml', [...INBOUND_HEAD, '  <Hangup/>', '</Response>', 'oops']);
    expect(loadError().message).toMatch(/answered\.xml:5: .*text/i);
  });

  it('a wrong root element', () => {
    write('answered.xml', ['<Hangup/>']);
    expect(loadError().message).toContain(
      'answered.xml:1: the root element must be <Response>, not <Hangup>',
    );
  });

  it('a bare ampersand in a URL', () => {
    write('answered.xml', [...INBOUND_HEAD, '  <Redirect>{{base}}/x?a=1&b=2</Redirect>', '</Response>']);
    expect(loadError().message).toMatch(/answered\.xml:3: .*&/);
  });

  it('a missing template file', () => {
    unlinkSync(join(dir, 'thanks.xml'));
    expect(loadError().message).toBe(
      `${join(dir, 'thanks.xml')}: template file is missing (every call flow needs it)`,
    );
  });

  it('still accepts dotted names, comments and edits that keep the XML valid', () => {
    write('next-round.xml', [
      '{{! a leading comment line is fine }}',
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<Response>',
      '  <Pause length="1"/>',
      '  <Dial action="{{base}}/texml/dial-result?attempt={{round.attempt}}&amp;x=1" timeout="{{round.timeout}}">',
      '{{#round.targets}}',
      '    <Sip>{{sip}}</Sip>',
      '{{/round.targets}}',
      '  </Dial>',
      '</Response>',
    ]);
    const xml = loadFlows(dir).nextRound({
      base: 'https://sb.example.com',
      round: { attempt: 2, targets: [{ name: 'a', sip: 'sip:a@x.y' }], timeoutSeconds: 20 },
    });
    expect(xml.startsWith('<?xml')).toBe(true);
    expect(xml).toContain('attempt=2&amp;x=1');
    expect(readFileSync(join(dir, 'next-round.xml'), 'utf8')).toContain('round.targets');
  });
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

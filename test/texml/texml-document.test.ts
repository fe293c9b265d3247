import { describe, expect, it } from 'vitest';
import { elementProblem, TEXML_ELEMENTS, validateTexml } from '../../src/texml/texml-document.js';

const doc = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n${body}\n</Response>\n`;

describe('validateTexml', () => {
  it('accepts a call-center reply', () => {
    expect(
      validateTexml(
        doc(
          '  <!-- prompts -->\n  <Play continueOnError="true">https://x.example/a.mp3?a=1&amp;b=2</Play>\n' +
            '  <Dial action="https://x.example/r" timeout="20"><Sip>sip:a@b.c</Sip><Number>+1555</Number></Dial>\n' +
            '  <Gather><Say>Hi &apos;you&apos; &#x1F600;</Say></Gather>\n  <Record/>\n  <Hangup/>',
        ),
      ),
    ).toBeNull();
  });

  it('reports malformed XML with its line', () => {
    expect(validateTexml(doc('  <Play>\n  <Hangup/>'))).toMatchObject({ line: 5 });
    expect(validateTexml('<Response><Say a=1/></Response>')).toMatchObject({ line: 1 });
  });

  it('wants exactly one <Response> root and nothing else at top level', () => {
    expect(validateTexml('<Response/><Response/>')?.reason).toContain('second root');
    expect(validateTexml('<Say>hi</Say>')?.reason).toBe('the root element must be <Response>, not <Say>');
    expect(validateTexml('<?xml version="1.0"?>\n<!-- only a comment -->')?.reason).toBeTruthy();
    expect(validateTexml('<Response><Response/></Response>')?.reason).toBe(
      '<Response> can only be the root element',
    );
    expect(validateTexml('<!DOCTYPE Response>\n<Response/>')).toMatchObject({
      line: 1,
      reason: 'a DOCTYPE is not allowed in TeXML',
    });
  });

  it('refuses entities XML does not define, in text and attributes', () => {
    expect(validateTexml(doc('  <Say>a &nbsp; b</Say>'))).toMatchObject({
      line: 3,
      reason: expect.stringContaining('entity'),
    });
    expect(validateTexml(doc('  <Play loop="&x;"/>'))).toMatchObject({
      line: 3,
      reason: expect.stringContaining('entity'),
    });
  });

  it('refuses characters XML 1.0 cannot carry', () => {
    expect(validateTexml(doc('  <Say>a\u0001b</Say>'))).toMatchObject({
      line: 3,
      reason: expect.stringContaining('U+0001'),
    });
  });

  it('refuses verbs and nouns Telnyx does not run, naming the line', () => {
    for (const name of ['Pay', 'Client', 'Room', 'VirtualAgent']) {
      expect(validateTexml(doc(`  <Dial>\n    <${name}>x</${name}>\n  </Dial>`))).toEqual({
        line: 4,
        col: 5,
        reason: `<${name}> is not supported by Telnyx TeXML`,
      });
    }
    expect(validateTexml(doc('  <Foo/>'))?.reason).toBe('unknown TeXML element <Foo>');
    expect(validateTexml(doc('  <play/>'))?.reason).toContain('did you mean <Play>?');
  });

  it('knows the verbs and nouns of the Telnyx support matrix', () => {
    for (const name of [
      'Say',
      'Play',
      'Pause',
      'Gather',
      'Dial',
      'Number',
      'Sip',
      'Queue',
      'Conference',
      'Record',
    ]) {
      expect(elementProblem(name)).toBeNull();
    }
    for (const name of [
      'Redirect',
      'Hangup',
      'Reject',
      'Enqueue',
      'Leave',
      'Start',
      'Stop',
      'Stream',
      'Transcription',
    ]) {
      expect(elementProblem(name)).toBeNull();
    }
    expect(TEXML_ELEMENTS.has('Pay')).toBe(false);
  });

  it('does not mistake markup inside comments and CDATA for elements', () => {
    expect(validateTexml(doc('  <!-- <Pay/> -->\n  <Say><![CDATA[<Pay/> & more]]></Say>'))).toBeNull();
  });
});

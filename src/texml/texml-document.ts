import { XMLValidator } from 'fast-xml-parser';

/**
 * What makes a string a TeXML document Telnyx will run: well-formed XML, one root `<Response>`,
 * and only the verbs and nouns Telnyx supports.
 *
 * Support matrix: https://developers.telnyx.com/docs/voice/programmable-voice/texml-twiml-compatibility
 * (docs/telnyx.md §3). Twilio's `<Pay>`, `<Client>`, `<Room>` and `<VirtualAgent>` are not
 * supported; an unknown verb would fail the call at Telnyx, so it is refused here, at start-up.
 */
export const TEXML_ELEMENTS: ReadonlySet<string> = new Set([
  'Response',
  // verbs
  'AIGather',
  'Connect',
  'Dial',
  'Enqueue',
  'Gather',
  'Hangup',
  'HttpRequest',
  'Leave',
  'Pause',
  'Play',
  'Record',
  'Redirect',
  'Refer',
  'Reject',
  'Say',
  'Siprec',
  'Start',
  'Stop',
  'Stream',
  'Suppression',
  'Transcription',
  // nouns
  'Conference',
  'Number',
  'Queue',
  'Sip',
]);

/** TwiML elements Telnyx explicitly does not support (named in the error to save a search). */
const UNSUPPORTED = new Set(['Pay', 'Client', 'Room', 'VirtualAgent']);

export interface TexmlProblem {
  /** 1-based line and column in the document. */
  line: number;
  col: number;
  reason: string;
}

const SCAN =
  /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>|<!DOCTYPE|<\/([^\s>]+)\s*>|<([^\s/>!?]+)((?:[^>"']|"[^"]*"|'[^']*')*)>/g;
// `&` not starting one of XML's predefined or numeric references (no DTD, so no other entity exists).
const BAD_AMPERSAND = /&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)/;
const NOT_XML_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function position(xml: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = xml.indexOf('\n'); i !== -1 && i < offset; i = xml.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, col: offset - lineStart + 1 };
}

function problemAt(xml: string, offset: number, reason: string): TexmlProblem {
  return { ...position(xml, offset), reason };
}

/**
 * Checks a TeXML document. Returns the first problem (with its line) or null when Telnyx can run it.
 * fast-xml-parser's validator checks the syntax; the rest (single `<Response>` root, no stray text,
 * no undefined entities, supported elements) is checked here because that validator accepts
 * several roots and any `&name;`.
 */
export function validateTexml(xml: string): TexmlProblem | null {
  const syntax = XMLValidator.validate(xml, { allowBooleanAttributes: false });
  if (syntax !== true) return { line: syntax.err.line, col: syntax.err.col, reason: syntax.err.msg };

  const badChar = NOT_XML_CHAR.exec(xml);
  if (badChar) {
    const code = badChar[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return problemAt(xml, badChar.index, `character U+${code} is not allowed in XML`);
  }

  let depth = 0;
  let rootSeen = false;
  let last = 0;
  const checkText = (from: number, to: number): TexmlProblem | null => {
    const text = xml.slice(from, to);
    if (depth === 0 && text.trim() !== '') {
      return problemAt(xml, from + text.search(/\S/), 'text outside the <Response> element');
    }
    const amp = BAD_AMPERSAND.exec(text);
    return amp ? problemAt(xml, from + amp.index, 'undefined entity: write a literal & as &amp;') : null;
  };

  SCAN.lastIndex = 0;
  for (let m = SCAN.exec(xml); m !== null; m = SCAN.exec(xml)) {
    const textProblem = checkText(last, m.index);
    if (textProblem) return textProblem;
    last = SCAN.lastIndex;
    const [token, closing, opening, attributes] = m;

    if (token === '<!DOCTYPE') return problemAt(xml, m.index, 'a DOCTYPE is not allowed in TeXML');
    if (token.startsWith('<![CDATA[') && depth === 0) {
      return problemAt(xml, m.index, 'text outside the <Response> element');
    }
    if (closing !== undefined) {
      depth--;
      continue;
    }
    if (opening === undefined) continue; // comment, CDATA or processing instruction

    const amp = BAD_AMPERSAND.exec(attributes ?? '');
    if (amp) {
      return problemAt(
        xml,
        m.index + 1 + opening.length + amp.index,
        'undefined entity: write a literal & as &amp;',
      );
    }
    if (depth === 0) {
      if (rootSeen)
        return problemAt(
          xml,
          m.index,
          `a second root element <${opening}>: a TeXML document has one <Response>`,
        );
      if (opening !== 'Response')
        return problemAt(xml, m.index, `the root element must be <Response>, not <${opening}>`);
      rootSeen = true;
    } else {
      const problem = elementProblem(opening);
      if (problem) return problemAt(xml, m.index, problem);
    }
    if (!(attributes ?? '').trimEnd().endsWith('/')) depth++;
  }
  const tail = checkText(last, xml.length);
  if (tail) return tail;
  if (!rootSeen) return { line: 1, col: 1, reason: 'no <Response> element' };
  return null;
}

/** Why an element name (below the root) is not TeXML Telnyx runs, or null when it is fine. */
export function elementProblem(name: string): string | null {
  if (name === 'Response') return '<Response> can only be the root element';
  if (TEXML_ELEMENTS.has(name)) return null;
  if (UNSUPPORTED.has(name)) return `<${name}> is not supported by Telnyx TeXML`;
  const other = [...TEXML_ELEMENTS].find((known) => known.toLowerCase() === name.toLowerCase());
  return other
    ? `unknown TeXML element <${name}>: did you mean <${other}>? (names are case-sensitive)`
    : `unknown TeXML element <${name}>`;
}

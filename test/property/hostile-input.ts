import fc from 'fast-check';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { Redis } from 'ioredis';

/**
 * fast-check arbitraries for what an attacker, a broken proxy or a confused client can send to
 * Switchboard's HTTP edge, and the checks every reply must pass whatever was sent
 * (docs/interface.md §3 "Bad input", "Escaping"). Shared by the /texml/* and /api/* properties.
 */

/** Strings that have broken real parsers, templates and chat formatting. */
export const NASTY_STRINGS = [
  '',
  ' ',
  '\t\r\n',
  '\u0000',
  '\u0000v3:nul',
  '\u202eevil\u202c',
  '\ud800',
  '\udfff\ud800',
  '\uffff\ufffe',
  '😀👨‍👩‍👧',
  'é'.normalize('NFD'),
  '%',
  '%%',
  '%zz',
  '%E0%A4%A',
  '%00',
  '%C0%AF',
  '+',
  '&&&',
  '==',
  '=&=&',
  '<Dial><Number>+19005551234</Number></Dial>',
  '"><Redirect>https://evil.example/x</Redirect><x a="',
  "'/><Hangup/><x y='",
  ']]><Hangup/><![CDATA[',
  '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
  '&amp;&lt;&#0;&#xD800;',
  '{{base}}',
  '{{{base}}}',
  '{{& base}}',
  '{{#round}}<Number>1</Number>{{/round}}',
  '{{> dial}}',
  '{{=<% %>=}}',
  '<!channel>',
  '<!here|here>',
  '<@U012AB3CD>',
  '<https://evil.example|click me>',
  '*bold* _it_ ~s~ `code` > quote',
  '\r\n\r\nHTTP/1.1 200 OK\r\n',
  "'; DROP TABLE calls; --",
  '../../../etc/passwd',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '{"__proto__":{"polluted":true}}',
  'NaN',
  'Infinity',
  '-1',
  '1e309',
  '99999999999999999999999',
  '0x10',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  'sip:alice@sip.telnyx.com',
  'SIP:ALICE@SIP.TELNYX.COM',
  'sip:mallory@evil.example;transport=tls',
  '+19005551234',
  'anonymous',
  '2026-13-45T25:61:61Z',
  '1970-01-01T00:00:00Z',
  '9999-12-31T23:59:59Z',
  'Thu, 15 Jun 2023 09:56:45 +0000',
] as const;

/** Text of every kind: plain, any code point, graphemes, the nasty list, URL-encoding debris. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.constantFrom('%', '%2', '%25', '&', '=', '+', ';', '\u0000', 'a', 'é', '%FF', '%u00e9'), {
        maxLength: 12,
      })
      .map((parts) => parts.join('')),
  },
  { weight: 1, arbitrary: fc.nat({ max: 4_000 }).map((n) => 'x'.repeat(n)) },
);

/** Telnyx's PascalCase parameters, and a few names that only a stranger would send. */
export const PARAM_NAMES = [
  'CallSid',
  'ParentCallSid',
  'From',
  'To',
  'CallerId',
  'CallStatus',
  'Direction',
  'SequenceNumber',
  'Timestamp',
  'AnsweredTime',
  'CallInitiatedAt',
  'CallDuration',
  'DialCallStatus',
  'DialCallSid',
  'DialCallDuration',
  'RecordingUrl',
  'RecordingSid',
  'RecordingDuration',
  'RecordingStatus',
  'HangupSource',
  'AccountSid',
  'Digits',
  '__proto__',
  'constructor',
  'callsid',
  'CallSid[]',
  'CallSid ',
] as const;

/** Values Telnyx really sends for the enumerated parameters, so the flows get past their first check. */
const REALISTIC: Record<string, readonly string[]> = {
  CallStatus: [
    'queued',
    'initiated',
    'ringing',
    'in-progress',
    'answered',
    'completed',
    'busy',
    'no-answer',
    'canceled',
    'cancelled',
    'failed',
    'dtmf',
    'IN-PROGRESS',
  ],
  DialCallStatus: ['completed', 'answered', 'no-answer', 'busy', 'failed', 'canceled', ''],
  RecordingStatus: ['completed', 'absent', 'failed', 'in-progress'],
  SequenceNumber: ['0', '1', '2', '7', '-1', '1.5', '999999999999'],
  Timestamp: ['2026-05-04T10:00:00Z', '2026-05-04 10:00:00.123456Z', 'Thu, 15 Jun 2023 09:56:45 +0000'],
  RecordingUrl: [
    'https://api.telnyx.com/v2/recordings/abc.mp3',
    'javascript:alert(1)',
    'https://evil.example/<x>|y',
  ],
  From: ['+13125550100', 'anonymous', 'sip:caller@example.com'],
  To: ['+18005550199', 'sip:alice@sip.telnyx.com', 'sip:bob@sip.telnyx.com'],
};

let issued = 0;
/**
 * CallSids no earlier request used (so "was it stored?" has a clear answer), in Telnyx's shape or
 * at the edges of what the route accepts; plus sids the route must refuse.
 */
export const callSid: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constant(null).map(() => `v3:prop${process.pid}x${Date.now().toString(36)}n${++issued}`),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(' ', '\t', '\n', '')
      .map((pad) => `${pad}v3:pad${process.pid}n${++issued}${pad}`),
  },
  { weight: 1, arbitrary: fc.nat({ max: 40 }).map((n) => `v3:${'a'.repeat(100 + n)}n${++issued}`) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      '   ',
      '<x>',
      'v3:{tag}',
      'v3:a}b{c',
      'v3:évil',
      'v3:a b',
      'v3:%00',
      'v3:a/b',
      'v3:a\u0000b',
      '*',
      'v3:😀',
      'v'.repeat(129),
      'v'.repeat(5_000),
    ),
  },
);

/** One name=value pair of a form body. */
const pair: fc.Arbitrary<[string, string]> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...PARAM_NAMES), anyText) },
  {
    weight: 4,
    arbitrary: fc
      .constantFrom(...Object.keys(REALISTIC))
      .chain((k) => fc.tuple(fc.constant(k), fc.constantFrom(...(REALISTIC[k] as string[])))),
  },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('CallSid', 'ParentCallSid', 'DialCallSid'), callSid) },
  { weight: 1, arbitrary: fc.tuple(anyText, anyText) },
);

/** How the pairs become a body: properly encoded, raw (unencoded), or with debris around them. */
export type Encoding = 'form' | 'raw' | 'debris';

export interface FormInput {
  pairs: Array<[string, string]>;
  encoding: Encoding;
  /** Extra bytes appended after the pairs (debris encoding only). */
  debris: string;
  /** Padding that pushes the body towards and past the 64 KB limit (0 = none). */
  padding: number;
}

export const formInput: fc.Arbitrary<FormInput> = fc.record({
  pairs: fc
    .tuple(fc.option(callSid, { nil: undefined, freq: 5 }), fc.array(pair, { maxLength: 10 }))
    .map(([sid, rest]) =>
      sid === undefined ? rest : ([['CallSid', sid], ...rest] as Array<[string, string]>),
    ),
  encoding: fc.constantFrom<Encoding>('form', 'form', 'raw', 'debris'),
  debris: fc.constantFrom('', '&', '&&', '=', '%', '&%%%=', '&=&=', '&CallSid', '&CallSid=', '%ZZ=%ZZ'),
  padding: fc.oneof(
    { weight: 9, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: 30_000, max: 110_000 }) },
  ),
});

/** The body (or query string) a `FormInput` stands for. */
export function encodeForm(f: FormInput): string {
  const body =
    f.encoding === 'form'
      ? new URLSearchParams(f.pairs).toString()
      : f.pairs.map(([k, v]) => `${k}=${v}`).join('&');
  const tail = f.encoding === 'debris' ? f.debris : '';
  const pad = f.padding ? `&Pad=${'p'.repeat(f.padding)}` : '';
  return body + tail + pad;
}

/**
 * Every value a request's CallSid or ParentCallSid could be read as (URLSearchParams' reading,
 * trimmed and not): after a rejected request none of them may name a stored call.
 */
export function sidsIn(form: string): string[] {
  const out = new Set<string>();
  for (const [k, v] of new URLSearchParams(form)) {
    if (k === 'CallSid' || k === 'ParentCallSid') {
      out.add(v);
      out.add(v.trim());
    }
  }
  out.delete('');
  return [...out];
}

export const FORM = 'application/x-www-form-urlencoded';

/** Content types: the right one in several spellings, and everything else. */
export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 8, arbitrary: fc.constant(FORM) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      `${FORM}; charset=utf-8`,
      `${FORM}; charset=latin1`,
      'Application/X-WWW-Form-Urlencoded',
      `${FORM};;;`,
      ` ${FORM} `,
    ),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      undefined,
      '',
      'application/json',
      'text/plain',
      'text/xml',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
      'application/x-www-form-urlencodedx',
      ';',
      'a/b/c',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }).filter((s) => /^[\x20-\x7e]*$/.test(s)) },
);

/** Drops C0 controls but tab, and DEL: an HTTP parser refuses them in header values. */
const withoutControls = (s: string): string =>
  [...s]
    .filter((c) => {
      const n = c.codePointAt(0) as number;
      return n === 9 || (n >= 32 && n !== 127);
    })
    .join('');

/** Header values that an HTTP parser lets through (visible ASCII, spaces, tabs and bytes ≥ 0x80). */
const headerValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 60 }).map(withoutControls),
  fc.constantFrom(
    '"><Dial><Number>+19005551234</Number></Dial>',
    'evil.example:99999',
    'evil.example/path?q=1#frag',
    '[::1]',
    'a,b,c',
    'x'.repeat(2_000),
    '{{base}}',
    'javascript:alert(1)',
    'é',
  ),
);

/** Random extra headers, including junk versions of the ones Switchboard reads. */
export const junkHeaders: fc.Arbitrary<Record<string, string>> = fc
  .array(
    fc.tuple(
      fc.constantFrom(
        'telnyx-signature-ed25519',
        'telnyx-timestamp',
        'x-forwarded-host',
        'x-forwarded-proto',
        'x-forwarded-for',
        'forwarded',
        'host',
        'authorization',
        'content-encoding',
        'accept',
        'accept-charset',
        'x-request-id',
        'cookie',
        'user-agent',
        'transfer-encoding-x',
      ),
      headerValue,
    ),
    { maxLength: 5 },
  )
  .map((pairs) => Object.fromEntries(pairs));

/** Random query strings: Telnyx's own `attempt`/`outbound`, debris, and Telnyx parameters. */
export const queryString: fc.Arbitrary<string> = fc.oneof(
  fc.constant(''),
  fc
    .record({
      attempt: fc.option(
        fc.oneof(fc.constantFrom('1', '2', '3', '0', '-1', '99', '100', '1.5', '1e3', 'x', ''), anyText),
        { nil: undefined },
      ),
      outbound: fc.option(fc.constantFrom('true', 'false', 'TRUE', '1', ''), { nil: undefined }),
    })
    .map(({ attempt, outbound }) => {
      const q = new URLSearchParams();
      if (attempt !== undefined) q.set('attempt', attempt);
      if (outbound !== undefined) q.set('outbound', outbound);
      const s = q.toString();
      return s ? `?${s}` : '';
    }),
  fc.constantFrom(
    '?',
    '??',
    '?&&',
    '?%',
    '?attempt=%zz',
    '?attempt=1&attempt=2',
    '?a[b]=c',
    '?__proto__[x]=1',
  ),
);

// ---------------------------------------------------------------------------------------------
// Checks on replies

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false });

/** Verbs the shipped templates can produce; anything else in a reply was injected. */
const VERBS = new Set([
  'Response',
  'Play',
  'Dial',
  'Sip',
  'Number',
  'Record',
  'Hangup',
  // The queue templates (docs/interface.md §7).
  'Enqueue',
  'Leave',
  'Say',
  'Gather',
  // The menu (docs/interface.md §9): its no-input <Redirect> back to /texml/menu.
  'Redirect',
]);
const URL_ATTRIBUTES = ['@_action', '@_statusCallback', '@_recordingStatusCallback', '@_waitUrl'];

export interface TexmlExpectations {
  /** Every URL in the reply must start with this (PUBLIC_URL), when given. */
  base?: string;
  /** SIP URIs that may be rung (the roster); any other target was injected. */
  sips: ReadonlySet<string>;
  /** False where no click-to-call exists: no `<Number>` may appear. */
  numbers?: boolean;
}

/**
 * Why a 200 TeXML reply is not what Telnyx may receive, or [] when it is: well-formed XML, root
 * `<Response>`, only the shipped verbs, at most one `<Dial>`, targets from the roster, and every
 * URL (when `base` is given) on the public base.
 */
export function texmlProblems(body: string, want: TexmlExpectations): string[] {
  const valid = XMLValidator.validate(body);
  if (valid !== true) return [`not well-formed: ${JSON.stringify(valid.err)}`];
  const doc = xml.parse(body) as Record<string, unknown>;
  const roots = Object.keys(doc).filter((k) => !k.startsWith('?'));
  if (roots.length !== 1 || roots[0] !== 'Response') return [`root is ${roots.join(',')}`];
  const problems: string[] = [];
  let dials = 0;
  const walk = (name: string, node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) walk(name, n);
      return;
    }
    if (!VERBS.has(name)) problems.push(`unexpected element <${name}>`);
    if (name === 'Dial') dials++;
    if (name === 'Number' && !want.numbers) problems.push('a <Number> without a click-to-call');
    const text =
      typeof node === 'string'
        ? node
        : ((node as Record<string, unknown> | null)?.['#text'] as string | undefined);
    if (name === 'Sip' && !want.sips.has(String(text ?? '').trim())) problems.push(`rings ${String(text)}`);
    if (name === 'Play' && want.base && !String(text ?? '').startsWith(`${want.base}/audio/`))
      problems.push(`plays ${String(text)}`);
    if (name === 'Redirect' && want.base && !String(text ?? '').startsWith(`${want.base}/texml/`))
      problems.push(`redirects to ${String(text)}`);
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
      if (key === '#text') continue;
      if (key.startsWith('@_')) {
        if (want.base && URL_ATTRIBUTES.includes(key) && !String(value).startsWith(`${want.base}/texml/`))
          problems.push(`${name} ${key.slice(2)}=${String(value)}`);
        continue;
      }
      walk(key, value);
    }
  };
  walk('Response', doc.Response);
  if (dials > 1) problems.push(`${dials} <Dial> verbs`);
  return problems;
}

/**
 * Why a 4xx reply is not a short, readable reason (docs/interface.md §3), or [] when it is. `url` is the
 * request's URL: a message may quote it or its path (404 "no route …") without counting as long.
 */
export function rejectionProblems(status: number, body: string, url = ''): string[] {
  let parsed: { message?: unknown; statusCode?: unknown };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    return [`${status} body is not JSON: ${body.slice(0, 100)}`];
  }
  if (typeof parsed.message !== 'string' || parsed.message.length === 0) return ['no message'];
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const encode = (s: string) => {
    try {
      return encodeURI(s);
    } catch {
      return s;
    }
  };
  const path = url.split('?')[0] as string;
  let own = parsed.message;
  for (const quoted of [url, decode(url), encode(url), path, decode(path), encode(path)])
    if (quoted) own = own.replace(quoted, '');
  return own.length > 300 ? [`message of ${parsed.message.length} chars`] : [];
}

/**
 * Everything the app stored under `prefix`, as key → DUMP (type, value and all), skipping the
 * Slack worker's lease (renewed on a timer, whatever requests come in).
 */
export async function snapshot(raw: Redis, prefix: string): Promise<Map<string, string>> {
  const keys = (await raw.keys(`${prefix}*`))
    // The outbox worker's lease (the scheduler's run lease `job:{outbox:<name>}:running`) and
    // Slack's pause come and go on their own.
    .filter((k) => !/(outbox:\{[^}]*\}:pause|job:\{outbox:[^}]*\}:running)$/.test(k))
    .sort();
  const out = new Map<string, string>();
  for (const key of keys) {
    const dump = await raw.dumpBuffer(key);
    if (dump) out.set(key, dump.toString('hex'));
  }
  return out;
}

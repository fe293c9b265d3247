import { XMLParser } from 'fast-xml-parser';

/**
 * The TeXML verbs and nouns Switchboard writes or will write (the queue work needs `<Enqueue>`,
 * `<Leave>`, `<Gather>`, `<Redirect>`, `<Pause>`), each with the attributes Telnyx documents for
 * it and the page that documents them. test/texml/vocabulary.test.ts renders every branch of every
 * shipped template and fails on any element or attribute not listed here, so a template cannot
 * drift to a Twilio-only attribute again (as `<Record recordingStatusCallbackEvent>` once did: it
 * is documented for `<Dial>` and the REST API, not for `<Record>`).
 *
 * Add an attribute only with the Telnyx page that documents it for that verb.
 */
export interface VerbSpec {
  /** developers.telnyx.com page documenting the verb and its attributes. */
  doc: string;
  attributes: readonly string[];
  /** Where the verb may appear: `Response`, or the parent verb for nouns. */
  parents: readonly string[];
}

const VERBS = 'https://developers.telnyx.com/docs/voice/programmable-voice/texml-verbs';

const TARGET_ATTRIBUTES = [
  'statusCallback',
  'statusCallbackEvent',
  'statusCallbackMethod',
  'url',
  'method',
  'sendDigits',
  'machineDetection',
  'detectionMode',
  'machineDetectionTimeout',
] as const;

export const TEXML_VOCABULARY: Readonly<Record<string, VerbSpec>> = {
  Play: {
    doc: `${VERBS}/play`,
    attributes: ['loop', 'mediaStorage', 'digits', 'ringTone', 'continueOnError', 'failoverUrl'],
    parents: ['Response', 'Gather'],
  },
  Say: { doc: `${VERBS}/say`, attributes: ['voice', 'language', 'loop'], parents: ['Response', 'Gather'] },
  Pause: { doc: `${VERBS}/pause`, attributes: ['length'], parents: ['Response', 'Gather'] },
  Gather: {
    doc: `${VERBS}/gather`,
    attributes: [
      'action',
      'method',
      'timeout',
      'input',
      'speechTimeout',
      'partialResultCallback',
      'partialResultCallbackMethod',
      'profanityFilter',
      'useEnhanced',
      'hints',
      'transcriptionEngine',
      'language',
      'numDigits',
      'minDigits',
      'maxDigits',
      'validDigits',
      'finishOnKey',
      'invalidDigitsAction',
    ],
    parents: ['Response'],
  },
  Dial: {
    doc: `${VERBS}/dial`,
    attributes: [
      'action',
      'method',
      'callerId',
      'fromDisplayName',
      'hangupOnStar',
      'timeout',
      'timeLimit',
      'record',
      'recordingChannels',
      'recordMaxLength',
      'recordingStatusCallback',
      'recordingStatusCallbackMethod',
      'recordingStatusCallbackEvent',
      'sendRecordingUrl',
      'ringTone',
    ],
    parents: ['Response'],
  },
  Number: { doc: `${VERBS}/dial`, attributes: TARGET_ATTRIBUTES, parents: ['Dial'] },
  Sip: {
    doc: `${VERBS}/dial`,
    attributes: [...TARGET_ATTRIBUTES, 'username', 'password'],
    parents: ['Dial'],
  },
  Queue: { doc: `${VERBS}/dial`, attributes: ['url', 'method'], parents: ['Dial'] },
  Enqueue: {
    doc: `${VERBS}/enqueue`,
    attributes: ['action', 'method', 'waitUrl', 'waitUrlMethod'],
    parents: ['Response'],
  },
  Leave: { doc: `${VERBS}/leave`, attributes: [], parents: ['Response'] },
  Record: {
    doc: `${VERBS}/record`,
    attributes: [
      'action',
      'method',
      'finishOnKey',
      'timeout',
      'maxLength',
      'playBeep',
      'trim',
      'channels',
      'recordingStatusCallback',
      'recordingStatusCallbackMethod',
      'transcription',
      'transcriptionCallback',
      'transcriptionEngine',
    ],
    parents: ['Response'],
  },
  Redirect: { doc: `${VERBS}/redirect`, attributes: ['method'], parents: ['Response'] },
  Hangup: { doc: `${VERBS}/hangup`, attributes: [], parents: ['Response'] },
  Reject: { doc: `${VERBS}/reject`, attributes: ['reason'], parents: ['Response'] },
};

/**
 * The verbs a `<Enqueue waitUrl>` document may use, and so also the reply to a `<Gather action>`
 * inside it ("allowed verbs there: Play, Say, Gather, Pause, Hangup, Redirect, Leave",
 * https://developers.telnyx.com/docs/voice/programmable-voice/texml-verbs/enqueue).
 */
export const WAIT_URL_VERBS: readonly string[] = [
  'Play',
  'Say',
  'Gather',
  'Pause',
  'Hangup',
  'Redirect',
  'Leave',
];

/** Top-level verbs of `xml` that a waitUrl document may not use (empty when all are allowed). */
export function waitUrlProblems(xml: string): string[] {
  const problems: string[] = [];
  for (const node of parser.parse(xml) as Ordered) {
    const response = node.Response as Ordered | undefined;
    for (const child of response ?? []) {
      for (const name of Object.keys(child)) {
        if (name === ':@' || name === '#text' || name === '#comment') continue;
        if (!WAIT_URL_VERBS.includes(name)) problems.push(`<${name}> is not allowed in a waitUrl document`);
      }
    }
  }
  return problems;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  preserveOrder: true,
  parseTagValue: false,
});

type Ordered = Array<Record<string, unknown>>;

/**
 * Every element or attribute of a TeXML document that is not in `TEXML_VOCABULARY` (or sits under
 * the wrong parent), as readable lines; empty when the document uses only what Telnyx documents.
 */
export function vocabularyProblems(xml: string): string[] {
  const problems: string[] = [];
  const walk = (nodes: Ordered, parent: string) => {
    for (const node of nodes) {
      for (const [name, value] of Object.entries(node)) {
        if (name === ':@' || name === '#text' || name === '?xml' || name === '#comment') continue;
        const attrs = Object.keys((node[':@'] as Record<string, string> | undefined) ?? {}).map((a) =>
          a.slice(1),
        );
        if (name === 'Response') {
          if (parent !== '') problems.push('<Response> below the root');
          if (attrs.length) problems.push(`<Response> has attributes: ${attrs.join(', ')}`);
        } else {
          const spec = TEXML_VOCABULARY[name];
          if (!spec) problems.push(`<${name}> is not in the documented vocabulary`);
          else {
            if (!spec.parents.includes(parent)) problems.push(`<${name}> inside <${parent}>`);
            for (const a of attrs) {
              if (!spec.attributes.includes(a))
                problems.push(`<${name} ${a}>: not an attribute Telnyx documents (${spec.doc})`);
            }
          }
        }
        walk(value as Ordered, name);
      }
    }
  };
  walk(parser.parse(xml) as Ordered, '');
  return problems;
}

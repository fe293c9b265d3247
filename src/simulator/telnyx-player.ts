import { createPrivateKey, generateKeyPairSync, type KeyObject, randomUUID, sign } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import { LiveCalls, SimQueues } from './live-calls.js';

/**
 * Plays Telnyx against a Switchboard server: form-encoded, PascalCase, signed requests as
 * docs/telnyx.md §1–2 describes, following the TeXML the server answers. Used by
 * `npm run simulate` and by the end-to-end tests.
 */

export interface PlayerOptions {
  baseUrl: string;
  /** Several replicas behind one hostname: requests go to these in turn instead of `baseUrl`. */
  replicas?: string[];
  /** Ed25519 private key; when set every request carries telnyx-signature-ed25519. */
  privateKey?: KeyObject;
  /** Each request and reply, for printing. */
  onExchange?: (x: Exchange) => void;
  /** Clock for callback `Timestamp`s; scenarios advance it instead of sleeping. */
  clock?: SimClock;
  /**
   * How many times a request answered with anything but 200 is sent again (default 1). Telnyx:
   * "The server must return an HTTP 200, otherwise we will reattempt delivery at the failover
   * webhook URL" (texml-calls.yml, every webhook); the failover URL is taken to be the same server.
   */
  redeliveries?: number;
  /**
   * Whether Telnyx would connect a <Dial> leg to this SIP URI or number (default: always), e.g.
   * `FakeTelnyxApi.acceptsSipUriCall`, which refuses agents whose SIP URI calling is disabled.
   */
  canDial?: (uri: string) => boolean;
  /**
   * Real milliseconds slept per simulated second while a caller waits in a queue (default 0: the
   * wait document plays instantly). Against a running server, whose timers (wrap-up, dispatch)
   * run on real time, the CLI sets 1000 so an agent can free up while the caller listens.
   */
  paceMs?: number;
}

export interface Exchange {
  path: string;
  params: Record<string, string>;
  status: number;
  body: string;
}

export class SimClock {
  constructor(public ms = Date.now()) {}
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
  iso(): string {
    return new Date(this.ms).toISOString();
  }
}

/** What a TeXML reply asks Telnyx to do, as far as the simulator cares. */
export interface TexmlPlan {
  plays: string[];
  dial?: {
    action?: string;
    timeout?: number;
    callerId?: string;
    targets: { kind: 'Sip' | 'Number'; uri: string; statusCallback?: string }[];
  };
  record?: { action?: string; recordingStatusCallback?: string };
  /** A menu: where the pressed key goes (docs/interface.md §9). */
  gather?: { action?: string; numDigits?: number; timeout?: number };
  /** `<Enqueue>` (https://developers.telnyx.com/docs/voice/programmable-voice/texml-verbs/enqueue). */
  enqueue?: EnqueueVerb;
  /** `<Redirect>`: the URL of the next document. */
  redirect?: { url: string; method: string };
  hangup: boolean;
  /** Every verb of the document in order, for the verbs played one after another (wait documents). */
  verbs: Verb[];
}

export interface EnqueueVerb {
  queue: string;
  waitUrl?: string;
  /** Default POST (docs: `waitUrlMethod`). */
  waitUrlMethod: string;
  action?: string;
  /** Default POST (docs: `method`). */
  method: string;
  /** The verbs after `<Enqueue>`: where `<Leave>` continues when there is no `action` (texml-verbs/leave). */
  after: Verb[];
}

/** One TeXML element: its name, attributes, text and nested elements, in document order. */
export interface Verb {
  name: string;
  attrs: Record<string, string>;
  text: string;
  children: Verb[];
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  // Keep "+14155550123" a string: TeXML values are text, not numbers.
  parseTagValue: false,
  isArray: (name) => ['Play', 'Say', 'Sip', 'Number', 'Dial', 'Record'].includes(name),
  textNodeName: '#text',
});

const orderedParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  preserveOrder: true,
});

type Ordered = Record<string, unknown>[];

function toVerbs(nodes: Ordered): Verb[] {
  const out: Verb[] = [];
  for (const node of nodes) {
    const name = Object.keys(node).find((k) => k !== ':@');
    if (!name || name === '#text' || name.startsWith('?')) continue;
    const inner = (node[name] as Ordered | undefined) ?? [];
    out.push({
      name,
      attrs: { ...((node[':@'] as Record<string, string> | undefined) ?? {}) },
      text: inner
        .map((c) => (typeof c['#text'] === 'string' ? c['#text'] : ''))
        .join('')
        .trim(),
      children: toVerbs(inner),
    });
  }
  return out;
}

/** The verbs of a `<Response>` in document order; throws if the document is not a `<Response>`. */
export function readVerbs(xml: string): Verb[] {
  const doc = toVerbs(orderedParser.parse(xml) as Ordered);
  const res = doc.find((v) => v.name === 'Response');
  if (!res) throw new Error(`not a TeXML <Response>: ${xml.slice(0, 200)}`);
  return res.children;
}

type XmlNode = Record<string, unknown>;
const text = (n: unknown): string =>
  typeof n === 'string' ? n : typeof n === 'object' && n ? String((n as XmlNode)['#text'] ?? '') : '';

/** Reads the verbs of a TeXML document; throws if it is not a `<Response>`. */
export function readTexml(xml: string): TexmlPlan {
  const doc = parser.parse(xml) as XmlNode;
  const res = doc.Response as XmlNode | '' | undefined;
  if (res === undefined) throw new Error(`not a TeXML <Response>: ${xml.slice(0, 200)}`);
  const r = (res || {}) as XmlNode;
  const verbs = readVerbs(xml);
  const plan: TexmlPlan = {
    plays: ((r.Play as unknown[]) ?? []).map(text),
    hangup: 'Hangup' in r,
    verbs,
  };
  const enqueueAt = verbs.findIndex((v) => v.name === 'Enqueue');
  const enqueue = verbs[enqueueAt];
  if (enqueue) {
    plan.enqueue = {
      queue: enqueue.text,
      waitUrl: enqueue.attrs.waitUrl,
      waitUrlMethod: (enqueue.attrs.waitUrlMethod ?? 'POST').toUpperCase(),
      action: enqueue.attrs.action,
      method: (enqueue.attrs.method ?? 'POST').toUpperCase(),
      after: verbs.slice(enqueueAt + 1),
    };
  }
  const redirect = verbs.find((v) => v.name === 'Redirect');
  if (redirect)
    plan.redirect = { url: redirect.text, method: (redirect.attrs.method ?? 'POST').toUpperCase() };
  const dial = (r.Dial as XmlNode[] | undefined)?.[0];
  if (dial) {
    const targets: NonNullable<TexmlPlan['dial']>['targets'] = [];
    for (const kind of ['Sip', 'Number'] as const) {
      for (const t of (dial[kind] as unknown[]) ?? []) {
        targets.push({
          kind,
          uri: text(t).trim(),
          statusCallback: (t as XmlNode)?.statusCallback as string | undefined,
        });
      }
    }
    plan.dial = {
      action: dial.action as string | undefined,
      timeout: dial.timeout ? Number(dial.timeout) : undefined,
      callerId: dial.callerId as string | undefined,
      targets,
    };
  }
  const gather = r.Gather as XmlNode | '' | undefined;
  if (gather !== undefined) {
    const g = (gather || {}) as XmlNode;
    plan.gather = {
      action: g.action as string | undefined,
      numDigits: g.numDigits ? Number(g.numDigits) : undefined,
      timeout: g.timeout ? Number(g.timeout) : undefined,
    };
  }
  const record = (r.Record as XmlNode[] | undefined)?.[0];
  if (record) {
    plan.record = {
      action: record.action as string | undefined,
      recordingStatusCallback: record.recordingStatusCallback as string | undefined,
    };
  }
  return plan;
}

/** A fresh Ed25519 key pair; the public half in Telnyx's format (base64 of the raw 32 bytes). */
export function generateSigningKeys(): {
  privateKey: KeyObject;
  publicKeyBase64: string;
  privateKeyPem: string;
} {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    privateKey,
    publicKeyBase64: publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('base64'),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

export const loadPrivateKey = (pem: string): KeyObject => createPrivateKey(pem);

export class TelnyxPlayer {
  readonly clock: SimClock;
  readonly accountSid = randomUUID();
  readonly connectionId = '1568109700606592442';
  private readonly seq = new Map<string, number>();
  private readonly initiated = new Map<string, string>();
  private turn = 0;
  /** Every request the server answered with a status other than 200 (each attempt, in order). */
  readonly failedDeliveries: Exchange[] = [];
  /** The calls being played, reachable by the fake API's call update (`FakeTelnyxApi.liveCalls`). */
  readonly calls = new LiveCalls();
  /** Telnyx's queues, for the `waitUrl` parameters. */
  readonly queues = new SimQueues();

  constructor(private readonly o: PlayerOptions) {
    this.clock = o.clock ?? new SimClock();
  }

  /**
   * POSTs form params to a path, or to an absolute URL from a TeXML reply, signed when a key is
   * set. Absolute URLs are sent to `baseUrl` with their path and query, the way DNS and an
   * ingress bring Telnyx's request for PUBLIC_URL to this server.
   */
  async post(pathOrUrl: string, params: Record<string, string>): Promise<Exchange> {
    return this.request('POST', pathOrUrl, params);
  }

  /**
   * A request with the method a verb asked for (`waitUrlMethod`, `method`): GET sends the
   * parameters in the query string, POST form-encoded in the body.
   */
  async request(method: string, pathOrUrl: string, params: Record<string, string>): Promise<Exchange> {
    const m = method.toUpperCase() === 'GET' ? 'GET' : 'POST';
    let x = await this.deliver(pathOrUrl, params, m);
    for (let again = this.o.redeliveries ?? 1; x.status !== 200 && again > 0; again--) {
      x = await this.deliver(pathOrUrl, params, m);
    }
    return x;
  }

  /**
   * Plays `seconds` of audio (or silence) on `callSid`: the clock advances, and with `paceMs`
   * the player sleeps in real time too, woken early by an update of the call.
   */
  async listen(callSid: string, seconds: number): Promise<void> {
    this.clock.advance(seconds);
    await this.calls.pause(callSid, seconds * (this.o.paceMs ?? 0));
  }

  /** One delivery attempt; a non-200 answer is a failed delivery, as Telnyx counts it. */
  private async deliver(
    pathOrUrl: string,
    params: Record<string, string>,
    method: 'GET' | 'POST' = 'POST',
  ): Promise<Exchange> {
    const target = /^https?:\/\//i.test(pathOrUrl) ? new URL(pathOrUrl) : null;
    const replicas = this.o.replicas;
    const base = replicas?.length ? (replicas[this.turn++ % replicas.length] as string) : this.o.baseUrl;
    let url = target ? `${base}${target.pathname}${target.search}` : `${base}${pathOrUrl}`;
    const query = new URLSearchParams(params).toString();
    if (method === 'GET') url += `${url.includes('?') ? '&' : '?'}${query}`;
    const body = method === 'GET' ? '' : query;
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (this.o.privateKey) {
      const ts = String(Math.floor(Date.now() / 1000));
      headers['telnyx-timestamp'] = ts;
      headers['telnyx-signature-ed25519'] = sign(
        null,
        Buffer.from(`${ts}|${body}`),
        this.o.privateKey,
      ).toString('base64');
    }
    if (method === 'GET') delete headers['content-type'];
    const res = await fetch(url, { method, headers, ...(method === 'POST' && { body }) });
    const x: Exchange = {
      path: new URL(url).pathname + new URL(url).search,
      params,
      status: res.status,
      body: await res.text(),
    };
    this.o.onExchange?.(x);
    if (x.status !== 200) this.failedDeliveries.push(x);
    return x;
  }

  /** Whether Telnyx would connect a leg to `uri` (see `PlayerOptions.canDial`). */
  canDial(uri: string): boolean {
    return this.o.canDial?.(uri) ?? true;
  }

  /** The fields every TeXML request carries (docs/telnyx.md §1.2). */
  base(callSid: string, from: string, to: string): Record<string, string> {
    if (!this.initiated.has(callSid)) this.initiated.set(callSid, this.clock.iso());
    return {
      AccountSid: this.accountSid,
      CallSid: callSid,
      CallSidLegacy: callSid,
      ConnectionId: this.connectionId,
      ApiVersion: '2010-04-01',
      From: from,
      To: to,
      Timestamp: this.clock.iso(),
    };
  }

  /** A call-progress callback; SequenceNumber counts up per leg, as Telnyx's examples show. */
  async status(
    url: string,
    leg: { sid: string; from: string; to: string; parent?: string },
    status: string,
    extra: Record<string, string> = {},
  ): Promise<Exchange> {
    const next = (this.seq.get(leg.sid) ?? -1) + 1;
    this.seq.set(leg.sid, next);
    if (!this.initiated.has(leg.sid)) this.initiated.set(leg.sid, this.clock.iso());
    return this.post(url, {
      ...this.base(leg.sid, leg.from, leg.to),
      CallStatus: status,
      CallbackSource: 'call-progress-events',
      SequenceNumber: String(next),
      Timestamp: this.clock.iso(),
      CallInitiatedAt: this.initiated.get(leg.sid) as string,
      ...(leg.parent ? { ParentCallSid: leg.parent, ParentCallSidLegacy: leg.parent } : {}),
      ...extra,
    });
  }
}

export const newCallSid = (): string => `v3:${randomUUID().replaceAll('-', '').slice(0, 22)}`;

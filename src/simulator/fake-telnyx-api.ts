import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CallUpdate, CallUpdateTarget, LiveCallInfo } from './live-calls.js';

/**
 * A real HTTP server playing the parts of Telnyx API v2 that Switchboard uses, mounted under `/v2`
 * on 127.0.0.1 (docs/telnyx.md §4): bearer auth, credential connections with honest
 * filters and pagination, registration status, balance, and TeXML call creation; plus fault
 * injection (429 with rate-limit headers, 500, hang) and a request log for assertions.
 */

export type RegistrationStatus =
  | 'Not Applicable'
  | 'Not Registered'
  | 'Failed'
  | 'Expired'
  | 'Registered'
  | 'Unregistered';

/** A credential connection as a test sets it up; fields left out are absent from the JSON too. */
export interface FakeConnection {
  id?: string;
  connection_name?: string;
  user_name?: string;
  active?: boolean;
  /** Served as `outbound.outbound_voice_profile_id`. */
  outbound_voice_profile_id?: string;
  created_at?: string;
  /** What `check_registration_status` reports (default `Not Registered`). */
  registration?: RegistrationStatus;
  /**
   * Telnyx's default is `disabled`: calls to `sip:<user_name>@sip.telnyx.com` are refused unless
   * this is `internal` or `unrestricted` (spec3.yml `CredentialConnection.sip_uri_calling_preference`).
   */
  sip_uri_calling_preference?: SipUriCallingPreference;
}

export type SipUriCallingPreference = 'disabled' | 'unrestricted' | 'internal';
const SIP_URI_PREFERENCES: readonly string[] = ['disabled', 'unrestricted', 'internal'];

export interface FakeBalance {
  balance: string;
  credit_limit: string;
  available_credit: string;
  currency: string;
  pending: string;
}

export type Fault =
  | { kind: 'rate-limit'; retryAfterSeconds?: number; retryAfterMs?: number }
  /** Any error status; `code`/`title`/`detail` shape the Telnyx error body (default: 10007 Unexpected error). */
  | { kind: 'server-error'; status?: number; code?: string; title?: string; detail?: string }
  | { kind: 'hang' }
  /**
   * The request is carried out (a call is placed) but the answer comes `delayMs` later — past the
   * client's timeout, a retry would place a second call, since Telnyx documents no idempotency
   * key for call creation (docs/telnyx.md).
   */
  | { kind: 'slow'; delayMs: number };

export interface RecordedRequest {
  method: string;
  /** Path without the query, e.g. `/v2/credential_connections`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body?: unknown;
  /** Status answered (undefined while hanging). */
  status?: number;
}

export interface RecordedTexmlCall {
  kind: 'account' | 'connection';
  accountSid?: string;
  connectionId?: string;
  body: Record<string, unknown>;
  callSid: string;
}

interface FaultRule {
  method?: string;
  path: string | RegExp;
  query?: Record<string, string>;
  remaining: number;
  fault: Fault;
}

/** A route's answer other than 200 JSON (e.g. 201, or the token endpoint's text/plain). */
class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly contentType = 'application/json',
  ) {}
}

/** An on-demand telephony credential as the fake stores it (spec3.yml `TelephonyCredential`). */
export interface FakeTelephonyCredential {
  id: string;
  name: string;
  resource_id: string;
  sip_username: string;
  sip_password: string;
  expired: boolean;
  expires_at?: string;
  tag?: string;
  created_at: string;
  updated_at: string;
  record_type: 'credential';
  user_id: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly errors: Array<Record<string, unknown>>,
  ) {
    super(String(errors[0]?.title ?? status));
  }
}

const error = (code: string, title: string, detail?: string, source?: Record<string, string>) => ({
  code,
  title,
  ...(detail && { detail }),
  ...(source && { source }),
  meta: { url: `https://developers.telnyx.com/docs/overview/errors/${code}` },
});

const badRequest = (detail: string, parameter: string) =>
  new HttpError(400, [error('10015', 'Bad Request', detail, { parameter })]);

const notFound = () =>
  new HttpError(404, [
    error('10005', 'Resource not found', 'The requested resource or URL could not be found.'),
  ]);

export class FakeTelnyxApi {
  readonly requests: RecordedRequest[] = [];
  readonly texmlCalls: RecordedTexmlCall[] = [];
  #connections: Array<Required<Pick<FakeConnection, 'created_at'>> & FakeConnection> = [];
  #balance: FakeBalance = {
    balance: '300.00',
    credit_limit: '100.00',
    available_credit: '400.00',
    currency: 'USD',
    pending: '10.00',
  };
  #faults: FaultRule[] = [];
  #credentials: FakeTelephonyCredential[] = [];
  /** Tokens minted by `POST /v2/telephony_credentials/{id}/token`, newest last. */
  readonly tokens: Array<{ credentialId: string; token: string }> = [];
  #hanging = new Set<ServerResponse>();
  #slow = new Set<NodeJS.Timeout>();
  #late = new WeakMap<ServerResponse, number>();
  #created = 0;
  #inFlight = 0;
  /** Delay before every answer, to make concurrency observable. */
  latencyMs = 0;
  /** Most requests that were being answered at the same time. */
  maxInFlight = 0;
  /** Called for each request before it is answered: lets a test change the account mid-listing. */
  onRequest: ((request: RecordedRequest) => void) | undefined;
  /**
   * The calls in progress, for `POST /v2/texml/Accounts/{AccountSid}/Calls/{CallSid}` (update):
   * the player playing them (`TelnyxPlayer.calls`). Without it every call is unknown (404).
   */
  liveCalls: CallUpdateTarget | undefined;
  readonly #createdWaiters = new Set<() => void>();

  private constructor(
    private readonly server: Server,
    readonly apiKey: string,
    /** `http://127.0.0.1:<port>/v2`: pass as `TELNYX_API_BASE_URL`. */
    readonly baseUrl: string,
  ) {}

  static async start(options: { apiKey?: string; port?: number } = {}): Promise<FakeTelnyxApi> {
    const apiKey = options.apiKey ?? `KEY${randomUUID().replace(/-/g, '')}`;
    let api: FakeTelnyxApi | undefined;
    const server = createServer((req, res) => {
      void api?.handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', resolve);
    });
    const { port } = server.address() as AddressInfo;
    api = new FakeTelnyxApi(server, apiKey, `http://127.0.0.1:${port}/v2`);
    return api;
  }

  /** Replaces every connection on the account. Missing `id`s are generated; order = creation order. */
  setConnections(connections: FakeConnection[]): void {
    this.#connections = [];
    for (const c of connections) this.addConnection(c);
  }

  addConnection(connection: FakeConnection): string {
    this.#created += 1;
    const id =
      'id' in connection ? connection.id : String(1_293_384_261_075_731_000n + BigInt(this.#created));
    const created_at =
      connection.created_at ?? new Date(Date.UTC(2026, 0, 1) + this.#created * 1000).toISOString();
    this.#connections.push({ ...connection, ...(id !== undefined && { id }), created_at });
    return id ?? '';
  }

  updateConnection(id: string, patch: Partial<FakeConnection>): void {
    const c = this.#connections.find((x) => x.id === id);
    if (!c) throw new Error(`no fake connection ${id}`);
    Object.assign(c, patch);
  }

  removeConnection(id: string): void {
    this.#connections = this.#connections.filter((c) => c.id !== id);
  }

  /**
   * Whether Telnyx would connect a call from this account to `sip` (`sip:<user>@sip.telnyx.com`):
   * only to an active connection with that user name whose SIP URI calling is `internal` or
   * `unrestricted`. The simulator fails a <Dial> leg to anything else, as Telnyx does.
   * A SIP URI on another host is not Telnyx's to refuse here: true.
   */
  acceptsSipUriCall(sip: string): boolean {
    const m = /^sips?:([^@;]+)@sip\.telnyx\.com(?:[;:?].*)?$/i.exec(sip.trim());
    if (!m) return true;
    const user = m[1]!.toLowerCase();
    const conn = this.#connections.find(
      (c) => (c.user_name ?? '').toLowerCase() === user && c.active !== false,
    );
    const pref = conn?.sip_uri_calling_preference ?? 'disabled';
    return conn !== undefined && (pref === 'internal' || pref === 'unrestricted');
  }

  setRegistration(id: string, status: RegistrationStatus): void {
    this.updateConnection(id, { registration: status });
  }

  setBalance(balance: Partial<FakeBalance>): void {
    this.#balance = { ...this.#balance, ...balance };
  }

  /**
   * The next `count` requests matching `path` (exact string or RegExp on the path), and `method`
   * and every `query` parameter when given, answer with `fault`.
   */
  failNext(
    match: { path: string | RegExp; method?: string; query?: Record<string, string> },
    count: number,
    fault: Fault,
  ): void {
    this.#faults.push({ ...match, remaining: count, fault });
  }

  clearFaults(): void {
    this.#faults = [];
  }

  /** Recorded requests whose path matches (exact string or RegExp), optionally by method. */
  requestsTo(path: string | RegExp, method?: string): RecordedRequest[] {
    return this.requests.filter(
      (r) =>
        (typeof path === 'string' ? r.path === path : path.test(r.path)) && (!method || r.method === method),
    );
  }

  /**
   * The next TeXML call created (POST .../Calls) matching `predicate`, among those created from
   * now on or already recorded after index `from`; rejects after `timeoutMs`.
   */
  async waitForCreatedCall(
    predicate: (call: RecordedTexmlCall) => boolean,
    options: { from?: number; timeoutMs: number },
  ): Promise<RecordedTexmlCall> {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const found = this.texmlCalls.slice(options.from ?? 0).find(predicate);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching call created within ${options.timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#createdWaiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.#createdWaiters.add(done);
      });
    }
  }

  async close(): Promise<void> {
    for (const wake of [...this.#createdWaiters]) wake();
    for (const res of this.#hanging) res.destroy();
    for (const timer of this.#slow) clearTimeout(timer);
    this.#slow.clear();
    this.#hanging.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
    };
    this.requests.push(record);
    this.#inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.#inFlight);
    res.on('close', () => {
      this.#inFlight -= 1;
    });
    try {
      const raw = await readBody(req);
      if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
      this.onRequest?.(record);
      const fault = this.takeFault(record);
      if (fault && fault.kind !== 'slow') return this.answerFault(fault, record, res);
      // Carried out now, answered late (or never, when the client gave up and closed first).
      if (fault?.kind === 'slow') this.#late.set(res, fault.delayMs);
      if (req.headers.authorization !== `Bearer ${this.apiKey}`) {
        throw new HttpError(401, [
          error('10009', 'Authentication failed', 'Could not understand the provided credentials.'),
        ]);
      }
      const form = /^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '');
      if (raw.length > 0 && form) {
        record.body = Object.fromEntries(new URLSearchParams(raw));
      } else if (raw.length > 0) {
        try {
          record.body = JSON.parse(raw);
        } catch {
          throw new HttpError(400, [error('10015', 'Bad Request', 'The request body is not valid JSON.')]);
        }
      }
      const data = this.route(record);
      if (data instanceof Reply) this.send(res, record, data.status, data.body, data.contentType);
      else this.send(res, record, 200, data);
    } catch (err) {
      if (err instanceof HttpError) return this.send(res, record, err.status, { errors: err.errors });
      this.send(res, record, 500, { errors: [error('10007', 'Unexpected error', String(err))] });
    }
  }

  private takeFault(record: RecordedRequest): Fault | undefined {
    const rule = this.#faults.find(
      (f) =>
        f.remaining > 0 &&
        (!f.method || f.method === record.method) &&
        Object.entries(f.query ?? {}).every(([k, v]) => record.query.get(k) === v) &&
        (typeof f.path === 'string' ? f.path === record.path : f.path.test(record.path)),
    );
    if (!rule) return undefined;
    rule.remaining -= 1;
    return rule.fault;
  }

  private answerFault(
    fault: Exclude<Fault, { kind: 'slow' }>,
    record: RecordedRequest,
    res: ServerResponse,
  ): void {
    if (fault.kind === 'hang') {
      this.#hanging.add(res);
      res.on('close', () => this.#hanging.delete(res));
      return;
    }
    if (fault.kind === 'rate-limit') {
      const seconds = fault.retryAfterSeconds ?? 1;
      res.setHeader('x-ratelimit-limit', '100');
      res.setHeader('x-ratelimit-remaining', '0');
      res.setHeader('x-ratelimit-reset', String(seconds));
      res.setHeader('retry-after', String(seconds));
      if (fault.retryAfterMs !== undefined) res.setHeader('retry-after-ms', String(fault.retryAfterMs));
      this.send(res, record, 429, {
        errors: [
          error('10011', 'Too many requests', 'You have exceeded the maximum number of allowed requests.'),
        ],
      });
      return;
    }
    this.send(res, record, fault.status ?? 500, {
      errors: [
        error(
          fault.code ?? '10007',
          fault.title ?? 'Unexpected error',
          fault.detail ?? 'An unexpected error occured.',
        ),
      ],
    });
  }

  private send(
    res: ServerResponse,
    record: RecordedRequest,
    status: number,
    body: unknown,
    contentType = 'application/json',
  ): void {
    record.status = status;
    const json = typeof body === 'string' && contentType !== 'application/json' ? body : JSON.stringify(body);
    if (!res.hasHeader('x-ratelimit-limit')) {
      res.setHeader('x-ratelimit-limit', '100');
      res.setHeader('x-ratelimit-remaining', '99');
      res.setHeader('x-ratelimit-reset', '60');
    }
    const write = () => {
      if (res.destroyed) return;
      res.writeHead(status, {
        'content-type': contentType,
        'content-length': Buffer.byteLength(json),
      });
      res.end(json);
    };
    const delay = this.#late.get(res);
    if (delay === undefined) {
      write();
      return;
    }
    const timer = setTimeout(() => {
      this.#slow.delete(timer);
      write();
    }, delay);
    this.#slow.add(timer);
  }

  private route(r: RecordedRequest): unknown {
    const p = r.path;
    if (r.method === 'GET' && p === '/v2/credential_connections') return this.listConnections(r.query);
    let m = /^\/v2\/credential_connections\/([^/]+)\/actions\/check_registration_status$/.exec(p);
    if (m && r.method === 'POST') return this.registration(decodeURIComponent(m[1]!));
    m = /^\/v2\/credential_connections\/([^/]+)$/.exec(p);
    if (m && r.method === 'PATCH') return this.updateCredentialConnection(decodeURIComponent(m[1]!), r.body);
    if (r.method === 'GET' && p === '/v2/balance')
      return { data: { ...this.#balance, record_type: 'balance' } };
    m = /^\/v2\/texml\/Accounts\/([^/]+)\/Calls$/.exec(p);
    if (m && r.method === 'POST') return this.createAccountCall(decodeURIComponent(m[1]!), r.body);
    m = /^\/v2\/texml\/Accounts\/([^/]+)\/Calls\/([^/]+?)(?:\.json)?$/.exec(p);
    if (m && r.method === 'POST') {
      return this.updateCall(decodeURIComponent(m[1]!), decodeURIComponent(m[2]!), r);
    }
    m = /^\/v2\/texml\/calls\/([^/]+)$/.exec(p);
    if (m && r.method === 'POST') return this.createConnectionCall(decodeURIComponent(m[1]!), r.body);
    if (p === '/v2/telephony_credentials' && r.method === 'GET') return this.listCredentials(r.query);
    if (p === '/v2/telephony_credentials' && r.method === 'POST') return this.createCredential(r.body);
    m = /^\/v2\/telephony_credentials\/([^/]+)$/.exec(p);
    if (m && r.method === 'GET') return { data: this.credential(decodeURIComponent(m[1]!)) };
    m = /^\/v2\/telephony_credentials\/([^/]+)\/token$/.exec(p);
    if (m && r.method === 'POST') return this.createToken(decodeURIComponent(m[1]!));
    throw notFound();
  }

  /** The on-demand credentials on the account (for assertions). */
  telephonyCredentials(): readonly FakeTelephonyCredential[] {
    return this.#credentials;
  }

  /** Marks a credential expired (as Telnyx does after `expires_at`). */
  expireCredential(id: string): void {
    this.credential(id).expired = true;
  }

  private credential(id: string): FakeTelephonyCredential {
    const c = this.#credentials.find((x) => x.id === id);
    if (!c) throw notFound();
    return c;
  }

  /**
   * `GET /v2/telephony_credentials` (spec3.yml FindTelephonyCredentials): `page[number]`,
   * `page[size]` (1–250, default 50) and the exact-match filters `filter[name]`, `filter[tag]`,
   * `filter[resource_id]`, `filter[sip_username]`, `filter[status]` (`active`/`expired`).
   */
  private listCredentials(q: URLSearchParams): unknown {
    const pageNumber = intParam(q, 'page[number]', 1);
    const pageSize = intParam(q, 'page[size]', 50);
    if (pageNumber < 1) throw badRequest('page[number] must be >= 1', 'page[number]');
    if (pageSize < 1 || pageSize > 250)
      throw badRequest('page[size] must be between 1 and 250', 'page[size]');
    let list = [...this.#credentials];
    for (const field of ['name', 'tag', 'resource_id', 'sip_username'] as const) {
      const v = q.get(`filter[${field}]`);
      if (v !== null) list = list.filter((c) => c[field] === v);
    }
    const status = q.get('filter[status]');
    if (status !== null) list = list.filter((c) => (status === 'expired') === c.expired);
    const totalResults = list.length;
    return {
      data: list.slice((pageNumber - 1) * pageSize, pageNumber * pageSize),
      meta: {
        page_number: pageNumber,
        page_size: pageSize,
        total_pages: Math.ceil(totalResults / pageSize),
        total_results: totalResults,
      },
    };
  }

  /**
   * `POST /v2/telephony_credentials` (spec3.yml CreateTelephonyCredential): `connection_id` is
   * required and must name a credential connection of the account; 201 with the credential,
   * whose `resource_id` is `connection:<id>` and whose SIP user is a generated `gencred…`;
   * 422 for a bad body.
   */
  private createCredential(body: unknown): Reply {
    const b = (body && typeof body === 'object' && !Array.isArray(body) ? body : undefined) as
      | Record<string, unknown>
      | undefined;
    const invalid = (detail: string, pointer: string) =>
      new HttpError(422, [error('10015', 'Invalid parameter', detail, { pointer })]);
    if (!b) throw invalid('the body must be a JSON object', '/');
    if (typeof b.connection_id !== 'string' || b.connection_id === '')
      throw invalid('connection_id is required', '/connection_id');
    if (!this.#connections.some((c) => c.id === b.connection_id))
      throw invalid('connection_id does not name a credential connection', '/connection_id');
    for (const k of ['name', 'tag', 'expires_at'] as const) {
      if (b[k] !== undefined && typeof b[k] !== 'string') throw invalid(`${k} must be a string`, `/${k}`);
    }
    const at = new Date().toISOString();
    const cred: FakeTelephonyCredential = {
      id: randomUUID(),
      name: (b.name as string | undefined) ?? at,
      resource_id: `connection:${b.connection_id}`,
      sip_username: `gencred${randomUUID().replace(/-/g, '').slice(0, 22)}`,
      sip_password: randomUUID().replace(/-/g, ''),
      expired: false,
      ...(typeof b.expires_at === 'string' && { expires_at: b.expires_at }),
      ...(typeof b.tag === 'string' && { tag: b.tag }),
      created_at: at,
      updated_at: at,
      record_type: 'credential',
      user_id: 'fake-user',
    };
    this.#credentials.push(cred);
    return new Reply(201, { data: cred });
  }

  /**
   * `POST /v2/telephony_credentials/{id}/token` (spec3.yml CreateTelephonyCredentialToken): 201
   * with the JWT as `text/plain`; 404 for an unknown credential. The JWT's claims follow the
   * spec's example (iss/aud `telnyx_telephony`, `sub` = credential id, `typ` access); the
   * signature is not a real one, as only Telnyx's servers ever verify it.
   */
  private createToken(id: string): Reply {
    const cred = this.credential(id);
    if (cred.expired)
      throw new HttpError(422, [error('10015', 'Invalid parameter', 'the credential has expired')]);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const iat = Math.floor(Date.now() / 1000);
    const token = [
      b64({ alg: 'HS512', typ: 'JWT' }),
      b64({
        aud: 'telnyx_telephony',
        iss: 'telnyx_telephony',
        exp: iat + 86_400,
        iat,
        nbf: iat - 1,
        jti: randomUUID(),
        sub: cred.id,
        typ: 'access',
      }),
      Buffer.from(randomUUID()).toString('base64url'),
    ].join('.');
    this.tokens.push({ credentialId: id, token });
    return new Reply(201, token, 'text/plain');
  }

  private listConnections(q: URLSearchParams): unknown {
    const pageNumber = intParam(q, 'page[number]', 1);
    const pageSize = intParam(q, 'page[size]', 250);
    if (pageNumber < 1) throw badRequest('page[number] must be >= 1', 'page[number]');
    if (pageSize < 1 || pageSize > 250)
      throw badRequest('page[size] must be between 1 and 250', 'page[size]');

    let list = [...this.#connections];
    const contains = q.get('filter[connection_name][contains]');
    if (contains !== null) {
      if (contains.length < 3) {
        throw badRequest(
          'filter[connection_name][contains] requires at least three characters',
          'filter[connection_name][contains]',
        );
      }
      const needle = contains.toLowerCase();
      list = list.filter((c) => (c.connection_name ?? '').toLowerCase().includes(needle));
    }
    const profile = q.get('filter[outbound_voice_profile_id]');
    if (profile !== null) list = list.filter((c) => c.outbound_voice_profile_id === profile);

    const sort = q.get('sort');
    const sortField = sort ? sort.replace(/^-/, '') : 'created_at';
    if (!['created_at', 'connection_name', 'active'].includes(sortField)) {
      throw badRequest('sort must be one of created_at, connection_name, active', 'sort');
    }
    // Without `sort`, Telnyx lists newest first.
    const descending = sort ? sort.startsWith('-') : true;
    const key = (c: FakeConnection): string =>
      sortField === 'active'
        ? String(c.active ?? false)
        : String(c[sortField as 'created_at' | 'connection_name'] ?? '');
    list.sort((a, b) => (descending ? -1 : 1) * key(a).localeCompare(key(b)));

    const totalResults = list.length;
    const totalPages = Math.ceil(totalResults / pageSize);
    const data = list.slice((pageNumber - 1) * pageSize, pageNumber * pageSize).map(toApiConnection);
    return {
      data,
      meta: {
        page_number: pageNumber,
        page_size: pageSize,
        total_pages: totalPages,
        total_results: totalResults,
      },
    };
  }

  /**
   * `PATCH /v2/credential_connections/{id}` (spec3.yml `UpdateCredentialConnection`): a JSON
   * `UpdateCredentialConnectionRequest`; answers `{ data: CredentialConnection }`, 404 for an
   * unknown id, 422 for a value outside an enum. Only the fields Switchboard sends are applied.
   */
  private updateCredentialConnection(id: string, body: unknown): unknown {
    const c = this.#connections.find((x) => x.id === id);
    if (!c) throw notFound();
    const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    if ('sip_uri_calling_preference' in b) {
      const v = b.sip_uri_calling_preference;
      if (typeof v !== 'string' || !SIP_URI_PREFERENCES.includes(v)) {
        throw new HttpError(422, [
          error(
            '10015',
            'Invalid parameter',
            'sip_uri_calling_preference must be one of disabled, unrestricted, internal',
            {
              pointer: '/sip_uri_calling_preference',
            },
          ),
        ]);
      }
      c.sip_uri_calling_preference = v as SipUriCallingPreference;
    }
    if (typeof b.active === 'boolean') c.active = b.active;
    return { data: toApiConnection(c) };
  }

  private registration(id: string): unknown {
    const c = this.#connections.find((x) => x.id === id);
    if (!c) throw notFound();
    const status = c.registration ?? 'Not Registered';
    const registered = status === 'Registered';
    return {
      data: {
        record_type: 'registration_status',
        status,
        sip_username: c.user_name ?? null,
        ip_address: registered ? '198.51.100.7' : null,
        port: registered ? 5060 : null,
        transport: registered ? 'UDP' : null,
        user_agent: registered ? 'Fake Softphone 1.0' : null,
        last_registration: registered ? '2026-01-01T00:00:00' : null,
      },
    };
  }

  private createAccountCall(accountSid: string, body: unknown): unknown {
    const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    const missing = ['To', 'From', 'ApplicationSid'].filter((k) => typeof b[k] !== 'string' || b[k] === '');
    if (missing.length > 0) {
      throw new HttpError(
        422,
        missing.map((k) => error('10015', 'Invalid parameter', `${k} is required`, { pointer: `/${k}` })),
      );
    }
    const callSid = `v3:${randomUUID()}`;
    this.texmlCalls.push({ kind: 'account', accountSid, body: b, callSid });
    for (const wake of [...this.#createdWaiters]) wake();
    return { from: b.From, to: b.To, status: 'queued', call_sid: callSid };
  }

  /**
   * `POST /v2/texml/Accounts/{account_sid}/Calls/{call_sid}` (texml-calls.yml `UpdateTexmlCall`):
   * redirects a call in progress to a new `Url` (or `Texml`), or ends it (`Status=completed`);
   * 200 with the `CallResource`, 404 for a call this account does not have, 422 for a bad body
   * or a call that has already ended (UNCONFIRMED which status Telnyx gives that; Twilio's is an
   * error too, "Call is not in-progress").
   */
  private updateCall(accountSid: string, callSid: string, r: RecordedRequest): unknown {
    const change = parseCallUpdate(r);
    const outcome = this.liveCalls?.update(accountSid, callSid, change);
    if (!outcome || (!outcome.ok && outcome.reason === 'unknown')) throw notFound();
    if (!outcome.ok) {
      throw new HttpError(422, [error('10015', 'Invalid parameter', 'The call is not in progress.')]);
    }
    return toCallResource(outcome.call, change.kind === 'hangup' ? 'completed' : 'in-progress');
  }

  private createConnectionCall(connectionId: string, body: unknown): unknown {
    const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    const missing = ['To', 'From'].filter((k) => typeof b[k] !== 'string' || b[k] === '');
    if (missing.length > 0) {
      throw new HttpError(
        422,
        missing.map((k) => error('10015', 'Invalid parameter', `${k} is required`, { pointer: `/${k}` })),
      );
    }
    const callSid = `v3:${randomUUID()}`;
    this.texmlCalls.push({ kind: 'connection', connectionId, body: b, callSid });
    for (const wake of [...this.#createdWaiters]) wake();
    return { call_sid: callSid, from: b.From, to: b.To, status: 'queued' };
  }
}

const UPDATE_FIELDS = new Set([
  'Status',
  'Url',
  'Method',
  'FallbackUrl',
  'FallbackMethod',
  'StatusCallback',
  'StatusCallbackMethod',
  'Texml',
]);

const invalid = (field: string, detail: string) =>
  error('10015', 'Invalid parameter', detail, { pointer: `/${field}` });
/** texml-calls.yml `call-scripting_UnprocessableEntityResponse`, example `invalid_enumerated_value`. */
const notInEnum = (field: string, values: string) =>
  error('10032', 'Invalid enumerated value', `${field} must be one of ${values}`, { pointer: `/${field}` });

/**
 * Validates an `UpdateCallRequest` (texml-calls.yml `UpdateTexmlCall`; 401 without the bearer key,
 * 404 for a call the account does not have and 422 here are the answers it lists, each a Telnyx
 * `{ errors: [...] }` document, docs/telnyx.md §4.8): the body is form-encoded (the only content
 * type the spec lists for this operation; a JSON body is refused with 422 here — UNCONFIRMED
 * whether Telnyx would accept one), keys CamelCase as the spec insists ("keys present in the
 * payload MUST BE formatted in CamelCase"); `Method` GET or POST; `Status` `completed` (the only
 * value the spec describes: "Setting the status to completed ends the call"); `Url` an absolute
 * http(s) URL. A body asking nothing (no `Url`, `Texml` nor `Status`) is refused: there is no
 * call to update to (UNCONFIRMED: the spec marks no field required).
 */
function parseCallUpdate(r: RecordedRequest): CallUpdate {
  const form = /^application\/x-www-form-urlencoded\b/i.test(r.headers['content-type'] ?? '');
  if (!form) {
    throw new HttpError(422, [
      error('10015', 'Invalid parameter', 'The body must be application/x-www-form-urlencoded.'),
    ]);
  }
  const b = (r.body ?? {}) as Record<string, string>;
  const errors: Array<Record<string, unknown>> = [];
  for (const key of Object.keys(b)) {
    if (!UPDATE_FIELDS.has(key)) errors.push(invalid(key, `${key} is not a parameter of Update call`));
  }
  for (const key of ['Method', 'FallbackMethod', 'StatusCallbackMethod']) {
    if (b[key] !== undefined && b[key] !== 'GET' && b[key] !== 'POST') {
      errors.push(notInEnum(key, 'GET, POST'));
    }
  }
  if (b.Status !== undefined && b.Status !== 'completed') {
    // The spec's own example of this answer: "Status must be one of completed".
    errors.push(notInEnum('Status', 'completed'));
  }
  for (const key of ['Url', 'FallbackUrl', 'StatusCallback']) {
    if (b[key] !== undefined && !/^https?:\/\/[^\s]+$/i.test(b[key])) {
      errors.push(invalid(key, `${key} must be an absolute http(s) URL`));
    }
  }
  if (b.Url === undefined && b.Texml === undefined && b.Status === undefined) {
    errors.push(invalid('Url', 'One of Url, Texml or Status is required'));
  }
  if (errors.length > 0) throw new HttpError(422, errors);
  if (b.Status === 'completed') return { kind: 'hangup' };
  if (b.Texml !== undefined) return { kind: 'texml', texml: b.Texml };
  return { kind: 'url', url: b.Url as string, method: (b.Method as 'GET' | 'POST' | undefined) ?? 'POST' };
}

const rfc2822 = (ms: number): string => new Date(ms).toUTCString().replace('GMT', '+0000');

/** A call as `CallResource` (texml-calls.yml): unwrapped, snake_case, RFC 2822 dates. */
function toCallResource(c: LiveCallInfo, status: string): Record<string, unknown> {
  const now = Date.now();
  return {
    account_sid: c.accountSid,
    sid: c.callSid,
    from: c.from,
    to: c.to,
    direction: c.direction,
    status,
    date_created: rfc2822(c.startedAt),
    date_updated: rfc2822(now),
    start_time: rfc2822(c.startedAt),
    ...(c.endedAt !== undefined && {
      end_time: rfc2822(c.endedAt),
      duration: String(Math.max(0, Math.round((c.endedAt - c.startedAt) / 1000))),
    }),
    uri: `/v2/texml/Accounts/${c.accountSid}/Calls/${c.callSid}.json`,
  };
}

function toApiConnection(c: FakeConnection & { created_at: string }): Record<string, unknown> {
  const out: Record<string, unknown> = {
    record_type: 'credential_connection',
    created_at: c.created_at,
    updated_at: c.created_at,
    sip_uri_calling_preference: c.sip_uri_calling_preference ?? 'disabled',
    webhook_api_version: '1',
    tags: [],
  };
  if (c.id !== undefined) out.id = c.id;
  if (c.connection_name !== undefined) out.connection_name = c.connection_name;
  if (c.user_name !== undefined) out.user_name = c.user_name;
  out.active = c.active ?? true;
  out.outbound = {
    outbound_voice_profile_id: c.outbound_voice_profile_id ?? null,
    channel_limit: null,
    localization: 'US',
  };
  return out;
}

function intParam(q: URLSearchParams, name: string, fallback: number): number {
  const v = q.get(name);
  if (v === null) return fallback;
  if (!/^-?\d+$/.test(v)) throw badRequest(`${name} must be an integer`, name);
  return Number(v);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

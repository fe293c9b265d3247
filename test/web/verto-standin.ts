import type { Page, WebSocketRoute } from 'playwright-core';
import type { FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';

/**
 * A local stand-in for Telnyx's WebRTC signalling server (wss://rtc.telnyx.com), for the real
 * @telnyx/webrtc SDK running in a page. Playwright's `page.routeWebSocket` answers the SDK's own
 * WebSocket to its production host, so the page and the SDK run unchanged (no test-only host)
 * and nothing reaches Telnyx.
 *
 * The protocol is the SDK's JSON-RPC 2.0 "Verto" dialect, as @telnyx/webrtc 2.27.10 speaks it
 * (node_modules/@telnyx/webrtc/lib/bundle.mjs; source in https://github.com/team-telnyx/webrtc,
 * packages/js/src/Modules/Verto/): services/Connection.ts (socket, `wss://rtc.telnyx.com` unless
 * the `host`/`env`/`region` options say otherwise), messages/verto/Login.ts (`login` with
 * `login_token`), webrtc/VertoHandler.ts (what the server sends: `telnyx_rtc.clientReady`,
 * `telnyx_rtc.invite`, `telnyx_rtc.bye`, the REGED gateway state) and webrtc/BaseCall.ts (what a
 * call sends: `telnyx_rtc.answer` with the SDP answer, `telnyx_rtc.modify` `hold`/`unhold`
 * answered with `holdState`, `telnyx_rtc.bye` with `cause`/`causeCode`). The handshake is the one
 * Telnyx documents for the SDK: login → `logged in` result with `sessid` →
 * `telnyx_rtc.clientReady` → `telnyx_rtc.gatewayState` → a REGED result, which fires
 * `telnyx.ready`.
 *
 * Login succeeds only with a token the fake Telnyx API minted (`POST
 * /v2/telephony_credentials/{id}/token`), not expired, for a credential that is not; the session
 * is that credential's SIP user, as a JWT login is on Telnyx
 * (https://developers.telnyx.com/docs/development/webrtc/auth/jwt). A refused login gets a
 * JSON-RPC error, which the SDK reports as its LOGIN_FAILED error ("Authentication failed"); the
 * code is -32001 because -32000 is the one the SDK reads as "authentication required" and answers
 * by logging in again (BaseSession.ts, `authenticationRequiredErrorCode`). Telnyx's exact error
 * body for a bad token is not documented; the test relies only on it being an error.
 */

export interface VertoMessage {
  jsonrpc?: string;
  id?: string | number;
  method?: string;
  params?: Record<string, unknown>;
  result?: unknown;
  error?: unknown;
}

export class VertoStandIn {
  /** The URLs the SDK opened. */
  readonly urls: string[] = [];
  /** Every message the SDK sent, in order. */
  readonly received: VertoMessage[] = [];
  /** The SIP user of the logged-in session (the token's credential), once logged in. */
  sipUser: string | undefined;
  /** How many of the SDK's sockets the page closed. */
  closed = 0;
  /** The gateway state reported after login: REGED fires `telnyx.ready`; e.g. TRYING does not. */
  gatewayState = 'REGED';
  #socket: WebSocketRoute | undefined;
  #sessid: string | undefined;
  #nextId = 1;
  #waiters: Array<{ match: (m: VertoMessage) => boolean; resolve: (m: VertoMessage) => void }> = [];

  constructor(private readonly telnyx: FakeTelnyxApi) {}

  /** Answers the page's WebSocket to Telnyx's production signalling host. */
  async attach(page: Page): Promise<void> {
    await page.routeWebSocket(/^wss:\/\/rtc\.telnyx\.com\//, (ws) => {
      this.urls.push(ws.url());
      this.#socket = ws;
      ws.onMessage((data) => this.#onMessage(ws, String(data)));
      ws.onClose(() => {
        this.closed += 1;
      });
    });
  }

  /** SDK requests with this method, in order. */
  requests(method: string): VertoMessage[] {
    return this.received.filter((m) => m.method === method);
  }

  /** The next message (from now) the SDK sends that matches; rejects after `timeoutMs`. */
  next(match: string | ((m: VertoMessage) => boolean), timeoutMs = 10_000): Promise<VertoMessage> {
    const test = typeof match === 'string' ? (m: VertoMessage) => m.method === match : match;
    return new Promise((resolve, reject) => {
      const waiter = { match: test, resolve };
      this.#waiters.push(waiter);
      setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`the SDK sent no ${typeof match === 'string' ? match : 'such message'}`));
      }, timeoutMs).unref();
    });
  }

  /** Telnyx offers a call to the logged-in SIP user (`telnyx_rtc.invite`, with the caller's SDP). */
  invite(call: { callID: string; sdp: string; from: string; fromName?: string }): void {
    this.#send({
      id: this.#nextId++,
      method: 'telnyx_rtc.invite',
      params: {
        callID: call.callID,
        sdp: call.sdp,
        caller_id_name: call.fromName ?? call.from,
        caller_id_number: call.from,
        callee_id_name: 'Outbound Call',
        callee_id_number: this.sipUser,
        display_direction: 'outbound',
      },
    });
  }

  /** The far end hangs up (`telnyx_rtc.bye`). */
  bye(callID: string): void {
    this.#send({
      id: this.#nextId++,
      method: 'telnyx_rtc.bye',
      params: { callID, sessid: this.#sessid, cause: 'NORMAL_CLEARING', causeCode: 16 },
    });
  }

  #send(m: VertoMessage): void {
    void this.#socket?.send(JSON.stringify({ jsonrpc: '2.0', ...m }));
  }

  #onMessage(ws: WebSocketRoute, text: string): void {
    const m = JSON.parse(text) as VertoMessage;
    this.received.push(m);
    for (const w of this.#waiters.filter((w) => w.match(m))) {
      this.#waiters = this.#waiters.filter((x) => x !== w);
      w.resolve(m);
    }
    if (ws !== this.#socket || m.method === undefined) return; // a stale socket, or an ack of ours
    this.#send({ id: m.id, ...this.#respond(m.method, m.params ?? {}) });
    if (m.method === 'login' && this.sipUser)
      this.#send({
        id: this.#nextId++,
        method: 'telnyx_rtc.clientReady',
        params: { reattached_sessions: [] },
      });
  }

  /** What Telnyx answers to a request of the SDK. */
  #respond(method: string, params: Record<string, unknown>): Pick<VertoMessage, 'result' | 'error'> {
    if (method === 'login') {
      this.sipUser = this.#authenticate(params.login_token);
      if (!this.sipUser) return { error: { code: -32001, message: 'Authentication Failure' } };
      this.#sessid = crypto.randomUUID();
      return { result: { message: 'logged in', sessid: this.#sessid } };
    }
    if (!this.sipUser) return { error: { code: -32000, message: 'Authentication Required' } };
    const sessid = this.#sessid;
    const callID = (params.dialogParams as { callID?: unknown } | undefined)?.callID;
    switch (method) {
      case 'telnyx_rtc.gatewayState':
        return { result: { params: { state: this.gatewayState }, sessid } };
      case 'telnyx_rtc.answer':
      case 'telnyx_rtc.bye':
        return { result: { callID, sessid } };
      case 'telnyx_rtc.modify':
        return {
          result: {
            callID,
            action: params.action,
            holdState: params.action === 'hold' ? 'held' : 'active',
            sessid,
          },
        };
      default: // telnyx_rtc.ping and anything else: an empty result
        return { result: {} };
    }
  }

  /** The SIP user a minted, unexpired token logs in as; undefined for any other token. */
  #authenticate(token: unknown): string | undefined {
    const minted = this.telnyx.tokens.find((t) => t.token === token);
    if (!minted || typeof token !== 'string') return undefined;
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
      exp?: number;
    };
    if (!claims.exp || claims.exp * 1000 <= Date.now()) return undefined;
    const cred = this.telnyx.telephonyCredentials().find((c) => c.id === minted.credentialId);
    return cred && !cred.expired ? cred.sip_username : undefined;
  }
}

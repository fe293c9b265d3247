import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP server playing a Slack incoming webhook (https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks): answers `200 ok`, or
 * whatever the test scripted next (429 + `Retry-After`, 500 `rollup_error`, 400 `invalid_blocks`,
 * 404 `no_service`, or a dropped socket). Like Slack, it refuses a body that is not JSON with a
 * `text`, or whose blocks break Block Kit limits, with 400 `invalid_blocks`/`invalid_payload`,
 * and answers 404 `no_service` on any path other than the webhook's.
 */

export type ScriptedResponse =
  | { status: number; body?: string; retryAfter?: string /** answer this much later */; delayMs?: number }
  /** Destroys the socket without answering: a network error for the client. */
  | { hangUp: true }
  /** Never answers (until the server closes): a timeout for the client. */
  | { stall: true };

export interface ReceivedRequest {
  /** Parsed JSON body, or undefined if it was not JSON. */
  body: unknown;
  raw: string;
  contentType: string | undefined;
  /** `performance.now()` when the request was fully received. */
  receivedAt: number;
  /** The status answered (0 for hang-up/stall). */
  status: number;
  /** The body answered ('' for hang-up/stall). */
  response: string;
}

export const ok = (): ScriptedResponse => ({ status: 200, body: 'ok' });
export const rateLimited = (retryAfter?: string): ScriptedResponse => ({
  status: 429,
  body: 'rate_limited',
  ...(retryAfter === undefined ? {} : { retryAfter }),
});
export const serverError = (): ScriptedResponse => ({ status: 500, body: 'rollup_error' });
export const invalidBlocks = (): ScriptedResponse => ({ status: 400, body: 'invalid_blocks' });
export const noService = (): ScriptedResponse => ({ status: 404, body: 'no_service' });
export const hangUp = (): ScriptedResponse => ({ hangUp: true });
export const stall = (): ScriptedResponse => ({ stall: true });

export interface FakeSlack {
  /** The webhook URL to post to. */
  url: string;
  /** Every request received, in order. */
  requests: ReceivedRequest[];
  /** Bodies Slack accepted (answered 200 ok), in order. */
  accepted(): Array<{ text: string; blocks?: unknown[] }>;
  /** Queues responses for the next requests; when the queue is empty, `fallback` answers. */
  respond(...responses: ScriptedResponse[]): void;
  /** The answer when nothing is queued (default `ok()`). */
  setFallback(response: ScriptedResponse): void;
  /** Resolves when `count` requests were accepted (rejects after `timeoutMs`). */
  waitForAccepted(count: number, timeoutMs?: number): Promise<void>;
  /** Resolves when `count` requests were received, whatever the answer. */
  waitForRequests(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const WEBHOOK_PATH = '/services/TFAKE0001/BFAKE0001/fakeSecretToken0001';

/** Why Slack would refuse this body, or undefined if it would take it. */
function validate(
  raw: string,
  contentType: string | undefined,
): { status: number; error: string } | undefined {
  if (!contentType?.toLowerCase().startsWith('application/json'))
    return { status: 400, error: 'invalid_payload' };
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return { status: 400, error: 'invalid_payload' };
  }
  if (!body || typeof body !== 'object') return { status: 400, error: 'invalid_payload' };
  const { text, blocks } = body as { text?: unknown; blocks?: unknown };
  if (typeof text !== 'string' || text.length === 0) return { status: 400, error: 'no_text' };
  if (blocks === undefined) return undefined;
  if (!Array.isArray(blocks) || blocks.length > 50) return { status: 400, error: 'invalid_blocks' };
  for (const block of blocks as Array<Record<string, unknown>>) {
    if (!block || typeof block !== 'object' || typeof block.type !== 'string') {
      return { status: 400, error: 'invalid_blocks' };
    }
    const textObject = block.text as { text?: unknown } | undefined;
    if (block.type === 'section') {
      const fields = block.fields as Array<{ text?: unknown }> | undefined;
      if (textObject === undefined && fields === undefined) return { status: 400, error: 'invalid_blocks' };
      if (textObject !== undefined && !validText(textObject.text, 3000))
        return { status: 400, error: 'invalid_blocks' };
      if (fields !== undefined) {
        if (!Array.isArray(fields) || fields.length > 10) return { status: 400, error: 'invalid_blocks' };
        if (!fields.every((f) => validText(f?.text, 2000))) return { status: 400, error: 'invalid_blocks' };
      }
    }
    if (block.type === 'header' && !validText(textObject?.text, 150))
      return { status: 400, error: 'invalid_blocks' };
    if (block.type === 'context') {
      const elements = block.elements as unknown[] | undefined;
      if (!Array.isArray(elements) || elements.length === 0 || elements.length > 10) {
        return { status: 400, error: 'invalid_blocks' };
      }
    }
  }
  return undefined;
}

const validText = (value: unknown, max: number): boolean =>
  typeof value === 'string' && value.length >= 1 && value.length <= max;

/** Starts the fake on 127.0.0.1 with an OS-chosen port. */
export async function startFakeSlack(): Promise<FakeSlack> {
  const requests: ReceivedRequest[] = [];
  const queue: ScriptedResponse[] = [];
  let fallback: ScriptedResponse = ok();
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of waiters) waiter();
  };

  const answer = (
    res: ServerResponse,
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ) => {
    res.writeHead(status, { 'content-type': 'text/html', ...headers });
    res.end(body);
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const contentType = req.headers['content-type'];
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
      const record: ReceivedRequest = {
        body,
        raw,
        contentType,
        receivedAt: performance.now(),
        status: 0,
        response: '',
      };
      requests.push(record);

      if (req.method !== 'POST' || req.url !== WEBHOOK_PATH) {
        record.status = 404;
        record.response = 'no_service';
        answer(res, 404, 'no_service');
      } else {
        const invalid = validate(raw, contentType);
        if (invalid) {
          record.status = invalid.status;
          record.response = invalid.error;
          answer(res, invalid.status, invalid.error);
        } else {
          const scripted = queue.shift() ?? fallback;
          if ('hangUp' in scripted) {
            req.socket.destroy();
          } else if ('stall' in scripted) {
            // leave it hanging; the client's timeout fires
          } else {
            const send = () => {
              record.status = scripted.status;
              record.response = scripted.body ?? '';
              answer(
                res,
                scripted.status,
                scripted.body ?? '',
                scripted.retryAfter === undefined ? {} : { 'retry-after': scripted.retryAfter },
              );
              notify();
            };
            if (scripted.delayMs) setTimeout(send, scripted.delayMs);
            else send();
            return;
          }
        }
      }
      notify();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  const waitFor = (done: () => boolean, what: string, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      if (done()) return resolve();
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`fake Slack: timed out waiting for ${what} (got ${requests.length} requests)`));
      }, timeoutMs);
      waiters.add(check);
    });

  const accepted = () =>
    requests
      .filter((r) => r.status === 200 && r.response === 'ok')
      .map((r) => r.body as { text: string; blocks?: unknown[] });

  return {
    url: `http://127.0.0.1:${port}${WEBHOOK_PATH}`,
    requests,
    accepted,
    respond: (...responses) => {
      queue.push(...responses);
    },
    setFallback: (response) => {
      fallback = response;
    },
    waitForAccepted: (count, timeoutMs = 10_000) =>
      waitFor(() => accepted().length >= count, `${count} accepted messages`, timeoutMs),
    waitForRequests: (count, timeoutMs = 10_000) =>
      waitFor(() => requests.length >= count, `${count} requests`, timeoutMs),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

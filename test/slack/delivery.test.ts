import { createServer } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backoffDelayMs, type DeliveryResult } from '../../src/alerts/sink.js';
import { classifyResponse, parseRetryAfter, postToSlack } from '../../src/slack/delivery.js';
import { buildSlackMessage } from '../../src/slack/messages.js';
import { allSampleAlerts } from '../alerts/sample-alerts.js';
import { hangUp, invalidBlocks, noService, rateLimited, serverError, stall } from '../fakes/slack-server.js';
import { useFakeSlack } from '../support/fake-slack.js';

describe('parseRetryAfter', () => {
  const now = () => Date.parse('2024-01-01T00:00:00Z');
  it.each([
    ['30', 30_000],
    [' 1 ', 1_000],
    ['0', 0],
    ['1.5', 1_500],
    [undefined, 1_000],
    ['', 1_000],
    ['soon', 1_000],
    ['-5', 1_000],
    ['99999999', 3_600_000],
    ['Mon, 01 Jan 2024 00:00:10 GMT', 10_000],
    ['Sun, 31 Dec 2023 23:00:00 GMT', 0],
  ])('%j → %d ms', (header, expected) => {
    expect(parseRetryAfter(header, now)).toBe(expected);
  });
  it('takes the first of repeated headers', () => {
    expect(parseRetryAfter(['3', '9'])).toBe(3_000);
  });
});

describe('backoffDelayMs', () => {
  const opts = { baseMs: 1_000, capMs: 60_000 };
  it('doubles from the base up to the cap, with jitter in the upper half', () => {
    expect(backoffDelayMs(1, opts, () => 0)).toBe(500);
    expect(backoffDelayMs(1, opts, () => 1)).toBe(1_000);
    expect(backoffDelayMs(2, opts, () => 1)).toBe(2_000);
    expect(backoffDelayMs(4, opts, () => 1)).toBe(8_000);
    expect(backoffDelayMs(7, opts, () => 1)).toBe(60_000);
    expect(backoffDelayMs(100, opts, () => 0)).toBe(30_000);
  });
});

describe('classifyResponse', () => {
  it.each<[number, string, string | undefined, DeliveryResult]>([
    [200, 'ok', undefined, { outcome: 'delivered' }],
    [200, 'ok\n', undefined, { outcome: 'delivered' }],
    [
      200,
      'invalid_token',
      undefined,
      { outcome: 'rejected', status: 200, reason: 'unexpected_response: invalid_token' },
    ],
    [204, '', undefined, { outcome: 'rejected', status: 204, reason: 'unexpected_response: http_204' }],
    [
      429,
      'rate_limited',
      '7',
      { outcome: 'retry', status: 429, reason: 'rate_limited', retryAfterMs: 7_000 },
    ],
    [500, 'rollup_error', undefined, { outcome: 'retry', status: 500, reason: 'rollup_error' }],
    [503, '', undefined, { outcome: 'retry', status: 503, reason: 'http_503' }],
    [400, 'invalid_blocks', undefined, { outcome: 'rejected', status: 400, reason: 'invalid_blocks' }],
    [403, 'invalid_token', undefined, { outcome: 'rejected', status: 403, reason: 'invalid_token' }],
    [404, 'no_service', undefined, { outcome: 'rejected', status: 404, reason: 'no_service' }],
    [
      410,
      'channel_is_archived',
      undefined,
      { outcome: 'rejected', status: 410, reason: 'channel_is_archived' },
    ],
    [302, '', undefined, { outcome: 'rejected', status: 302, reason: 'http_302' }],
  ])('%d %j', (status, body, retryAfter, expected) => {
    expect(classifyResponse(status, body, retryAfter)).toEqual(expected);
  });
});

describe('postToSlack against a fake Slack webhook', () => {
  const slack = useFakeSlack();
  let dispatcher: Agent;
  const message = buildSlackMessage(allSampleAlerts()[0]!);

  beforeAll(() => {
    dispatcher = new Agent({ keepAliveTimeout: 1_000 });
  });
  afterAll(async () => {
    await dispatcher.close();
  });
  const post = (payload: unknown = message, timeoutMs = 2_000) =>
    postToSlack(slack.url, payload, { dispatcher, timeoutMs });

  it('200 ok is delivered, as JSON with text and blocks', async () => {
    expect(await post()).toEqual({ outcome: 'delivered' });
    expect(slack.requests).toHaveLength(1);
    expect(slack.requests[0]!.contentType).toMatch(/^application\/json/);
    expect(slack.requests[0]!.body).toEqual(JSON.parse(JSON.stringify(message)));
  });

  it('every alert type builds a message the webhook accepts', async () => {
    for (const alert of allSampleAlerts()) {
      expect(await post(buildSlackMessage(alert)), alert.type).toEqual({ outcome: 'delivered' });
    }
    expect(slack.accepted()).toHaveLength(allSampleAlerts().length);
  });

  it('200 with a body other than ok is not success', async () => {
    slack.respond({ status: 200, body: 'accepted maybe' });
    expect(await post()).toMatchObject({ outcome: 'rejected', status: 200 });
  });

  it('429 is retried after Retry-After, 1 s when the header is missing', async () => {
    slack.respond(rateLimited('3'), rateLimited());
    expect(await post()).toEqual({
      outcome: 'retry',
      status: 429,
      reason: 'rate_limited',
      retryAfterMs: 3_000,
    });
    expect(await post()).toEqual({
      outcome: 'retry',
      status: 429,
      reason: 'rate_limited',
      retryAfterMs: 1_000,
    });
  });

  it('500 rollup_error is retried', async () => {
    slack.respond(serverError());
    expect(await post()).toEqual({ outcome: 'retry', status: 500, reason: 'rollup_error' });
  });

  it('400 invalid_blocks and 404 no_service are permanent, keeping Slack’s error string', async () => {
    slack.respond(invalidBlocks(), noService());
    expect(await post()).toEqual({ outcome: 'rejected', status: 400, reason: 'invalid_blocks' });
    expect(await post()).toEqual({ outcome: 'rejected', status: 404, reason: 'no_service' });
  });

  it('a payload breaking Block Kit limits is refused like Slack does', async () => {
    const tooMany = { text: 'x', blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) };
    expect(await post(tooMany)).toEqual({ outcome: 'rejected', status: 400, reason: 'invalid_blocks' });
    const tooLong = {
      text: 'x',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'a'.repeat(3001) } }],
    };
    expect(await post(tooLong)).toEqual({ outcome: 'rejected', status: 400, reason: 'invalid_blocks' });
  });

  it('a hung-up socket, a timeout and a refused connection are retried, without the URL in the reason', async () => {
    slack.respond(hangUp());
    const hung = await post();
    expect(hung).toEqual({ outcome: 'retry', reason: 'UND_ERR_SOCKET' });

    slack.respond(stall());
    expect(await post(message, 200)).toEqual({ outcome: 'retry', reason: 'timeout' });

    const closedPort = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as { port: number };
        srv.close(() => resolve(port));
      });
    });
    const secretUrl = `http://127.0.0.1:${closedPort}/services/T1/B1/secretToken`;
    const refused = await postToSlack(secretUrl, message, { dispatcher, timeoutMs: 2_000 });
    expect(refused).toEqual({ outcome: 'retry', reason: 'ECONNREFUSED' });

    for (const result of [hung, refused]) {
      expect(JSON.stringify(result)).not.toMatch(/secret|services|127\.0\.0\.1/i);
    }
  });
});

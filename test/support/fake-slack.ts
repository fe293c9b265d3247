import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { type FakeSlack, startFakeSlack } from '../fakes/slack-server.js';

export interface FakeSlackOptions {
  /**
   * `each` (default): a new fake for each test, started before it and closed after it. `all`: one
   * fake for all the tests of the enclosing `describe` (or file), for suites that start one app
   * in `beforeAll`; its requests then accumulate across those tests.
   */
  scope?: 'each' | 'all';
}

/**
 * One fake Slack webhook per test (or per suite, see {@link FakeSlackOptions}). Call it inside
 * the `describe` (or at file level) whose tests post to Slack, before registering hooks that must
 * run while Slack is still up (after-hooks run in reverse order of registration).
 *
 * The returned object always stands for the fake of the moment, so it can be captured once:
 * `const slack = useFakeSlack();` then `slack.url`, `slack.requests`, `slack.respond(...)`.
 */
export function useFakeSlack(options: FakeSlackOptions = {}): FakeSlack {
  let current: FakeSlack | undefined;
  const live = (): FakeSlack => {
    if (!current) throw new Error('the fake Slack runs only inside the tests of its suite (useFakeSlack)');
    return current;
  };
  const start = async () => {
    current = await startFakeSlack();
  };
  const stop = async () => {
    const slack = current;
    current = undefined;
    await slack?.close();
  };
  if (options.scope === 'all') {
    beforeAll(start);
    afterAll(stop);
  } else {
    beforeEach(start);
    afterEach(stop);
  }
  return {
    get url() {
      return live().url;
    },
    get requests() {
      return live().requests;
    },
    accepted: () => live().accepted(),
    respond: (...responses) => live().respond(...responses),
    setFallback: (response) => live().setFallback(response),
    waitForAccepted: (count, timeoutMs) => live().waitForAccepted(count, timeoutMs),
    waitForRequests: (count, timeoutMs) => live().waitForRequests(count, timeoutMs),
    close: () => live().close(),
  };
}

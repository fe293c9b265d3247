import { afterEach, beforeEach } from 'vitest';
import { type FakeSlack, startFakeSlack } from '../fakes/slack-server.js';

/**
 * One fake Slack webhook per test: started before each test and closed after it. Call it inside
 * the `describe` (or at file level) whose tests post to Slack, before registering hooks that must
 * run while Slack is still up (after-hooks run in reverse order of registration).
 *
 * The returned object always stands for the current test's fake, so it can be captured once:
 * `const slack = useFakeSlack();` then `slack.url`, `slack.requests`, `slack.respond(...)`.
 */
export function useFakeSlack(): FakeSlack {
  let current: FakeSlack | undefined;
  const live = (): FakeSlack => {
    if (!current) throw new Error('the fake Slack runs only inside a test (useFakeSlack)');
    return current;
  };
  beforeEach(async () => {
    current = await startFakeSlack();
  });
  afterEach(async () => {
    const slack = current;
    current = undefined;
    await slack?.close();
  });
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

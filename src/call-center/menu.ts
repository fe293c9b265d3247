import { escapeXml } from '../texml/xml-escape.js';
import type { CallCenterConfig, MenuConfig, Prompt } from './call-center-file.js';
import { type PromptContext, promptVerb } from './prompts.js';

/**
 * The menu (docs/interface.md §9): "for sales press 1, for support press 2", as a TeXML
 * `<Gather>` of one DTMF key, and the decision taken on the key the caller pressed.
 *
 * Attributes used are those Telnyx documents for `<Gather>`
 * (https://developers.telnyx.com/docs/voice/programmable-voice/texml-verbs/gather): `action`,
 * `input`, `timeout`, and `numDigits` (listed in Telnyx's TeXML skills reference, not on the
 * official page: UNCONFIRMED, see docs/telnyx.md; without it Telnyx waits `timeout` seconds after
 * the key, which only slows the menu down, and `menuChoice` reads the first key either way).
 * The action request uses the TeXML application's method (POST; Gather has no `method`).
 *
 * Whether Telnyx requests `action` when nobody presses a key is UNCONFIRMED (docs/telnyx.md;
 * Twilio goes on with the next verb). So the `<Gather>` is followed by a `<Redirect>` to the same
 * URL: either way the server is asked again, with no `Digits`, and decides "timeout".
 */

export type MenuDecision =
  /** A valid key: join this queue. */
  | { queue: string }
  /** No key or a wrong key, retries left: play the menu again as attempt `repeat`. */
  | { repeat: number; reason: 'timeout' | 'invalid' }
  /** No key or a wrong key on the last attempt: join the default queue. */
  | { queue: string; reason: 'timeout' | 'invalid' };

/**
 * What to do after menu attempt `attempt` (1 = the first time it was played) heard `digits`
 * (Telnyx's `Digits`; undefined or empty when nobody pressed a key). A caller gets the menu
 * `1 + menu.retries` times before `defaultQueue`.
 */
export function menuChoice(
  menu: MenuConfig,
  digits: string | undefined,
  attempt: number,
  defaultQueue: string,
): MenuDecision {
  const key = (digits ?? '').trim().charAt(0);
  const option = key ? menu.options.find((o) => o.digit === key) : undefined;
  if (option) return { queue: option.queue };
  const reason = key ? 'invalid' : 'timeout';
  if (attempt <= menu.retries) return { repeat: attempt + 1, reason };
  return { queue: defaultQueue, reason };
}

/** The words of an option without a prompt of its own: "For sales, press 1." */
export function defaultOptionPrompt(queue: string, digit: string): Prompt {
  const spoken = digit === '*' ? 'star' : digit === '#' ? 'pound' : digit;
  return { say: `For ${queue.replace(/[-_]+/g, ' ')}, press ${spoken}.` };
}

export interface MenuRenderOptions extends PromptContext {
  /** Absolute URL the `<Gather>` reports to (and the `<Redirect>` falls back to). */
  action: string;
  /** The previous attempt was a wrong key: say so before the menu. */
  afterInvalid?: boolean;
}

/**
 * The menu as a whole TeXML document: the intro prompt, each option's prompt (the option's own,
 * else the queue's `menuOption` prompt, else "For <queue>, press <key>."), inside one
 * `<Gather input="dtmf" numDigits="1">`, then a `<Redirect>` for the no-input case.
 */
export function renderMenuTexml(config: CallCenterConfig, opts: MenuRenderOptions): string {
  const menu = config.menu;
  if (!menu) throw new Error('renderMenuTexml: the call-center file has no menu');
  const lines: string[] = [];
  if (opts.afterInvalid) lines.push(`  ${promptVerb(menu.invalid, opts)}`);
  const inner: string[] = [];
  if (menu.prompt) inner.push(promptVerb(menu.prompt, opts));
  // With one intro prompt written as plain text that names every option, the options' default
  // sentences would repeat it: they are spoken only without an intro, or when set explicitly.
  for (const o of menu.options) {
    const own = o.prompt ?? config.queues.get(o.queue)?.prompts.menuOption;
    if (own) inner.push(promptVerb(own, opts));
    else if (!menu.prompt) inner.push(promptVerb(defaultOptionPrompt(o.queue, o.digit), opts));
  }
  const action = escapeXml(opts.action);
  lines.push(`  <Gather input="dtmf" numDigits="1" timeout="${menu.timeoutSeconds}" action="${action}">`);
  for (const verb of inner) lines.push(`    ${verb}`);
  lines.push('  </Gather>');
  lines.push(`  <Redirect method="POST">${action}</Redirect>`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n${lines.join('\n')}\n</Response>\n`;
}

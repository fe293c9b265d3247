import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { escapeXml } from '../texml/xml-escape.js';
import { DEFAULT_PROMPTS, type Prompt, type QueueConfig } from './call-center-file.js';
import type { HoursReason } from './opening-hours.js';

/**
 * Prompts as TeXML (docs/interface.md §7, §9): a `<Play>` of the MP3 when there is one, else
 * `<Say>` with the prompt's text. `<Play continueOnError="true">` keeps the call going if the MP3
 * cannot be fetched (without it a playback failure aborts the TeXML script:
 * https://developers.telnyx.com/docs/voice/programmable-voice/texml-verbs/play).
 */

export interface PromptContext {
  /** Public base URL, without a trailing slash (`PUBLIC_URL` or the request's host). */
  base: string;
  /**
   * Whether `audio/<name>.mp3` is served (AUDIO_DIR): a prompt whose MP3 is missing is spoken
   * with `<Say>` instead of a `<Play>` that would play nothing. Default: every name is there.
   */
  hasAudio?: (name: string) => boolean;
}

/** The URL a prompt's MP3 is fetched from, or undefined when it has none (or it is missing). */
export function promptUrl(prompt: Prompt, ctx: PromptContext): string | undefined {
  if (!prompt.play) return undefined;
  if (/^https:\/\//i.test(prompt.play)) return prompt.play;
  if (ctx.hasAudio && !ctx.hasAudio(prompt.play)) return undefined;
  return `${ctx.base.replace(/\/+$/, '')}/audio/${encodeURIComponent(prompt.play)}.mp3`;
}

/** One prompt as one TeXML verb (`<Play>` or `<Say>`), every value escaped. */
export function promptVerb(prompt: Prompt, ctx: PromptContext): string {
  const url = promptUrl(prompt, ctx);
  return url
    ? `<Play continueOnError="true">${escapeXml(url)}</Play>`
    : `<Say>${escapeXml(prompt.say)}</Say>`;
}

/** Positions and minutes that have their own MP3s (audio/queue-position-N.mp3, queue-wait-N.mp3). */
export const ANNOUNCED_POSITIONS = 10;
export const ANNOUNCED_MINUTES = 15;

/**
 * The position and wait announcement heard every `announceSeconds` in line: "You are number 3 in
 * line." then "Your wait is about 2 minutes." (or "less than a minute", or "more than 15
 * minutes"). `estimatedWaitSeconds` undefined: no estimate yet (no recent answers), position only.
 */
export function positionAnnouncement(position: number, estimatedWaitSeconds?: number): Prompt[] {
  const out: Prompt[] = [];
  const n = Math.max(1, Math.floor(position));
  out.push(
    n === 1
      ? { play: 'queue-position-1', say: 'You are next in line.' }
      : n <= ANNOUNCED_POSITIONS
        ? { play: `queue-position-${n}`, say: `You are number ${n} in line.` }
        : { play: 'queue-position-many', say: 'There are many callers ahead of you.' },
  );
  if (estimatedWaitSeconds !== undefined && Number.isFinite(estimatedWaitSeconds)) {
    const minutes = Math.round(estimatedWaitSeconds / 60);
    out.push(
      minutes < 1
        ? { play: 'queue-wait-0', say: 'Your wait is less than a minute.' }
        : minutes <= ANNOUNCED_MINUTES
          ? {
              play: `queue-wait-${minutes}`,
              say: `Your wait is about ${minutes} minute${minutes === 1 ? '' : 's'}.`,
            }
          : { play: 'queue-wait-long', say: `Your wait is more than ${ANNOUNCED_MINUTES} minutes.` },
    );
  }
  return out;
}

/** Every prompt name the defaults refer to (scripts/generate-prompts.sh makes each one). */
export function announcementPromptNames(): string[] {
  const names = ['queue-position-many', 'queue-wait-0', 'queue-wait-long'];
  for (let n = 1; n <= ANNOUNCED_POSITIONS; n++) names.push(`queue-position-${n}`);
  for (let m = 1; m <= ANNOUNCED_MINUTES; m++) names.push(`queue-wait-${m}`);
  return names;
}

/** Names `GET /audio/<name>.mp3` serves (src/routes/audio.ts): flat, lower-case. */
const SERVED_NAME = /^[a-z0-9-]+$/;

/**
 * `PromptContext.hasAudio` for a folder (AUDIO_DIR): a name is there when the audio route would
 * serve `<dir>/<name>.mp3`. Each name is looked up at most once per `ttlMs`, so the call path does
 * one `stat` per prompt a minute, and a recording added to the folder is used within that time.
 */
export function audioFolder(
  dir: string,
  ttlMs = 60_000,
  now: () => number = Date.now,
): (name: string) => boolean {
  const seen = new Map<string, { at: number; present: boolean }>();
  return (name) => {
    if (!SERVED_NAME.test(name)) return false;
    const t = now();
    const hit = seen.get(name);
    if (hit && t - hit.at < ttlMs) return hit.present;
    const present = existsSync(join(dir, `${name}.mp3`));
    if (seen.size > 1_000) seen.clear();
    seen.set(name, { at: t, present });
    return present;
  };
}

/**
 * The closed prompt that fits (docs/interface.md §9): a holiday's or closure's own prompt first,
 * else the queue's prompt for the reason (`holiday`, `closure`, `closedByHand` for a manual
 * close, `closed` after hours), else the built-in one.
 */
export function closedPrompt(
  queue: QueueConfig | undefined,
  state: { reason: HoursReason; closure?: { prompt?: Prompt } },
): Prompt {
  if (state.closure?.prompt) return state.closure.prompt;
  const prompts = queue?.prompts ?? DEFAULT_PROMPTS;
  switch (state.reason) {
    case 'holiday':
      return prompts.holiday;
    case 'closure':
      return prompts.closure;
    case 'manual':
      return prompts.closedByHand;
    default:
      return prompts.closed;
  }
}

import { isMap, isPair, isScalar, LineCounter, type Node, parseDocument } from 'yaml';
import { z } from 'zod';
import { ROUTING_STRATEGIES, type RoutingStrategy } from '../config.js';
import { DAY_NAMES, parseClock, parseLocalDate, parseLocalDateTime, type WeekdayName } from './wall-time.js';

/**
 * The call-center file (docs/interface.md §9, docs/call-center-file.md): queues, opening hours,
 * holidays, closures and the menu, in one YAML file. `parseCallCenterFile` turns its text into a
 * `CallCenterConfig` or throws a `CallCenterFileError` whose problems name the line, the column
 * and the field, so an operator can fix a bad file from the log line alone.
 */

/** A prompt: an MP3 to play (a name in AUDIO_DIR or an https URL) and the words for `<Say>`. */
export interface Prompt {
  /** `closed` (→ `/audio/closed.mp3`) or an absolute `https://` URL; undefined: `<Say>` only. */
  play?: string;
  /** Spoken with `<Say>` when there is no MP3, or when it cannot be played. */
  say: string;
}

export interface QueuePrompts {
  /** Outside the weekly hours. */
  closed: Prompt;
  /** On a holiday. */
  holiday: Prompt;
  /** Closed by hand (`PUT /api/hours/override`) without a prompt of its own. */
  closedByHand: Prompt;
  /** A one-off closure without a prompt of its own. */
  closure: Prompt;
  /** The menu option that leads to this queue ("For sales, press 1."); default: built from the name. */
  menuOption?: Prompt;
  /** Heard once on joining the line. */
  welcome: Prompt;
  /** Offered after `callbackAfterSeconds`: "press 1 to be called back". */
  callbackOffer: Prompt;
}

export interface QueueConfig {
  name: string;
  /** Agent names, `tag:<tag>` entries, or `*` for every agent (see queue-agents.ts). */
  agents: string[];
  /** Undefined: ROUTING_STRATEGY. */
  strategy?: RoutingStrategy;
  /** Hold music: an audio name or an https URL. */
  holdMusic: string;
  announceSeconds: number;
  /** False: this queue never offers callbacks. */
  callbacks: boolean;
  callbackAfterSeconds: number;
  callbackAttempts: number;
  callbackRetrySeconds: number;
  maxWaitSeconds: number;
  maxWaiting: number;
  /** This queue's agents' wrap-up; undefined: WRAP_UP_SECONDS (or the agent's own override). */
  wrapUpSeconds?: number;
  prompts: QueuePrompts;
}

/** A time of day as minutes since midnight, 0–1440. */
export interface TimeRange {
  /** Minutes after local midnight, inclusive. */
  start: number;
  /** Minutes after local midnight, exclusive; `end <= start` means the range ends the next day. */
  end: number;
}

export interface Holiday {
  /** `YYYY-MM-DD` in the hours' time zone. */
  date: string;
  reason?: string;
  prompt?: Prompt;
}

export interface Closure {
  /** Local date-times in the hours' time zone, `YYYY-MM-DDTHH:MM`; the closure is [from, to). */
  from: string;
  to: string;
  reason: string;
  prompt?: Prompt;
}

export interface QueueHours {
  timeZone: string;
  /** Index 0 = Monday … 6 = Sunday (ISO order). Empty array: closed that day. */
  weekly: TimeRange[][];
  holidays: Holiday[];
  closures: Closure[];
}

export interface MenuOption {
  digit: string;
  queue: string;
  prompt?: Prompt;
}

export interface MenuConfig {
  /** Heard before the options; undefined: only the options' prompts. */
  prompt?: Prompt;
  options: MenuOption[];
  timeoutSeconds: number;
  /** How many times the menu is repeated after no input or a wrong key before `defaultQueue`. */
  retries: number;
  /** Heard before the menu is repeated after a wrong key. */
  invalid: Prompt;
}

export interface CallCenterConfig {
  timeZone: string;
  defaultQueue: string;
  /** Queues in file order. */
  queues: ReadonlyMap<string, QueueConfig>;
  /** Queues without an entry are always open. */
  hours: ReadonlyMap<string, QueueHours>;
  menu?: MenuConfig;
  /** Tag → agent names, from the file (a roster agent may carry tags of its own too). */
  tags: ReadonlyMap<string, string[]>;
  /** Where it came from: a path, or `built-in` without a file. */
  source: string;
  /** sha256 of the file's bytes (`built-in` without a file). */
  hash: string;
}

// ---- defaults (docs/interface.md §7) ----

export const QUEUE_DEFAULTS = {
  holdMusic: 'hold-music',
  announceSeconds: 30,
  callbacks: true,
  callbackAfterSeconds: 60,
  callbackAttempts: 3,
  callbackRetrySeconds: 300,
  maxWaitSeconds: 600,
  maxWaiting: 50,
} as const;

export const MENU_DEFAULTS = { timeoutSeconds: 5, retries: 2 } as const;

/** The prompts every queue has unless the file replaces them (MP3s in audio/, made by scripts/generate-prompts.sh). */
export const DEFAULT_PROMPTS: Readonly<Omit<QueuePrompts, 'menuOption'>> = {
  closed: {
    play: 'closed',
    say: 'Thanks for calling. We are closed right now. Please leave a message after the tone, and we will call you back.',
  },
  holiday: {
    play: 'holiday',
    say: 'Thanks for calling. We are closed today for a holiday. Please leave a message after the tone, and we will call you back.',
  },
  closedByHand: {
    play: 'closed-now',
    say: 'Thanks for calling. We cannot take calls at the moment. Please leave a message after the tone, and we will call you back.',
  },
  closure: {
    play: 'closure',
    say: 'Thanks for calling. We are closed at the moment. Please leave a message after the tone, and we will call you back.',
  },
  welcome: {
    play: 'queue-welcome',
    say: 'All our agents are busy. Please stay on the line: you will be connected to the next free agent.',
  },
  callbackOffer: {
    play: 'callback-offer',
    say: 'To be called back instead of waiting, press 1. You will keep your place in line.',
  },
};

export const DEFAULT_MENU_INVALID: Prompt = {
  play: 'menu-invalid',
  say: 'Sorry, that is not one of the choices.',
};

/** The queue of a call center without a file: every agent, always open (wave 1's behaviour). */
export const DEFAULT_QUEUE = 'support';

// ---- the schema of the file ----

const AUDIO_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

const audioRef = z
  .string()
  .trim()
  .min(1)
  .transform((v) => v.replace(/\.mp3$/i, ''))
  .refine((v) => {
    if (AUDIO_NAME.test(v) && !v.includes('..')) return true;
    try {
      return new URL(v).protocol === 'https:';
    } catch {
      return false;
    }
  }, 'must be a prompt name in AUDIO_DIR (such as sales-closed.mp3) or an https:// URL');

const sayText = z.string().trim().min(1, 'must not be empty').max(1000, 'must be at most 1000 characters');

/** `"text"` (spoken) or `{ play: name-or-url, say: fallback text }`. */
const prompt = z.union([
  sayText.transform((say): Prompt => ({ say })),
  z.strictObject({ play: audioRef.optional(), say: sayText }),
]);

const seconds = (min: number, max: number) =>
  z
    .number({ error: 'must be a number of seconds' })
    .int('must be a whole number of seconds')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

const whole = (min: number, max: number) =>
  z
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone such as Europe/Berlin or America/New_York');

const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const queueName = z
  .string()
  .regex(NAME, 'must be lower-case letters, digits, - or _ (at most 64), such as sales or 2nd-level');

const agentEntry = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .refine((v) => v === '*' || !v.startsWith('tag:') || v.length > 4, 'tag: needs a tag name');

const queuePrompts = z.strictObject({
  closed: prompt.optional(),
  holiday: prompt.optional(),
  closedByHand: prompt.optional(),
  closure: prompt.optional(),
  menuOption: prompt.optional(),
  welcome: prompt.optional(),
  callbackOffer: prompt.optional(),
});

const queue = z.strictObject({
  agents: z.array(agentEntry).min(1, 'must name at least one agent, tag or *'),
  strategy: z.enum(ROUTING_STRATEGIES).optional(),
  holdMusic: audioRef.optional(),
  announceSeconds: seconds(10, 600).optional(),
  callbacks: z.boolean().optional(),
  callbackAfterSeconds: seconds(0, 3600).optional(),
  callbackAttempts: whole(1, 10).optional(),
  callbackRetrySeconds: seconds(30, 86_400).optional(),
  maxWaitSeconds: seconds(30, 7200).optional(),
  maxWaiting: whole(1, 10_000).optional(),
  wrapUpSeconds: seconds(0, 3600).optional(),
  prompts: queuePrompts.optional(),
});

const clockRange = z.string().transform((v, ctx): TimeRange => {
  const m = /^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$/.exec(v);
  const start = m ? parseClock(m[1]!) : undefined;
  const end = m ? parseClock(m[2]!) : undefined;
  if (start === undefined || end === undefined || start === 1440 || start === end) {
    ctx.addIssue({
      code: 'custom',
      message: `"${v}" must be a range like "09:00-17:00" (24-hour clock; "22:00-02:00" crosses midnight, 24:00 ends the day)`,
    });
    return z.NEVER;
  }
  return { start, end: end === 0 ? 1440 : end };
});

const dayKey = /^(mon|tue|wed|thu|fri|sat|sun)(?:-(mon|tue|wed|thu|fri|sat|sun))?$/;

const weeklyKey = z
  .string()
  .refine(
    (k) => dayKey.test(k.trim().toLowerCase()),
    'must be a day (mon tue wed thu fri sat sun) or a range of days such as mon-fri',
  );

const weekly = z.record(weeklyKey, z.array(clockRange)).transform((days, ctx): TimeRange[][] => {
  const out: TimeRange[][] = Array.from({ length: 7 }, () => []);
  const seen = new Set<number>();
  for (const [key, ranges] of Object.entries(days)) {
    const m = dayKey.exec(key.trim().toLowerCase());
    if (!m) {
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `"${key}" must be a day (mon tue wed thu fri sat sun) or a range of days such as mon-fri`,
      });
      continue;
    }
    const from = DAY_NAMES.indexOf(m[1] as WeekdayName);
    const to = m[2] ? DAY_NAMES.indexOf(m[2] as WeekdayName) : from;
    for (let d = from, n = 0; n < 7; d = (d + 1) % 7, n++) {
      if (seen.has(d)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `${DAY_NAMES[d]} is given twice` });
      }
      seen.add(d);
      out[d]!.push(...ranges);
      if (d === to) break;
    }
  }
  for (const [d, ranges] of out.entries()) {
    ranges.sort((a, b) => a.start - b.start);
    for (let i = 1; i < ranges.length; i++) {
      if (ranges[i]!.start < ranges[i - 1]!.end) {
        ctx.addIssue({ code: 'custom', message: `the ranges of ${DAY_NAMES[d]} overlap` });
      }
    }
  }
  return out;
});

const localDate = z
  .string()
  .refine((v) => parseLocalDate(v) !== undefined, 'must be a date such as 2026-12-25');
const localDateTime = z
  .string()
  .refine((v) => parseLocalDateTime(v) !== undefined, 'must be a local date-time such as 2026-12-31T12:00');

const holiday = z.union([
  localDate.transform((date): Holiday => ({ date })),
  z.strictObject({
    date: localDate,
    reason: z.string().trim().min(1).max(200).optional(),
    prompt: prompt.optional(),
  }),
]);

const closure = z
  .strictObject({
    from: localDateTime,
    to: localDateTime,
    reason: z.string().trim().min(1, 'must say why (it is shown by GET /api/hours)').max(200),
    prompt: prompt.optional(),
  })
  .refine((c) => normalizeLocal(c.to) > normalizeLocal(c.from), {
    message: 'to must be after from',
    path: ['to'],
  })
  .transform((c): Closure => ({ ...c, from: normalizeLocal(c.from), to: normalizeLocal(c.to) }));

const hours = z.strictObject({
  timeZone: timeZone.optional(),
  weekly: weekly.optional(),
  holidays: z.array(holiday).optional(),
  closures: z.array(closure).optional(),
});

const menuOption = z.union([
  queueName.transform((queue) => ({ queue }) as { queue: string; prompt?: Prompt }),
  z.strictObject({ queue: queueName, prompt: prompt.optional() }),
]);

const menu = z.strictObject({
  prompt: prompt.optional(),
  options: z.record(z.string().regex(/^[0-9*#]$/, 'menu keys must be one key each: 0-9, * or #'), menuOption),
  timeoutSeconds: seconds(1, 120).optional(),
  retries: whole(0, 5).optional(),
  invalid: prompt.optional(),
});

const file = z.strictObject({
  timeZone: timeZone.optional(),
  defaultQueue: queueName.optional(),
  tags: z.record(queueName, z.array(z.string().trim().min(1))).optional(),
  queues: z
    .record(queueName, queue)
    .refine((q) => Object.keys(q).length > 0, 'must define at least one queue'),
  hours: z.record(z.string(), hours).optional(),
  menu: menu.optional(),
});

/**
 * References between parts of the file (hours and menu options naming queues, defaultQueue),
 * checked on the raw document so they are reported together with the schema's problems.
 */
function crossCheck(raw: unknown): Array<{ path: string[]; message: string }> {
  const out: Array<{ path: string[]; message: string }> = [];
  const obj = (v: unknown): Record<string, unknown> | undefined =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  const f = obj(raw);
  const queues = obj(f?.queues);
  if (!f || !queues) return out;
  const names = new Set(Object.keys(queues));
  for (const q of Object.keys(obj(f.hours) ?? {})) {
    if (!names.has(q)) out.push({ path: ['hours', q], message: `no queue named "${q}"` });
  }
  const menu = obj(f.menu);
  const options = obj(menu?.options);
  for (const [digit, option] of Object.entries(options ?? {})) {
    const target = typeof option === 'string' ? option : obj(option)?.queue;
    if (typeof target === 'string' && !names.has(target)) {
      out.push({ path: ['menu', 'options', digit], message: `no queue named "${target}"` });
    }
  }
  if (menu && options && Object.keys(options).length === 0) {
    out.push({ path: ['menu', 'options'], message: 'a menu needs at least one option' });
  }
  if (typeof f.defaultQueue === 'string' && !names.has(f.defaultQueue)) {
    out.push({ path: ['defaultQueue'], message: `no queue named "${f.defaultQueue}"` });
  }
  if (f.defaultQueue === undefined && names.size > 1) {
    out.push({
      path: ['defaultQueue'],
      message: 'is required when there is more than one queue (where callers go without a menu choice)',
    });
  }
  return out;
}

/** `2026-12-31T9:00` → `2026-12-31T09:00`, so closures compare as strings. */
function normalizeLocal(v: string): string {
  const p = parseLocalDateTime(v);
  if (!p) return v;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${p.year}-${pad(p.month)}-${pad(p.day)}T${pad(Math.floor(p.minutes / 60))}:${pad(p.minutes % 60)}`;
}

// ---- errors that name the line ----

export interface FileProblem {
  line: number;
  col: number;
  /** Dotted path of the field, such as `queues.sales.maxWaiting`; empty for the whole file. */
  field: string;
  message: string;
}

export class CallCenterFileError extends Error {
  constructor(
    readonly source: string,
    readonly problems: FileProblem[],
  ) {
    super(
      `Invalid call-center file ${source}:\n${problems
        .map((p) => `  - line ${p.line}:${p.col}${p.field ? ` ${p.field}` : ''}: ${p.message}`)
        .join('\n')}`,
    );
    this.name = 'CallCenterFileError';
  }
}

/**
 * Parses and validates the file's text. `source` names the file in errors; `hash` is stored on the
 * result (the watcher compares it to skip unchanged content).
 */
export function parseCallCenterFile(text: string, source: string, hash = ''): CallCenterConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new CallCenterFileError(
      source,
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return {
          line: pos.line,
          col: pos.col,
          field: '',
          message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
        };
      }),
    );
  }
  const raw = doc.toJS({ maxAliasCount: 100 }) as unknown;
  if (raw === null || raw === undefined) {
    throw new CallCenterFileError(source, [
      { line: 1, col: 1, field: '', message: 'the file is empty; it needs at least `queues:`' },
    ]);
  }
  const parsed = file.safeParse(raw);
  const cross = crossCheck(raw);
  if (!parsed.success || cross.length) {
    const issues = [
      ...(parsed.success ? [] : parsed.error.issues),
      ...cross.map((c) => ({ ...c, code: 'custom' as const })),
    ];
    const problems = issues.map((issue): FileProblem => {
      const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
      // An unknown key points at the key itself, not at its parent map.
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
      const at = locate(doc.contents, path, keys[0]);
      const pos = lineCounter.linePos(at);
      let message = issue.message;
      if (issue.code === 'unrecognized_keys')
        message = `unknown field${keys.length > 1 ? 's' : ''} ${keys.join(', ')}`;
      if (issue.code === 'invalid_union')
        message = unionMessage(issue as z.core.$ZodIssueInvalidUnion) ?? message;
      const field = [...path, ...(keys.length ? [keys[0]!] : [])].join('.');
      return { line: pos.line, col: pos.col, field, message };
    });
    problems.sort((a, b) => a.line - b.line || a.col - b.col);
    throw new CallCenterFileError(source, problems);
  }
  if (!parsed.success) throw new Error('unreachable');
  return normalize(parsed.data, source, hash);
}

/** The best message of a union (string-or-object fields): the object branch's, which says more. */
function unionMessage(issue: z.core.$ZodIssueInvalidUnion): string | undefined {
  const branches = issue.errors ?? [];
  const objectBranch = branches.find(
    (b) => b.length && b.every((i) => i.path.length > 0 || i.code !== 'invalid_type'),
  );
  const first = objectBranch?.[0];
  if (!first) return 'must be text, or an object with the fields shown in docs/call-center-file.md';
  const sub = first.code === 'unrecognized_keys' ? `unknown field ${first.keys.join(', ')}` : first.message;
  return first.path.length ? `${first.path.join('.')}: ${sub}` : sub;
}

/** Offset of the deepest node on `path` (or of `key` inside it), falling back to its parents. */
function locate(root: unknown, path: readonly PropertyKey[], key?: string): number {
  let node = root as Node | null | undefined;
  let offset = node && 'range' in node && node.range ? node.range[0] : 0;
  for (const step of [...path, ...(key !== undefined ? [key] : [])]) {
    if (!node) break;
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(step),
      );
      if (!pair) break;
      // The key's own position when the value is missing or when the key is the problem.
      const keyNode = pair.key as Node;
      if (step === key || pair.value === null) {
        offset = keyNode.range?.[0] ?? offset;
        break;
      }
      next = pair.value;
    } else if ('items' in node && Array.isArray((node as { items: unknown[] }).items)) {
      next = (node as { items: unknown[] }).items[Number(step)];
    } else break;
    node = next as Node | undefined;
    if (node && 'range' in node && node.range) offset = node.range[0];
  }
  return offset;
}

type ParsedFile = z.infer<typeof file>;

function normalize(f: ParsedFile, source: string, hash: string): CallCenterConfig {
  const zone = f.timeZone ?? 'UTC';
  const queues = new Map<string, QueueConfig>();
  for (const [name, q] of Object.entries(f.queues)) {
    queues.set(name, {
      name,
      agents: q.agents,
      strategy: q.strategy,
      holdMusic: q.holdMusic ?? QUEUE_DEFAULTS.holdMusic,
      announceSeconds: q.announceSeconds ?? QUEUE_DEFAULTS.announceSeconds,
      callbacks: q.callbacks ?? QUEUE_DEFAULTS.callbacks,
      callbackAfterSeconds: q.callbackAfterSeconds ?? QUEUE_DEFAULTS.callbackAfterSeconds,
      callbackAttempts: q.callbackAttempts ?? QUEUE_DEFAULTS.callbackAttempts,
      callbackRetrySeconds: q.callbackRetrySeconds ?? QUEUE_DEFAULTS.callbackRetrySeconds,
      maxWaitSeconds: q.maxWaitSeconds ?? QUEUE_DEFAULTS.maxWaitSeconds,
      maxWaiting: q.maxWaiting ?? QUEUE_DEFAULTS.maxWaiting,
      wrapUpSeconds: q.wrapUpSeconds,
      prompts: { ...DEFAULT_PROMPTS, ...stripUndefined(q.prompts ?? {}) },
    });
  }
  const hoursMap = new Map<string, QueueHours>();
  for (const [name, h] of Object.entries(f.hours ?? {})) {
    hoursMap.set(name, {
      timeZone: h.timeZone ?? zone,
      // Without `weekly` the queue is open around the clock, except holidays and closures.
      weekly: h.weekly ?? Array.from({ length: 7 }, () => [{ start: 0, end: 1440 }]),
      holidays: h.holidays ?? [],
      closures: (h.closures ?? []).sort((a, b) => (a.from < b.from ? -1 : 1)),
    });
  }
  const menuConfig: MenuConfig | undefined = f.menu
    ? {
        prompt: f.menu.prompt,
        options: Object.entries(f.menu.options)
          .map(([digit, o]) => ({ digit, queue: o.queue, prompt: o.prompt }))
          .sort((a, b) => keyOrder(a.digit) - keyOrder(b.digit)),
        timeoutSeconds: f.menu.timeoutSeconds ?? MENU_DEFAULTS.timeoutSeconds,
        retries: f.menu.retries ?? MENU_DEFAULTS.retries,
        invalid: f.menu.invalid ?? DEFAULT_MENU_INVALID,
      }
    : undefined;
  const defaultQueue = f.defaultQueue ?? queues.keys().next().value!;
  return {
    timeZone: zone,
    defaultQueue,
    queues,
    hours: hoursMap,
    menu: menuConfig,
    tags: new Map(Object.entries(f.tags ?? {})),
    source,
    hash,
  };
}

const keyOrder = (k: string) => '1234567890*#'.indexOf(k);

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Without a file: one `support` queue with every agent, always open, no menu (docs/interface.md §7). */
export function builtInCallCenter(): CallCenterConfig {
  return {
    timeZone: 'UTC',
    defaultQueue: DEFAULT_QUEUE,
    queues: new Map([
      [
        DEFAULT_QUEUE,
        {
          name: DEFAULT_QUEUE,
          agents: ['*'],
          holdMusic: QUEUE_DEFAULTS.holdMusic,
          announceSeconds: QUEUE_DEFAULTS.announceSeconds,
          callbacks: QUEUE_DEFAULTS.callbacks,
          callbackAfterSeconds: QUEUE_DEFAULTS.callbackAfterSeconds,
          callbackAttempts: QUEUE_DEFAULTS.callbackAttempts,
          callbackRetrySeconds: QUEUE_DEFAULTS.callbackRetrySeconds,
          maxWaitSeconds: QUEUE_DEFAULTS.maxWaitSeconds,
          maxWaiting: QUEUE_DEFAULTS.maxWaiting,
          prompts: { ...DEFAULT_PROMPTS },
        },
      ],
    ]),
    hours: new Map(),
    tags: new Map(),
    source: 'built-in',
    hash: 'built-in',
  };
}

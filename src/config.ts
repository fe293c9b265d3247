import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { validate as validateCron } from 'node-cron';
import { z } from 'zod';

/**
 * All settings, validated once at start (docs/interface.md §2). Nothing else in the code base reads
 * `process.env`. An invalid value throws a `ConfigError` naming the variable and what is wrong.
 */

export const ROUTING_STRATEGIES = [
  'ring-all',
  'round-robin',
  'longest-idle',
  'fewest-calls',
  'random',
] as const;
export type RoutingStrategy = (typeof ROUTING_STRATEGIES)[number];

export interface StaticAgentEntry {
  name: string;
  sip: string;
}

const SIP_URI = /^sips?:[^@\s<>"]+@[A-Za-z0-9.-]+(?::\d{1,5})?(?:;[^\s<>"]*)?$/;

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no']))
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const cron = z
  .string()
  .trim()
  .refine((v) => validateCron(v), 'must be a cron expression with five or six fields');

const url = (protocols: string[]) =>
  z
    .string()
    .trim()
    .refine(
      (v) => {
        try {
          return protocols.includes(new URL(v).protocol);
        } catch {
          return false;
        }
      },
      `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
    );

/** A decimal amount such as `80` or `12.50`; kept as a string so it is compared exactly. */
const decimal = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?$/, 'must be a non-negative decimal number such as 80 or 12.50');

const agents = z
  .string()
  .trim()
  .transform((value, ctx): StaticAgentEntry[] => {
    const out: StaticAgentEntry[] = [];
    const seen = new Set<string>();
    for (const raw of value.split(',')) {
      const entry = raw.trim();
      if (!entry) continue;
      const eq = entry.indexOf('=');
      const name = eq > 0 ? entry.slice(0, eq).trim() : '';
      const sip = eq > 0 ? entry.slice(eq + 1).trim() : '';
      if (!name || !SIP_URI.test(sip)) {
        ctx.addIssue({
          code: 'custom',
          message: `entry "${entry}" must look like name=sip:user@sip.telnyx.com`,
        });
        return z.NEVER;
      }
      if (seen.has(name.toLowerCase())) {
        ctx.addIssue({ code: 'custom', message: `agent name "${name}" appears twice` });
        return z.NEVER;
      }
      seen.add(name.toLowerCase());
      out.push({ name, sip });
    }
    return out;
  });

const publicKey = z
  .string()
  .trim()
  .refine(
    (v) => /^[A-Za-z0-9+/]+={0,2}$/.test(v) && Buffer.from(v, 'base64').length === 32,
    'must be the base64 of a raw 32-byte Ed25519 public key (Mission Control → Keys & Credentials → Public Key)',
  );

const e164 = z
  .string()
  .trim()
  .regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number such as +13125550100');

/** One entry of OUTBOUND_ALLOWED_PREFIXES: an E.164 prefix (`+44`, `+1212`) or an ISO country (`US`). */
export type AllowedDestination = { prefix: string } | { country: string };

/**
 * The default of OUTBOUND_ALLOWED_PREFIXES: the hotline's country. For +1 that is the country
 * (US, CA, …), not all of the North American Numbering Plan, which also holds Caribbean
 * destinations billed as international calls. Without a hotline number nothing is allowed (no
 * outbound call can be placed without one anyway).
 */
export function defaultDestinations(hotlineNumber: string | undefined): AllowedDestination[] {
  if (!hotlineNumber) return [];
  const parsed = parsePhoneNumberFromString(hotlineNumber);
  if (parsed?.country) return [{ country: parsed.country }];
  if (parsed?.countryCallingCode) return [{ prefix: `+${parsed.countryCallingCode}` }];
  return [];
}

/** Parses OUTBOUND_ALLOWED_PREFIXES (`+44,+1212,US`); throws with the bad entry. */
export function parseDestinations(value: string): AllowedDestination[] {
  const out: AllowedDestination[] = [];
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    if (/^\+[1-9]\d{0,14}$/.test(entry)) out.push({ prefix: entry });
    else if (/^[A-Za-z]{2}$/.test(entry)) out.push({ country: entry.toUpperCase() });
    else throw new Error(`entry "${entry}" must be an E.164 prefix such as +44 or a country code such as US`);
  }
  return out;
}

/** `+44,+1212,US`: E.164 prefixes or ISO country codes (docs/interface.md §10). */
const destinations = z
  .string()
  .trim()
  .transform((value, ctx): AllowedDestination[] => {
    try {
      return parseDestinations(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

/** `https://host/path/` prefixes a recording link must start with. */
const urlPrefixes = z
  .string()
  .trim()
  .transform((value, ctx): string[] => {
    const out: string[] = [];
    for (const raw of value.split(',')) {
      const entry = raw.trim();
      if (!entry) continue;
      let ok = false;
      try {
        const u = new URL(entry);
        ok =
          u.protocol === 'https:' &&
          u.username === '' &&
          u.password === '' &&
          u.search === '' &&
          u.hash === '';
      } catch {}
      if (!ok) {
        ctx.addIssue({
          code: 'custom',
          message: `entry "${entry}" must be an https:// URL prefix such as https://recordings.example.com/`,
        });
        return z.NEVER;
      }
      out.push(entry);
    }
    return out;
  });

/** `alice=60,bob=0`: per-agent wrap-up seconds, by agent name or id (docs/interface.md §5). */
const wrapUpOverrides = z
  .string()
  .trim()
  .transform((value, ctx): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const raw of value.split(',')) {
      const entry = raw.trim();
      if (!entry) continue;
      const eq = entry.lastIndexOf('=');
      const name = eq > 0 ? entry.slice(0, eq).trim() : '';
      const seconds = eq > 0 ? entry.slice(eq + 1).trim() : '';
      if (!name || !/^\d+$/.test(seconds) || Number(seconds) > 3600) {
        ctx.addIssue({
          code: 'custom',
          message: `entry "${entry}" must look like name=60 (0 to 3600 seconds)`,
        });
        return z.NEVER;
      }
      out[name] = Number(seconds);
    }
    return out;
  });

const timeZone = z
  .string()
  .trim()
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'must be an IANA time zone such as UTC or Europe/Berlin');

const schema = z.object({
  PORT: int(0, 65535).default(8080),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
  PUBLIC_URL: url(['http:', 'https:'])
    .transform((v) => v.replace(/\/+$/, ''))
    .optional(),
  REDIS_URL: url(['redis:', 'rediss:']).optional(),
  TELNYX_API_KEY: z.string().trim().min(1).optional(),
  TELNYX_API_BASE_URL: url(['http:', 'https:'])
    .transform((v) => v.replace(/\/+$/, ''))
    .default('https://api.telnyx.com/v2'),
  TELNYX_PUBLIC_KEY: publicKey.optional(),
  TELNYX_CONNECTION_ID: z.string().trim().min(1).optional(),
  /** `allow`: accept a /texml/inbound that carries no signature at all (docs/telnyx.md). */
  TELNYX_UNSIGNED_INBOUND: z.enum(['allow', 'refuse']).default('refuse'),
  HOTLINE_NUMBER: e164.optional(),
  AGENTS: agents.default([]),
  AGENT_CONNECTION_FILTER: z
    .string()
    .trim()
    .min(3, 'must be at least 3 characters (Telnyx requires it for a contains filter)')
    .optional(),
  AGENT_OUTBOUND_PROFILE_ID: z.string().trim().min(1).optional(),
  /** `enable`: set `sip_uri_calling_preference` to `internal` on agent connections that refuse SIP URI calls. */
  AGENT_SIP_URI_CALLING: z.enum(['enable', 'report']).default('report'),
  AGENT_SYNC_CRON: cron.default('0 * * * *'),
  AGENT_PRESENCE_CRON: cron.default('* * * * *'),
  BALANCE_CHECK_CRON: cron.default('0 */6 * * *'),
  BALANCE_ALERT_THRESHOLD: decimal.default('80'),
  SLACK_WEBHOOK_URL: url(['https:', 'http:']).optional(),
  ROUTING_STRATEGY: z.enum(ROUTING_STRATEGIES).default('ring-all'),
  STICKY_ROUTING: bool.default(true),
  STICKY_THRESHOLD: z
    .string()
    .trim()
    .regex(/^(0(\.\d+)?|1(\.0+)?)$/, 'must be a number from 0 to 1, such as 0.6')
    .transform(Number)
    .default(0.6),
  ROUTING_HISTORY_DAYS: int(1, 3650).default(365),
  DIAL_TIMEOUT_SECONDS: int(5, 120).default(20),
  DIAL_ATTEMPTS: int(1, 10).default(2),
  DIAL_MAX_TARGETS: int(1, 50).default(10),
  STICKY_RING_SECONDS: int(5, 120).default(15),
  WRAP_UP_SECONDS: int(0, 3600).default(30),
  AGENT_WRAP_UP_SECONDS: wrapUpOverrides.default({}),
  MAX_NO_ANSWER: int(1, 100).default(3),
  OUTBOUND_ALLOWED_PREFIXES: destinations.optional(),
  OUTBOUND_MAX_PER_MINUTE: int(1, 1000).default(10),
  OUTBOUND_MAX_CONCURRENT: int(1, 10_000).default(20),
  RECORDING_URL_PREFIXES: urlPrefixes.default([]),
  API_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  SESSION_SECRET: z
    .string()
    .refine(
      (v) => Buffer.byteLength(v, 'utf8') >= 32,
      'must be at least 32 bytes (e.g. `openssl rand -hex 32`)',
    )
    .optional(),
  CALL_TTL_SECONDS: int(60, 31_536_000).default(86_400),
  DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
  SERVICE_LEVEL_SECONDS: int(1, 3600).default(20),
  SHORT_ABANDON_SECONDS: int(0, 3600).default(5),
  DAILY_SUMMARY_CRON: cron.default('0 8 * * *'),
  TZ: timeZone.default('UTC'),
  SHUTDOWN_DELAY_SECONDS: int(0, 20).default(5),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  CALL_CENTER_CONFIG: z.string().trim().min(1).optional(),
  TEXML_DIR: z.string().trim().min(1).optional(),
  AUDIO_DIR: z.string().trim().min(1).optional(),
});

type Env = z.infer<typeof schema>;

/** Every environment variable Switchboard reads (`.env.example` documents each). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape);

export interface Config {
  port: number;
  host: string;
  /** Base URL Telnyx reaches us at, without a trailing slash; undefined = derive from the request. */
  publicUrl?: string;
  redisUrl?: string;
  telnyx: {
    apiKey?: string;
    baseUrl: string;
    publicKey?: string;
    connectionId?: string;
    /** Accept a /texml/inbound without any signature header (TELNYX_UNSIGNED_INBOUND=allow). */
    allowUnsignedInbound: boolean;
  };
  hotlineNumber?: string;
  agents: {
    static: StaticAgentEntry[];
    connectionFilter?: string;
    outboundProfileId?: string;
    syncCron: string;
    presenceCron: string;
    /** Fix `sip_uri_calling_preference` through the API (AGENT_SIP_URI_CALLING=enable). */
    enableSipUriCalling: boolean;
  };
  balance: { cron: string; threshold: string };
  slackWebhookUrl?: string;
  routing: {
    strategy: RoutingStrategy;
    sticky: boolean;
    stickyThreshold: number;
    /** ROUTING_HISTORY_DAYS: a caller's history is forgotten this long after their last answered call. */
    historyDays: number;
    dialTimeoutSeconds: number;
    dialAttempts: number;
    maxTargets: number;
    /** STICKY_RING_SECONDS: how long the preferred agent rings alone (docs/interface.md §5). */
    stickyRingSeconds: number;
  };
  /** Agent status and state (docs/interface.md §5). */
  agentState: {
    /** WRAP_UP_SECONDS */
    wrapUpSeconds: number;
    /** AGENT_WRAP_UP_SECONDS: agent name or id → wrap-up seconds. */
    wrapUpOverrides: Record<string, number>;
    /** MAX_NO_ANSWER */
    maxNoAnswer: number;
  };
  outbound: {
    /** OUTBOUND_ALLOWED_PREFIXES, or the hotline's country when unset (empty without a hotline). */
    allowed: AllowedDestination[];
    maxPerMinute: number;
    maxConcurrent: number;
  };
  /** Extra URL prefixes a RecordingUrl may start with to be linked in Slack (Telnyx's are built in). */
  recordingUrlPrefixes: string[];
  apiToken?: string;
  /** Signs the console and wallboard session cookies (docs/interface.md §8); unset = both pages off. */
  sessionSecret?: string;
  callTtlSeconds: number;
  databaseUrl?: string;
  stats: {
    serviceLevelSeconds: number;
    shortAbandonSeconds: number;
    dailySummaryCron: string;
    timeZone: string;
  };
  /** After SIGTERM: seconds still serving (readiness failing) before the listener closes. */
  shutdownDelaySeconds: number;
  logLevel: Env['LOG_LEVEL'];
  /**
   * CALL_CENTER_CONFIG: path of the call-center file (docs/interface.md §9); undefined: use
   * `call-center.yaml` in the working directory when present, else one `support` queue.
   */
  callCenterConfig?: string;
  /** Folders of the call-flow templates and prompts (default: `texml/` and `audio/` of the package). */
  texmlDir?: string;
  audioDir?: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates an environment (normally `process.env`) into a `Config`, or throws `ConfigError`. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // An empty variable means "unset", as in most deployment tools.
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') cleaned[key] = value;
  }
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? 'environment');
        // Never echo a secret back into logs.
        const secret = /KEY|TOKEN|SECRET|WEBHOOK|DATABASE_URL|REDIS_URL/.test(name);
        const shown = secret || cleaned[name] === undefined ? '' : ` (got "${cleaned[name]}")`;
        return `${name} ${issue.message}${shown}`;
      }),
    );
  }
  const e = parsed.data;
  const problems: string[] = [];
  if (e.AGENT_CONNECTION_FILTER && e.AGENT_OUTBOUND_PROFILE_ID) {
    problems.push('AGENT_CONNECTION_FILTER and AGENT_OUTBOUND_PROFILE_ID are alternatives: set only one');
  }
  if (problems.length) throw new ConfigError(problems);

  return {
    port: e.PORT,
    host: e.HOST,
    publicUrl: e.PUBLIC_URL,
    redisUrl: e.REDIS_URL,
    telnyx: {
      apiKey: e.TELNYX_API_KEY,
      baseUrl: e.TELNYX_API_BASE_URL,
      publicKey: e.TELNYX_PUBLIC_KEY,
      connectionId: e.TELNYX_CONNECTION_ID,
      allowUnsignedInbound: e.TELNYX_UNSIGNED_INBOUND === 'allow',
    },
    hotlineNumber: e.HOTLINE_NUMBER,
    agents: {
      static: e.AGENTS,
      connectionFilter: e.AGENT_CONNECTION_FILTER,
      outboundProfileId: e.AGENT_OUTBOUND_PROFILE_ID,
      syncCron: e.AGENT_SYNC_CRON,
      presenceCron: e.AGENT_PRESENCE_CRON,
      enableSipUriCalling: e.AGENT_SIP_URI_CALLING === 'enable',
    },
    balance: { cron: e.BALANCE_CHECK_CRON, threshold: e.BALANCE_ALERT_THRESHOLD },
    slackWebhookUrl: e.SLACK_WEBHOOK_URL,
    routing: {
      strategy: e.ROUTING_STRATEGY,
      sticky: e.STICKY_ROUTING,
      stickyThreshold: e.STICKY_THRESHOLD,
      historyDays: e.ROUTING_HISTORY_DAYS,
      dialTimeoutSeconds: e.DIAL_TIMEOUT_SECONDS,
      dialAttempts: e.DIAL_ATTEMPTS,
      maxTargets: e.DIAL_MAX_TARGETS,
      stickyRingSeconds: e.STICKY_RING_SECONDS,
    },
    agentState: {
      wrapUpSeconds: e.WRAP_UP_SECONDS,
      wrapUpOverrides: e.AGENT_WRAP_UP_SECONDS,
      maxNoAnswer: e.MAX_NO_ANSWER,
    },
    outbound: {
      allowed: e.OUTBOUND_ALLOWED_PREFIXES ?? defaultDestinations(e.HOTLINE_NUMBER),
      maxPerMinute: e.OUTBOUND_MAX_PER_MINUTE,
      maxConcurrent: e.OUTBOUND_MAX_CONCURRENT,
    },
    recordingUrlPrefixes: e.RECORDING_URL_PREFIXES,
    apiToken: e.API_TOKEN,
    sessionSecret: e.SESSION_SECRET,
    callTtlSeconds: e.CALL_TTL_SECONDS,
    databaseUrl: e.DATABASE_URL,
    stats: {
      serviceLevelSeconds: e.SERVICE_LEVEL_SECONDS,
      shortAbandonSeconds: e.SHORT_ABANDON_SECONDS,
      dailySummaryCron: e.DAILY_SUMMARY_CRON,
      timeZone: e.TZ,
    },
    shutdownDelaySeconds: e.SHUTDOWN_DELAY_SECONDS,
    logLevel: e.LOG_LEVEL,
    callCenterConfig: e.CALL_CENTER_CONFIG,
    texmlDir: e.TEXML_DIR,
    audioDir: e.AUDIO_DIR,
  };
}

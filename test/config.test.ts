import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../src/config.js';

const errorOf = (env: Record<string, string>): string => {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('loadConfig', () => {
  it('gives the embedded defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      redisUrl: undefined,
      telnyx: { baseUrl: 'https://api.telnyx.com/v2' },
      routing: {
        strategy: 'ring-all',
        sticky: true,
        stickyThreshold: 0.6,
        dialTimeoutSeconds: 20,
        dialAttempts: 2,
        maxTargets: 10,
      },
      balance: { threshold: '80', cron: '0 */6 * * *' },
      callTtlSeconds: 86400,
      stats: { serviceLevelSeconds: 20, shortAbandonSeconds: 5, timeZone: 'UTC' },
    });
    expect(c.agents.static).toEqual([]);
  });

  it('parses AGENTS into named SIP endpoints', () => {
    const c = loadConfig({ AGENTS: 'Alice=sip:alice@sip.telnyx.com, Bob = sip:bob@sip.telnyx.com' });
    expect(c.agents.static).toEqual([
      { name: 'Alice', sip: 'sip:alice@sip.telnyx.com' },
      { name: 'Bob', sip: 'sip:bob@sip.telnyx.com' },
    ]);
  });

  it('treats empty variables as unset and strips a trailing slash from PUBLIC_URL', () => {
    const c = loadConfig({ REDIS_URL: '', PUBLIC_URL: 'https://sb.example.com/' });
    expect(c.redisUrl).toBeUndefined();
    expect(c.publicUrl).toBe('https://sb.example.com');
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT must be a whole number/],
    [{ DIAL_TIMEOUT_SECONDS: '3' }, /DIAL_TIMEOUT_SECONDS must be at least 5/],
    [{ DIAL_TIMEOUT_SECONDS: '121' }, /DIAL_TIMEOUT_SECONDS must be at most 120/],
    [{ ROUTING_STRATEGY: 'fastest' }, /ROUTING_STRATEGY/],
    [{ AGENTS: 'Alice' }, /AGENTS entry "Alice" must look like name=sip:/],
    [{ AGENTS: 'A=sip:a@x.com,a=sip:b@x.com' }, /AGENTS agent name "a" appears twice/],
    [{ AGENT_CONNECTION_FILTER: 'ab' }, /AGENT_CONNECTION_FILTER must be at least 3 characters/],
    [{ AGENT_SYNC_CRON: 'every hour' }, /AGENT_SYNC_CRON must be a cron expression/],
    [{ BALANCE_ALERT_THRESHOLD: '-5' }, /BALANCE_ALERT_THRESHOLD must be a non-negative decimal/],
    [{ STICKY_THRESHOLD: '1.5' }, /STICKY_THRESHOLD must be a number from 0 to 1/],
    [
      { TELNYX_PUBLIC_KEY: 'c2hvcnQ=' },
      /TELNYX_PUBLIC_KEY must be the base64 of a raw 32-byte Ed25519 public key/,
    ],
    [{ HOTLINE_NUMBER: '555-0100' }, /HOTLINE_NUMBER must be an E.164 number/],
    [
      { REDIS_URL: 'http://localhost:6379' },
      /REDIS_URL must be a URL starting with redis:\/\/ or rediss:\/\//,
    ],
    [{ TZ: 'Mars/Olympus' }, /TZ must be an IANA time zone/],
    [{ STICKY_ROUTING: 'maybe' }, /STICKY_ROUTING/],
    [{ AGENT_CONNECTION_FILTER: 'agent', AGENT_OUTBOUND_PROFILE_ID: '123' }, /set only one/],
    [
      { OUTBOUND_ALLOWED_PREFIXES: '+44,0044' },
      /OUTBOUND_ALLOWED_PREFIXES entry "0044" must be an E.164 prefix/,
    ],
    [{ OUTBOUND_MAX_PER_MINUTE: '0' }, /OUTBOUND_MAX_PER_MINUTE must be at least 1/],
    [{ OUTBOUND_MAX_CONCURRENT: 'lots' }, /OUTBOUND_MAX_CONCURRENT must be a whole number/],
    [
      { RECORDING_URL_PREFIXES: 'http://rec.example.com/' },
      /RECORDING_URL_PREFIXES entry .* must be an https:\/\/ URL prefix/,
    ],
    [{ SHUTDOWN_DELAY_SECONDS: '60' }, /SHUTDOWN_DELAY_SECONDS must be at most 20/],
  ])('rejects %o naming the variable', (env, message) => {
    expect(errorOf(env as Record<string, string>)).toMatch(message);
  });

  it('outbound limits: defaults, and the allowed destinations default to the hotline country', () => {
    expect(loadConfig({}).outbound).toEqual({ allowed: [], maxPerMinute: 10, maxConcurrent: 20 });
    expect(loadConfig({ HOTLINE_NUMBER: '+18005550199' }).outbound.allowed).toEqual([{ country: 'US' }]);
    expect(loadConfig({ HOTLINE_NUMBER: '+493012345678' }).outbound.allowed).toEqual([{ country: 'DE' }]);
    const c = loadConfig({
      HOTLINE_NUMBER: '+18005550199',
      OUTBOUND_ALLOWED_PREFIXES: '+1, gb',
      OUTBOUND_MAX_PER_MINUTE: '3',
      OUTBOUND_MAX_CONCURRENT: '50',
      RECORDING_URL_PREFIXES: 'https://rec.example.com/calls/',
    });
    expect(c.outbound).toEqual({
      allowed: [{ prefix: '+1' }, { country: 'GB' }],
      maxPerMinute: 3,
      maxConcurrent: 50,
    });
    expect(c.recordingUrlPrefixes).toEqual(['https://rec.example.com/calls/']);
    expect(loadConfig({}).shutdownDelaySeconds).toBe(5);
  });

  it('never echoes a secret in the error', () => {
    const message = errorOf({ SLACK_WEBHOOK_URL: 'ftp://hooks.slack.com/services/T0/B0/SECRET' });
    expect(message).toMatch(/SLACK_WEBHOOK_URL/);
    expect(message).not.toMatch(/SECRET/);
  });

  it('reports every problem at once', () => {
    const message = errorOf({ PORT: 'x', LOG_LEVEL: 'chatty' });
    expect(message).toMatch(/PORT/);
    expect(message).toMatch(/LOG_LEVEL/);
  });

  it('.env.example lists exactly the variables the server reads, and loads as it stands', () => {
    const text = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
    const listed = [...text.matchAll(/^([A-Z_]+)=(.*)$/gm)];
    expect(listed.map((m) => m[1]).sort()).toEqual([...CONFIG_VARIABLES].sort());
    expect(() => loadConfig(Object.fromEntries(listed.map((m) => [m[1], m[2]])))).not.toThrow();
  });
});

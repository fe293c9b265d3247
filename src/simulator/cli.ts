import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { FakeTelnyxApi } from './fake-telnyx-api.js';
import { type AgentView, QUEUE_SCENARIOS } from './queue-scenarios.js';
import { playInbound, playOutbound, SCENARIOS } from './scenarios.js';
import { parseAt, parseDigits } from './sim-time.js';
import { describeInbound, randomCaller, type ServerView } from './summary.js';
import {
  type Exchange,
  generateSigningKeys,
  loadPrivateKey,
  SimClock,
  TelnyxPlayer,
} from './telnyx-player.js';

/**
 * `npm run simulate -- <scenario>`: plays Telnyx against a running Switchboard and prints each
 * request, each TeXML reply and each Slack message the call caused.
 *
 * Slack messages reach the simulator when the server's SLACK_WEBHOOK_URL points at the catcher
 * it starts (default http://127.0.0.1:9999/slack); otherwise the server writes them to its log,
 * and the simulator says how to point it here once the run is over.
 * With TELNYX_PUBLIC_KEY set on the server, give the simulator the matching private key
 * (`npm run simulate -- keys` prints a pair).
 */

const HELP = `usage: npm run simulate -- <scenario> [options]

scenarios:
${Object.entries(SCENARIOS)
  .map(([name, s]) => `  ${name.padEnd(14)} ${s.describe}`)
  .join('\n')}
${Object.entries(QUEUE_SCENARIOS)
  .map(([name, s]) => `  ${name.padEnd(14)} ${s.describe}`)
  .join('\n')}
  outbound       click-to-call: POST /api/calls, the agent answers, the customer talks for 42 s
  keys           print a new Ed25519 key pair (TELNYX_PUBLIC_KEY for the server, SIMULATOR_PRIVATE_KEY for this tool)

outbound plays Telnyx's REST API too, on --telnyx-port; start the server with
  API_TOKEN=<token> TELNYX_API_KEY=simulator TELNYX_API_BASE_URL=http://127.0.0.1:9998/v2 \
  TELNYX_CONNECTION_ID=simulator HOTLINE_NUMBER=+18005550199 AGENTS=... npm start
and give this tool the same API_TOKEN.
The queue scenarios (queued, callback, queue-abandon, no-answer-pause) need the same, plus
PUBLIC_URL=<the server's own URL, e.g. http://127.0.0.1:8080>: the server moves an offered caller
out of the queue through that Telnyx API (without PUBLIC_URL, by <Leave/> on the next hold-music
fetch, up to 10 s later) and places callbacks through it. Callers wait in real time (--pace 1),
since the server's wrap-up and dispatch timers do.

options:
  --url URL          server to play against (default http://127.0.0.1:8080, or SIMULATOR_URL)
  --from NUMBER      caller number (default: a new +1312555-01xx number each run)
  --slack-port N     port of the Slack catcher (default 9999; 0 = none)
  --wait S           seconds to wait for Slack messages after the call (default 3)
  --agent NAME       outbound: the agent placing the call (default: the first in the roster)
  --to NUMBER        outbound: the customer (default +14155550123)
  --digits KEYS      keys the caller presses at the menu, in turn (2; 92 = a wrong key, then 2);
                     when they run out the caller presses nothing (the menu times out)
  --at TIME          when the call happens (Timestamp, CallInitiatedAt): 2026-12-25T10:00 is read
                     in --tz; 2026-12-25T09:00Z or +01:00 is that instant (default: now)
  --tz ZONE          zone of a local --at (default TZ, else UTC), e.g. Europe/Berlin
  --telnyx-port N    outbound, queues: port of the simulated Telnyx API (default 9998)
  --pace X           queues: real seconds per second waited in a queue (default 1)
  SIMULATOR_PRIVATE_KEY (env): PEM private key to sign requests with
`;

const OUTBOUND_TALK_SECONDS = 42;

const dim = (s: string) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

function printExchange(x: Exchange): void {
  const summary = ['CallStatus', 'DialCallStatus', 'RecordingStatus', 'SequenceNumber', 'To']
    .filter((k) => x.params[k] !== undefined)
    .map((k) => `${k}=${x.params[k]}`)
    .join(' ');
  console.log(`${bold('→ POST')} ${x.path} ${dim(summary)}`);
  const reply = x.body.trim();
  console.log(`${bold('←')} ${x.status}${reply ? `\n${indent(reply)}` : ''}`);
}

const indent = (s: string) =>
  s
    .replace(/></g, '>\n<')
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

interface SlackCatcher {
  server: Server;
  url: string;
  received(): number;
}

async function startSlackCatcher(port: number): Promise<SlackCatcher | null> {
  if (!port) return null;
  let received = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received++;
      try {
        const msg = JSON.parse(body) as { text?: string };
        console.log(`${bold('💬 Slack')} ${msg.text ?? body}`);
      } catch {
        console.log(`${bold('💬 Slack (not JSON)')} ${body}`);
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  return new Promise((resolve) => {
    server.once('error', () => {
      console.log(dim(`(Slack catcher not started: port ${port} is busy)`));
      resolve(null);
    });
    server.listen(port, '127.0.0.1', () =>
      resolve({
        server,
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack`,
        received: () => received,
      }),
    );
  });
}

/** The server's view of a call, when the admin API is reachable with the token we have. */
async function serverView(baseUrl: string, callSid: string): Promise<ServerView | undefined> {
  const token = process.env.SIMULATOR_API_TOKEN ?? process.env.API_TOKEN;
  if (!token) return undefined;
  try {
    const res = await fetch(`${baseUrl}/api/calls/${encodeURIComponent(callSid)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (!res.ok) return undefined;
    return ((await res.json()) as { call: ServerView }).call;
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      from: { type: 'string' },
      'slack-port': { type: 'string' },
      wait: { type: 'string' },
      agent: { type: 'string' },
      to: { type: 'string' },
      'telnyx-port': { type: 'string' },
      digits: { type: 'string' },
      at: { type: 'string' },
      tz: { type: 'string' },
      pace: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const name = positionals[0];
  if (values.help || !name) {
    console.log(HELP);
    return name || values.help ? 0 : 2;
  }
  if (name === 'keys') {
    const k = generateSigningKeys();
    console.log(`TELNYX_PUBLIC_KEY=${k.publicKeyBase64}\nSIMULATOR_PRIVATE_KEY="${k.privateKeyPem.trim()}"`);
    return 0;
  }
  const scenario = SCENARIOS[name];
  const queueScenario = QUEUE_SCENARIOS[name];
  if (!scenario && !queueScenario && name !== 'outbound') {
    console.error(`unknown scenario "${name}"\n\n${HELP}`);
    return 2;
  }
  let at: number | undefined;
  let digits: string | undefined;
  try {
    at = values.at !== undefined ? parseAt(values.at, values.tz ?? process.env.TZ ?? 'UTC') : undefined;
    digits = values.digits !== undefined ? parseDigits(values.digits) : undefined;
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  const baseUrl = (values.url ?? process.env.SIMULATOR_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  try {
    await fetch(`${baseUrl}/healthz`);
  } catch {
    console.error(`No Switchboard answers at ${baseUrl}. Start one with \`npm start\` (or pass --url).`);
    return 1;
  }
  const slackPort = Number(values['slack-port'] ?? 9999);
  const catcher = await startSlackCatcher(slackPort);
  const key = process.env.SIMULATOR_PRIVATE_KEY;
  const player = new TelnyxPlayer({
    baseUrl,
    privateKey: key ? loadPrivateKey(key.replace(/\\n/g, '\n')) : undefined,
    onExchange: printExchange,
    clock: at !== undefined ? new SimClock(at) : undefined,
  });
  if (queueScenario) {
    const pace = Number(values.pace ?? 1);
    if (!Number.isFinite(pace) || pace < 0) {
      console.error('--pace must be a number of seconds, 0 or more');
      return 2;
    }
    const code = await runQueueScenario(name, baseUrl, key, pace, values);
    if (catcher) {
      await new Promise((r) => setTimeout(r, Number(values.wait ?? 3) * 1000));
      await new Promise((r) => catcher.server.close(r));
    }
    return code;
  }
  const from = values.from ?? randomCaller();
  const result = scenario
    ? await (async () => {
        console.log(bold(`\n▶ ${name}: ${scenario.describe} (caller ${from})\n`));
        return playInbound(player, {
          ...scenario.script,
          from,
          ...(digits !== undefined ? { digits } : {}),
        });
      })()
    : await runOutbound(player, baseUrl, values);
  if (!result) return 1;
  if (catcher) {
    await new Promise((r) => setTimeout(r, Number(values.wait ?? 3) * 1000));
    await new Promise((r) => catcher.server.close(r));
  }
  const view = await serverView(baseUrl, result.callSid);
  const outcome = scenario
    ? describeInbound(result, scenario.script, view)
    : `outbound: ${view?.outcome ?? 'answered'} (talked ${view?.talkSeconds ?? OUTBOUND_TALK_SECONDS} s)`;
  console.log(bold(`\n■ call ${result.callSid}: ${outcome}`));
  if (catcher && catcher.received() === 0) {
    console.log(
      dim(
        `No Slack message reached ${catcher.url}: the server posts elsewhere or writes them to its log. ` +
          `Start it with SLACK_WEBHOOK_URL=${catcher.url} to see them here.`,
      ),
    );
  }
  return 0;
}

/** A queue scenario, with this tool playing Telnyx's REST API (call updates, callbacks) too. */
async function runQueueScenario(
  name: string,
  baseUrl: string,
  key: string | undefined,
  pace: number,
  values: { from?: string; 'telnyx-port'?: string },
): Promise<number> {
  const scenario = QUEUE_SCENARIOS[name];
  if (!scenario) return 2;
  const telnyx = await FakeTelnyxApi.start({
    apiKey: 'simulator',
    port: Number(values['telnyx-port'] ?? 9998),
  });
  const player = new TelnyxPlayer({
    baseUrl,
    privateKey: key ? loadPrivateKey(key.replace(/\\n/g, '\n')) : undefined,
    paceMs: pace * 1000,
  });
  telnyx.liveCalls = player.calls;
  const token = process.env.SIMULATOR_API_TOKEN ?? process.env.API_TOKEN;
  let first = true;
  try {
    console.log(bold(`\n▶ ${name}: ${scenario.describe}\n`));
    const run = await scenario.run({
      player,
      telnyx,
      newCaller: () => {
        const number = first && values.from ? values.from : randomCaller();
        first = false;
        return number;
      },
      agents: token ? () => agentsView(baseUrl, token) : undefined,
      log: (line) => console.log(line),
    });
    console.log(bold(`\n■ call ${run.callSid}: ${run.outcome}`));
    return 0;
  } finally {
    await telnyx.close();
  }
}

/** Every agent's status and state, from `GET /api/queues`. */
async function agentsView(baseUrl: string, token: string): Promise<AgentView[] | undefined> {
  try {
    const res = await fetch(`${baseUrl}/api/queues`, { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { queues: { agents: AgentView[] }[] };
    const seen = new Map<string, AgentView>();
    for (const q of body.queues) for (const a of q.agents) seen.set(a.id, a);
    return [...seen.values()];
  } catch {
    return undefined;
  }
}

/** Click-to-call through the admin API, with this tool playing Telnyx's REST API as well. */
async function runOutbound(
  player: TelnyxPlayer,
  baseUrl: string,
  values: { agent?: string; to?: string; 'telnyx-port'?: string },
): Promise<Awaited<ReturnType<typeof playOutbound>> | null> {
  const token = process.env.SIMULATOR_API_TOKEN ?? process.env.API_TOKEN;
  if (!token) {
    console.error("outbound needs the server's API_TOKEN in API_TOKEN (or SIMULATOR_API_TOKEN).");
    return null;
  }
  const telnyx = await FakeTelnyxApi.start({
    apiKey: 'simulator',
    port: Number(values['telnyx-port'] ?? 9998),
  });
  try {
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    let agent = values.agent;
    if (!agent) {
      const roster = (await (await fetch(`${baseUrl}/api/agents`, { headers })).json()) as {
        agents?: { name: string }[];
      };
      agent = roster.agents?.[0]?.name;
    }
    const to = values.to ?? '+14155550123';
    console.log(bold(`\n▶ outbound: ${agent} calls ${to}\n`));
    const res = await fetch(`${baseUrl}/api/calls`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ agent, to }),
    });
    const body = await res.text();
    console.log(
      `${bold('→ POST')} /api/calls ${dim(JSON.stringify({ agent, to }))}\n${bold('←')} ${res.status} ${body}`,
    );
    const created = telnyx.texmlCalls.at(-1);
    if (res.status !== 202 || !created) {
      console.error(
        `the server did not place the call; is it started with TELNYX_API_BASE_URL=${telnyx.baseUrl}?`,
      );
      return null;
    }
    return await playOutbound(player, {
      callSid: created.callSid,
      agentSip: String(created.body.To),
      url: String(created.body.Url),
      hotline: String(created.body.From),
      talkSeconds: OUTBOUND_TALK_SECONDS,
    });
  } finally {
    await telnyx.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { playInbound, SCENARIOS } from './scenarios.js';
import { type Exchange, generateSigningKeys, loadPrivateKey, TelnyxPlayer } from './telnyx-player.js';

/**
 * `npm run simulate -- <scenario>`: plays Telnyx against a running Switchboard and prints each
 * request, each TeXML reply and each Slack message the call caused.
 *
 * Slack messages reach the simulator when the server's SLACK_WEBHOOK_URL points at the catcher
 * it starts (default http://127.0.0.1:9999/slack); otherwise the server writes them to its log.
 * With TELNYX_PUBLIC_KEY set on the server, give the simulator the matching private key
 * (`npm run simulate -- keys` prints a pair).
 */

const HELP = `usage: npm run simulate -- <scenario> [options]

scenarios:
${Object.entries(SCENARIOS)
  .map(([name, s]) => `  ${name.padEnd(14)} ${s.describe}`)
  .join('\n')}
  keys           print a new Ed25519 key pair (TELNYX_PUBLIC_KEY for the server, SIMULATOR_PRIVATE_KEY for this tool)

options:
  --url URL          server to play against (default http://127.0.0.1:8080, or SIMULATOR_URL)
  --from NUMBER      caller number (default +13125550100)
  --slack-port N     port of the Slack catcher (default 9999; 0 = none)
  --wait S           seconds to wait for Slack messages after the call (default 3)
  SIMULATOR_PRIVATE_KEY (env): PEM private key to sign requests with
`;

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

async function startSlackCatcher(port: number): Promise<Server | null> {
  if (!port) return null;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
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
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      from: { type: 'string' },
      'slack-port': { type: 'string' },
      wait: { type: 'string' },
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
  if (!scenario) {
    console.error(`unknown scenario "${name}"\n\n${HELP}`);
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
  if (catcher) {
    const port = (catcher.address() as AddressInfo).port;
    console.log(
      dim(
        `Slack catcher on http://127.0.0.1:${port}/slack — start the server with SLACK_WEBHOOK_URL pointing there to see messages here.`,
      ),
    );
  }
  const key = process.env.SIMULATOR_PRIVATE_KEY;
  const player = new TelnyxPlayer({
    baseUrl,
    privateKey: key ? loadPrivateKey(key.replace(/\\n/g, '\n')) : undefined,
    onExchange: printExchange,
  });
  console.log(bold(`\n▶ ${name}: ${scenario.describe}\n`));
  const result = await playInbound(player, { ...scenario.script, from: values.from ?? scenario.script.from });
  console.log(bold(`\n■ call ${result.callSid}: ${result.rounds.length} ring round(s)`));
  if (catcher) {
    await new Promise((r) => setTimeout(r, Number(values.wait ?? 3) * 1000));
    await new Promise((r) => catcher.close(r));
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);

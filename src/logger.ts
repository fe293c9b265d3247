import { type Logger, type LoggerOptions, pino } from 'pino';

/** Keeps personal data and secrets out of logs: phone numbers masked, tokens and keys redacted. */
export function maskPhone(value: string | undefined): string {
  if (!value) return '';
  const digits = value.replace(/\D/g, '');
  if (digits.length < 5) return '•'.repeat(value.length);
  return `${value.startsWith('+') ? '+' : ''}${digits.slice(0, 1)}${'•'.repeat(digits.length - 5)}${digits.slice(-4)}`;
}

const PHONE_FIELDS = ['from', 'to', 'caller', 'customer', 'From', 'To', 'CallerId'];

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["telnyx-signature-ed25519"]',
        'headers.authorization',
        'apiKey',
        'token',
        'webhookUrl',
        ...PHONE_FIELDS,
        ...PHONE_FIELDS.map((f) => `*.${f}`),
      ],
      censor: (value: unknown, path: string[]) =>
        typeof value === 'string' && PHONE_FIELDS.includes(path[path.length - 1] ?? '')
          ? maskPhone(value)
          : '[redacted]',
    },
    serializers: {
      // Query strings of GET callbacks carry caller numbers: log the path only.
      req: (req: { method: string; url: string; id?: string }) => ({
        method: req.method,
        url: req.url.split('?')[0],
        id: req.id,
      }),
    },
  };
}

/**
 * The server process's logger: readable lines on a terminal (pino-pretty, a dev dependency, when it
 * is installed), one JSON object per line otherwise (pipes, containers, log collectors).
 */
export async function processLogger(
  level: string,
  stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout,
): Promise<Logger> {
  const options = loggerOptions(level);
  if (stream.isTTY) {
    try {
      const { default: pretty } = await import('pino-pretty');
      return pino(
        options,
        pretty({
          destination: stream,
          colorize: true,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname',
        }),
      );
    } catch (err) {
      // Installed without dev dependencies (npm ci --omit=dev): JSON it is.
      if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    }
  }
  // process.stdout: pino's own fast destination on fd 1.
  return stream === process.stdout ? pino(options) : pino(options, stream);
}

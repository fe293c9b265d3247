import type { LoggerOptions } from 'pino';

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

import { clip } from './mrkdwn.js';

/**
 * Numbers as an agent reads them at a glance: `45s`, `3m 05s`, `1h 02m`. Negative, fractional or
 * non-finite input (a clock skew between callbacks) is rounded and clamped, never shown as `NaN`.
 */
export function formatDuration(seconds: number): string {
  const total = Number.isFinite(seconds) ? Math.max(0, Math.round(seconds)) : 0;
  if (total < 60) return `${total}s`;
  if (total < 3600) return `${Math.floor(total / 60)}m ${pad2(total % 60)}s`;
  return `${Math.floor(total / 3600)}h ${pad2(Math.floor((total % 3600) / 60))}m`;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/**
 * Masks every digit of a phone number except the last four (`+13125550100` → `+•••••••0100`), so
 * the console view shows which call it is without putting personal data in logs. Text that is not
 * a number (`anonymous`) is kept, cut to 32 characters.
 */
export function maskPhoneNumber(value: string): string {
  const digits = value.replace(/\D/g, '').length;
  if (digits === 0) return clip(value, 32);
  let seen = 0;
  let out = '';
  for (const ch of value) {
    if (ch >= '0' && ch <= '9') {
      seen += 1;
      out += seen > digits - 4 ? ch : '•';
    } else {
      out += ch;
    }
  }
  return clip(out, 32);
}

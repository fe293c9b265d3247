import type { Config } from './config.js';

/** True for http(s) URLs on localhost, 127.0.0.0/8 or ::1 (a developer's machine, a tunnel's local end). */
export function isLoopbackUrl(raw: string): boolean {
  let host: string;
  try {
    host = new URL(raw).hostname.toLowerCase();
  } catch {
    return false;
  }
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127(?:\.\d{1,3}){3}$/.test(host) ||
    host === '[::1]'
  );
}

/**
 * Settings that let the app run but leave it open: repeated at error level every minute and
 * listed by /readyz, which stays 200 (see routes/health.ts).
 */
export function configWarnings(config: Config): string[] {
  const out: string[] = [];
  if (!config.telnyx.publicKey && config.publicUrl && !isLoopbackUrl(config.publicUrl)) {
    out.push(
      `TELNYX_PUBLIC_KEY is not set while PUBLIC_URL (${config.publicUrl}) is public: /texml/* requests are not checked for Telnyx signatures, so anyone can forge call callbacks`,
    );
  }
  return out;
}

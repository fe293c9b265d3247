/**
 * The comparable form of a SIP URI: `user@host`, lower-cased, without scheme, port, parameters or
 * headers. Telnyx may report an agent leg as `sip:Alice@sip.telnyx.com;transport=tls` while the
 * roster says `sip:alice@sip.telnyx.com`; both are the same endpoint for routing purposes.
 * Returns undefined for a value that is not a SIP address.
 */
export function sipKey(uri: string): string | undefined {
  let rest = uri.trim();
  const angle = /<([^>]*)>/.exec(rest);
  if (angle?.[1]) rest = angle[1];
  rest = rest.replace(/^sips?:/i, '');
  rest = rest.split(/[;?]/, 1)[0] ?? '';
  const at = rest.lastIndexOf('@');
  if (at <= 0 || at === rest.length - 1) return undefined;
  const user = rest.slice(0, at);
  const host = rest.slice(at + 1).replace(/:\d+$/, '');
  if (!host) return undefined;
  return `${user}@${host}`.toLowerCase();
}

/** Telnyx credential connections register as `<user_name>@sip.telnyx.com`. */
export const telnyxSipUri = (userName: string): string => `sip:${userName}@sip.telnyx.com`;

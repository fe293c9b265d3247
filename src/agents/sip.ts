/**
 * `sip:Alice@SIP.telnyx.com:5060;transport=tls` → `alice@sip.telnyx.com`: the part that identifies
 * an endpoint, for comparing what Telnyx reports in `To` with the roster. Telnyx may send the
 * URI with or without the `sip:` scheme (UNCONFIRMED), so both are accepted.
 */
export function sipKey(uri: string | undefined): string {
  if (!uri) return '';
  let v = uri.trim().replace(/^<|>$/g, '');
  v = v.replace(/^sips?:/i, '');
  v = v.split(/[;?]/)[0] ?? '';
  v = v.replace(/:\d+$/, '');
  return v.toLowerCase();
}

/**
 * Reading Telnyx's TeXML request parameters (PascalCase, all strings on the wire).
 * Field list: docs/telnyx.md §1 and the webhooks of Telnyx's TeXML OpenAPI,
 * https://telnyx-openapi-ng.s3.us-east-1.amazonaws.com/texml/calls.yml
 */
export type TexmlParams = Readonly<Record<string, string>>;

/**
 * Telnyx timestamps, parsed leniently: ISO-8601 (`2024-01-15T10:30:00Z`), the space-separated form
 * with microseconds seen in the <Hangup> docs (`2021-04-28 21:51:18.731479Z`), and RFC 2822
 * (`Thu, 15 Jun 2023 09:56:45 +0000`). Returns epoch ms, or undefined when unparseable.
 */
export function parseTelnyxTime(value: string | undefined): number | undefined {
  if (!value) return undefined;
  let v = value.trim();
  if (!v) return undefined;
  if (/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}/.test(v)) {
    v = v.replace(' ', 'T').replace(/(\.\d{3})\d+/, '$1');
    // No zone at all: Telnyx times are UTC.
    if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(v)) v += 'Z';
  }
  const ms = Date.parse(v);
  // Reject nonsense far from any real call (before 2000 or after 2100).
  return Number.isFinite(ms) && ms > 946_684_800_000 && ms < 4_102_444_800_000 ? ms : undefined;
}

/** A non-negative integer parameter (SequenceNumber, CallDuration, RecordingDuration…). */
export function parseCount(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (!/^\d{1,12}(\.\d+)?$/.test(v)) return undefined;
  return Math.round(Number(v));
}

/** The event time: Telnyx's `Timestamp` when present and sane, else when we received it. */
export function eventTime(params: TexmlParams, receivedAt: number): number {
  return parseTelnyxTime(params.Timestamp) ?? receivedAt;
}

/** A value a caller controls (From, CallerId): trimmed and capped so it cannot bloat state. */
export function callerText(value: string | undefined, max = 128): string {
  return (value ?? '').trim().slice(0, max);
}

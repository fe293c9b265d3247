import type { LegStatus } from './call-types.js';

/**
 * What a Telnyx `CallStatus` parameter means for a leg of the call. Telnyx's values are listed in
 * docs/telnyx.md §1 and the webhooks of Telnyx's TeXML OpenAPI,
 * https://telnyx-openapi-ng.s3.us-east-1.amazonaws.com/texml/calls.yml
 */
const STATUSES = new Set<LegStatus>([
  'queued',
  'initiated',
  'ringing',
  'in-progress',
  'completed',
  'busy',
  'no-answer',
  'canceled',
  'failed',
]);

/**
 * CallStatus → LegStatus. Telnyx reports an answered call as `in-progress`; `answered` is
 * accepted as well in case a callback spells it Twilio's way (UNCONFIRMED), and `cancelled`
 * in British spelling. Unknown values (e.g. `dtmf`, `analyzed`) give undefined.
 */
export function parseCallStatus(value: string | undefined): LegStatus | undefined {
  if (!value) return undefined;
  const v = value.trim().toLowerCase();
  if (v === 'answered') return 'in-progress';
  if (v === 'cancelled') return 'canceled';
  return STATUSES.has(v as LegStatus) ? (v as LegStatus) : undefined;
}

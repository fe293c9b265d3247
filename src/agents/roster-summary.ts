import type { Config } from '../config.js';

/** How many names a start-up line lists before "and N more". */
const LISTED = 5;

const names = (list: readonly { name: string }[]): string =>
  list.length <= LISTED
    ? list.map((a) => a.name).join(', ')
    : `${list
        .slice(0, LISTED)
        .map((a) => a.name)
        .join(', ')} and ${list.length - LISTED} more`;

/**
 * One line, logged at start, saying what will happen to an inbound call given the roster settings:
 * who it rings, or that it goes straight to voicemail.
 */
export function rosterSummary(
  agents: Pick<Config['agents'], 'static' | 'connectionFilter' | 'outboundProfileId' | 'syncCron'>,
  telnyxApi: boolean,
): string {
  const fixed = agents.static;
  const staticPart = fixed.length
    ? `${fixed.length} agent${fixed.length === 1 ? '' : 's'} from AGENTS: ${names(fixed)}`
    : '';
  if (!telnyxApi) {
    return fixed.length
      ? `${staticPart.replace(' from AGENTS', '')} — calls ring them`
      : 'no agents: every call goes to voicemail; set AGENTS or TELNYX_API_KEY';
  }
  const source = agents.connectionFilter
    ? `credential connections whose name contains "${agents.connectionFilter}"`
    : agents.outboundProfileId
      ? `credential connections on outbound voice profile ${agents.outboundProfileId}`
      : 'every credential connection of the Telnyx account';
  return (
    `agents: ${source} (synced at start and on "${agents.syncCron}")${fixed.length ? `, plus ${staticPart}` : ''}` +
    ' — calls ring those registered; with none registered a call goes to voicemail'
  );
}

import { escapeXml } from './xml-escape.js';

/*
 * Last-resort replies for "never drop a caller" (docs/interface.md §3): what a route answers when a
 * template or the call store fails. Written by hand, no template, and checked by a test. They use
 * <Say> rather than <Play>, so they work even if the prompts cannot be fetched.
 */

const APOLOGY = 'Sorry, nobody can take your call right now. Please leave a message after the tone.';
const GOODBYE = 'Thank you. Goodbye.';

/**
 * Voicemail with no URL at all, for when not even the public base URL is known. The recording is
 * kept in the Telnyx account but raises no voicemail alert. `<Record>` has no `action`: Telnyx does
 * not document that default (Twilio re-requests the current document), so prefer
 * `fallbackVoicemailTexml(base)` whenever a base URL is at hand.
 */
export const FALLBACK_VOICEMAIL_TEXML = `<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Say>${APOLOGY}</Say>
  <Record maxLength="120" playBeep="true" finishOnKey="#" channels="single"/>
  <Say>${GOODBYE}</Say>
  <Hangup/>
</Response>
`;

/**
 * Voicemail that still reports to Switchboard: the recording ends at `/texml/voicemail` and its
 * status reaches `/texml/recording`, so the voicemail alert goes out as usual.
 */
export function fallbackVoicemailTexml(base: string): string {
  const b = escapeXml(base.replace(/\/+$/, ''));
  return `<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Say>${APOLOGY}</Say>
  <Record action="${b}/texml/voicemail" method="POST" maxLength="120" playBeep="true" finishOnKey="#" channels="single" recordingStatusCallback="${b}/texml/recording" recordingStatusCallbackMethod="POST"/>
  <Say>${GOODBYE}</Say>
  <Hangup/>
</Response>
`;
}

import { TelnyxRTC } from '@telnyx/webrtc';
import type { DriverCall, DriverEvent, SoftphoneDriver } from './driver';

/**
 * The softphone driver on the Telnyx WebRTC SDK (https://developers.telnyx.com/docs/voice/webrtc/js-sdk).
 * It logs in with `login_token` (a JWT the server minted for the agent's telephony credential;
 * no SIP password reaches the browser), and maps the SDK's `telnyx.notification` call updates
 * (`callUpdate` with `call.state` new/ringing/active/held/hangup/destroy) onto `DriverEvent`s.
 * Loaded on demand: its chunk is only fetched when the agent turns the softphone on.
 *
 * Tested in CI as it ships, with the real SDK, by test/web/softphone-sdk.test.ts: the SDK's
 * socket to wss://rtc.telnyx.com is answered in the test by a local stand-in for Telnyx's
 * signalling (test/web/verto-standin.ts), and the far end of each call is a second browser page.
 * No test-only option reaches this file: production always uses the SDK's default host. What
 * that leaves untested is listed in README.md (Console and wallboard).
 */

type SdkCall = {
  id: string;
  state: string;
  direction?: string;
  cause?: string;
  options?: { remoteCallerNumber?: string; callerNumber?: string; destinationNumber?: string };
  answer(): unknown;
  hangup(): unknown;
  muteAudio(): void;
  unmuteAudio(): void;
  hold(): Promise<unknown>;
  unhold(): Promise<unknown>;
};

const wrap = (c: SdkCall): DriverCall => ({
  id: c.id,
  remoteNumber: c.options?.remoteCallerNumber ?? c.options?.callerNumber ?? '',
  answer: async () => void (await c.answer()),
  hangup: async () => void (await c.hangup()),
  mute: () => c.muteAudio(),
  unmute: () => c.unmuteAudio(),
  hold: async () => void (await c.hold()),
  unhold: async () => void (await c.unhold()),
});

export function createDriver(remoteAudio: HTMLAudioElement): SoftphoneDriver {
  let client: TelnyxRTC | undefined;
  return {
    async connect(token, onEvent: (e: DriverEvent) => void) {
      client = new TelnyxRTC({ login_token: token });
      client.remoteElement = remoteAudio;
      client.on('telnyx.ready', () => onEvent({ type: 'registered' }));
      client.on('telnyx.error', (e: { error?: { message?: string } }) =>
        onEvent({ type: 'error', message: e?.error?.message ?? 'softphone error' }),
      );
      client.on('telnyx.socket.close', () => onEvent({ type: 'disconnected', reason: 'connection closed' }));
      client.on('telnyx.notification', (n: { type?: string; call?: SdkCall }) => {
        if (n.type !== 'callUpdate' || !n.call) return;
        const call = wrap(n.call);
        switch (n.call.state) {
          case 'ringing':
            if (n.call.direction === 'inbound') onEvent({ type: 'ringing', call });
            break;
          case 'active':
            onEvent({ type: 'active', call });
            break;
          case 'held':
            onEvent({ type: 'held', call });
            break;
          case 'hangup':
          case 'destroy':
            onEvent({ type: 'ended', call, ...(n.call.cause && { cause: n.call.cause }) });
            break;
        }
      });
      await client.connect();
    },
    async disconnect() {
      await client?.disconnect();
      client = undefined;
    },
  };
}

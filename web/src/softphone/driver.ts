/**
 * The thin seam between the console and a WebRTC phone. `telnyx-sdk.ts` implements it with
 * @telnyx/webrtc. The console's browser test replaces that module with a local stand-in
 * (test/web/softphone-standin.js), so everything above this interface (softphone.ts, the
 * console) runs in a real browser without Telnyx; test/web/softphone-sdk.test.ts runs the real
 * module and SDK against a local signalling stand-in.
 */

export interface DriverCall {
  id: string;
  /** The other party's number as the SIP INVITE shows it. */
  remoteNumber: string;
  answer(): Promise<void>;
  hangup(): Promise<void>;
  mute(): void;
  unmute(): void;
  hold(): Promise<void>;
  unhold(): Promise<void>;
}

export type DriverEvent =
  | { type: 'registered' }
  | { type: 'disconnected'; reason: string }
  | { type: 'error'; message: string }
  | { type: 'ringing'; call: DriverCall }
  | { type: 'active'; call: DriverCall }
  | { type: 'held'; call: DriverCall }
  | { type: 'ended'; call: DriverCall; cause?: string };

export interface SoftphoneDriver {
  /** Logs in with a Telnyx WebRTC login token (JWT) and registers. */
  connect(token: string, onEvent: (e: DriverEvent) => void): Promise<void>;
  disconnect(): Promise<void>;
}

/** What `telnyx-sdk.ts` (or a stand-in) exports. */
export interface DriverModule {
  createDriver(remoteAudio: HTMLAudioElement): SoftphoneDriver;
}

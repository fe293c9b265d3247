import type { DriverCall, DriverEvent, DriverModule, SoftphoneDriver } from './driver';

/**
 * The console's softphone, above the driver seam: microphone permission, the login token, the
 * registration, and one call at a time (ring, answer, mute, hold, hang up). Pure page logic: the
 * browser tests run it against a stand-in driver and against the real SDK driver.
 */

export type Phase = 'off' | 'asking-microphone' | 'connecting' | 'registered' | 'error';

export interface SoftphoneState {
  phase: Phase;
  /** Why the phone is off or failed, in words for the agent. */
  message?: string;
  call?: { number: string; state: 'ringing' | 'active' | 'held'; muted: boolean; since: number };
}

export interface SoftphoneDeps {
  loadDriver: () => Promise<DriverModule>;
  /** Asks the server for a login token (POST /web/api/softphone/token). */
  fetchToken: () => Promise<string>;
  getMicrophone: () => Promise<MediaStream>;
  /** Tells the server whether calls may ring this browser (POST /web/api/softphone/presence). */
  reportPresence: (registered: boolean) => Promise<void>;
  remoteAudio: HTMLAudioElement;
  onChange: (s: SoftphoneState) => void;
}

export const MICROPHONE_HELP =
  'The browser asks once for your microphone: callers hear you through it. If you blocked it, allow it in the address bar (the lock or camera icon) and press "Turn on" again.';

/** How often a registered softphone renews its presence on the server (its lease is 75 s). */
export const PRESENCE_HEARTBEAT_MS = 30_000;

export class Softphone {
  #state: SoftphoneState = { phase: 'off' };
  #driver: SoftphoneDriver | undefined;
  #call: DriverCall | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly deps: SoftphoneDeps) {}

  get state(): SoftphoneState {
    return this.#state;
  }

  #set(s: SoftphoneState) {
    const was = this.#state.phase;
    this.#state = s;
    this.deps.onChange(s);
    if (s.phase === 'registered' && was !== 'registered') this.#present(true);
    else if (s.phase !== 'registered' && was === 'registered') this.#present(false);
  }

  /** Registered: report now and every 30 s; not registered: withdraw at once. */
  #present(registered: boolean) {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    const report = () => void this.deps.reportPresence(registered).catch(() => undefined);
    report();
    if (registered) this.#heartbeat = setInterval(report, PRESENCE_HEARTBEAT_MS);
  }

  async start(): Promise<void> {
    if (this.#state.phase === 'connecting' || this.#state.phase === 'registered') return;
    this.#set({ phase: 'asking-microphone' });
    try {
      const stream = await this.deps.getMicrophone();
      for (const t of stream.getTracks()) t.stop();
    } catch (err) {
      const denied = (err as DOMException)?.name === 'NotAllowedError';
      this.#set({
        phase: 'error',
        message: denied
          ? `Microphone blocked. ${MICROPHONE_HELP}`
          : `No microphone could be opened (${(err as Error)?.message ?? err}). Plug one in and try again.`,
      });
      return;
    }
    this.#set({ phase: 'connecting' });
    try {
      const token = await this.deps.fetchToken();
      const mod = await this.deps.loadDriver();
      this.#driver = mod.createDriver(this.deps.remoteAudio);
      await this.#driver.connect(token, (e) => this.#onEvent(e));
    } catch (err) {
      this.#set({ phase: 'error', message: `Softphone could not start: ${(err as Error)?.message ?? err}` });
    }
  }

  async stop(): Promise<void> {
    await this.#driver?.disconnect().catch(() => undefined);
    this.#driver = undefined;
    this.#call = undefined;
    this.#set({ phase: 'off' });
  }

  async answer() {
    await this.#call?.answer();
  }
  async hangup() {
    await this.#call?.hangup();
  }
  toggleMute() {
    const c = this.#state.call;
    if (!this.#call || !c) return;
    if (c.muted) this.#call.unmute();
    else this.#call.mute();
    this.#set({ ...this.#state, call: { ...c, muted: !c.muted } });
  }
  async toggleHold() {
    const c = this.#state.call;
    if (!this.#call || !c) return;
    if (c.state === 'held') await this.#call.unhold();
    else await this.#call.hold();
  }

  #onEvent(e: DriverEvent) {
    switch (e.type) {
      case 'registered':
        this.#set({ phase: 'registered', ...(this.#state.call && { call: this.#state.call }) });
        break;
      case 'disconnected':
        this.#call = undefined;
        this.#set({
          phase: 'error',
          message: `Softphone disconnected (${e.reason}). Press "Turn on" to reconnect.`,
        });
        break;
      case 'error':
        this.#set({ ...this.#state, phase: 'error', message: e.message });
        break;
      case 'ringing':
        if (this.#call && this.#call.id !== e.call.id) return void e.call.hangup(); // one call at a time
        this.#call = e.call;
        this.#set({
          ...this.#state,
          call: { number: e.call.remoteNumber, state: 'ringing', muted: false, since: Date.now() },
        });
        break;
      case 'active':
      case 'held': {
        if (this.#call && this.#call.id !== e.call.id) return;
        this.#call = e.call;
        const prev = this.#state.call;
        const since = prev && prev.state !== 'ringing' ? prev.since : Date.now();
        this.#set({
          ...this.#state,
          call: { number: e.call.remoteNumber, state: e.type, muted: prev?.muted ?? false, since },
        });
        break;
      }
      case 'ended':
        if (this.#call && this.#call.id !== e.call.id) return;
        this.#call = undefined;
        // The phase the call found stays: a call ending does not register a phone that was not.
        this.#set({
          phase: this.#state.phase,
          ...(this.#state.message && { message: this.#state.message }),
        });
        break;
    }
  }
}

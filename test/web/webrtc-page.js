/**
 * Page-side helpers of test/web/softphone-sdk.test.ts, run in Chromium (kept in JavaScript: the
 * test's TypeScript has no DOM types).
 *
 * - `__pcs` collects every RTCPeerConnection the page makes, and `__micTracks()` says whether the
 *   newest one's outgoing tracks are enabled (how the SDK mutes: it disables the microphone
 *   track).
 * - `__heard()` says how many audio packets it received and whether an <audio> element plays them.
 * - `__far` is the far end of a call, as Telnyx's media side would be: one RTCPeerConnection that
 *   makes an audio offer (sending a tone), takes the SDK's answer, and reports audio received.
 */
(() => {
  const Native = globalThis.RTCPeerConnection;
  const pcs = [];
  globalThis.__pcs = pcs;
  globalThis.RTCPeerConnection = class extends Native {
    constructor(config) {
      super(config);
      pcs.push(this);
    }
  };
  globalThis.__micTracks = () =>
    pcs
      .at(-1)
      ?.getSenders()
      .map((s) => s.track?.enabled) ?? [];
  /** Audio packets the newest peer connection received, and whether an <audio> element plays them. */
  globalThis.__heard = async () => {
    let packets = 0;
    for (const s of (await pcs.at(-1)?.getStats())?.values() ?? [])
      if (s.type === 'inbound-rtp' && s.kind === 'audio') packets = s.packetsReceived ?? 0;
    const playing = [...document.querySelectorAll('audio')].some(
      (a) => !a.paused && a.srcObject?.getAudioTracks().some((t) => t.readyState === 'live'),
    );
    return { packets, playing };
  };

  let pc;
  globalThis.__far = {
    /** A fresh SDP offer for an audio call, its ICE candidates gathered. */
    async offer() {
      pc?.close();
      pc = new Native();
      // The caller's voice: a tone (this page needs no microphone).
      const audio = new AudioContext();
      const tone = audio.createOscillator();
      const out = audio.createMediaStreamDestination();
      tone.connect(out);
      tone.start();
      for (const t of out.stream.getAudioTracks()) pc.addTrack(t, out.stream);
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise((done) => {
        if (pc.iceGatheringState === 'complete') return done();
        pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && done());
      });
      return pc.localDescription.sdp;
    },
    /** Applies the answer; resolves with the audio packets received once ICE connects and some came. */
    async answer(sdp) {
      await pc.setRemoteDescription({ type: 'answer', sdp });
      for (let i = 0; i < 200; i++) {
        let packets = 0;
        for (const s of (await pc.getStats()).values())
          if (s.type === 'inbound-rtp' && s.kind === 'audio') packets = s.packetsReceived ?? 0;
        if (pc.connectionState === 'connected' && packets > 0) return packets;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no audio from the softphone (connection ${pc.connectionState})`);
    },
    close() {
      pc?.close();
    },
  };
})();

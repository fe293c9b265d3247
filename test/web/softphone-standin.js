/**
 * A local stand-in for web/src/softphone/telnyx-sdk.ts with the same export (`createDriver`),
 * served by the browser test in place of the SDK chunk. It plays Telnyx's side: registration
 * after login, and an incoming call when the test calls `window.__standin.ring(number)`. Every
 * action the page takes on the call is recorded in `window.__standin.actions`.
 */
export function createDriver() {
  const s = { token: null, actions: [], onEvent: () => undefined, call: null };
  window.__standin = s;
  s.ring = (number) => {
    const call = {
      id: `standin-${Date.now()}`,
      remoteNumber: number,
      answer: async () => {
        s.actions.push('answer');
        s.onEvent({ type: 'active', call });
      },
      hangup: async () => {
        s.actions.push('hangup');
        s.onEvent({ type: 'ended', call });
      },
      mute: () => s.actions.push('mute'),
      unmute: () => s.actions.push('unmute'),
      hold: async () => {
        s.actions.push('hold');
        s.onEvent({ type: 'held', call });
      },
      unhold: async () => {
        s.actions.push('unhold');
        s.onEvent({ type: 'active', call });
      },
    };
    s.call = call;
    s.onEvent({ type: 'ringing', call });
  };
  return {
    async connect(token, onEvent) {
      s.token = token;
      s.onEvent = onEvent;
      setTimeout(() => onEvent({ type: 'registered' }), 50);
    },
    async disconnect() {
      s.actions.push('disconnect');
    },
  };
}

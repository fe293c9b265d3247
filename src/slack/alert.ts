/**
 * Kept only for src/calls/call-state.ts and src/calls/call-flow.ts, which are being changed on
 * another branch right now: their import moves to `../alerts/alert.js` after that merge, and this
 * file goes. Nothing else may import it (test/structure.test.ts).
 */
export type { Alert, AlertType, Notifier } from '../alerts/alert.js';

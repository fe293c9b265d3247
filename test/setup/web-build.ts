import { ensureWebBuilt } from '../web/build-web.js';

/**
 * Builds the console and wallboard once before any test file runs (skipped when dist/web is
 * newer than web/, as after `npm run build`), so no test sees a half-written dist/web.
 */
export default function setup(): void {
  ensureWebBuilt();
}

import type { CallState } from '../calls/call-types.js';
import { type CallRecord, recordFromState } from './call-record.js';
import type { CallRecordStore } from './call-record-store.js';

export interface FinishedCallRecorderOptions {
  store: CallRecordStore;
  /** Called once per call fleet-wide: only by the replica whose append stored the record. */
  onRecorded?: (record: CallRecord) => void;
}

/**
 * The `onFinished` hook of `CallFlow`: writes the call record. The `finished` effect runs at least
 * once per call (again after a crash, or on another replica); the store's append is idempotent by
 * sid, so the record, and whatever `onRecorded` counts, happens exactly once. A store failure is
 * thrown, leaving the effect pending so it runs again.
 */
export function createFinishedCallRecorder(
  options: FinishedCallRecorderOptions,
): (call: CallState) => Promise<void> {
  return async (call) => {
    const record = recordFromState(call);
    if (await options.store.append(record)) options.onRecorded?.(record);
  };
}

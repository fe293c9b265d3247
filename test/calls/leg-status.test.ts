import { describe, expect, it } from 'vitest';
import { parseCallStatus } from '../../src/calls/leg-status.js';

describe('parseCallStatus', () => {
  it('maps Telnyx statuses and tolerates other spellings', () => {
    expect(parseCallStatus('in-progress')).toBe('in-progress');
    expect(parseCallStatus('answered')).toBe('in-progress');
    expect(parseCallStatus('Completed')).toBe('completed');
    expect(parseCallStatus('cancelled')).toBe('canceled');
    expect(parseCallStatus('dtmf')).toBeUndefined();
    expect(parseCallStatus(undefined)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { TimeoutError, withTimeout } from '../src/with-timeout.js';

describe('withTimeout', () => {
  it('gives the work its answer when it settles in time', async () => {
    await expect(withTimeout(Promise.resolve(7), 1_000)).resolves.toBe(7);
    await expect(withTimeout(() => 8, 1_000)).resolves.toBe(8);
    await expect(withTimeout(Promise.reject(new Error('boom')), 1_000)).rejects.toThrow('boom');
  });

  it('rejects with a TimeoutError and its message once the time is up', async () => {
    const never = new Promise<number>(() => {});
    const err = await withTimeout(never, 20, 'store did not answer').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toBe('store did not answer');
    await expect(withTimeout(never, 5)).rejects.toThrow('no answer within 5 ms');
  });

  it('turns a synchronous throw of the work function into a rejection', async () => {
    const work = () => {
      throw new Error('sync');
    };
    await expect(withTimeout(work, 1_000)).rejects.toThrow('sync');
  });

  it('leaves no unhandled rejection when the work fails after the timeout', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const late = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('late')), 30));
      await expect(withTimeout(late, 5)).rejects.toBeInstanceOf(TimeoutError);
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

/** Why {@link withTimeout} gave up: the work did not settle in time (it may still settle later). */
export class TimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}

/**
 * `work`, or a {@link TimeoutError} once `ms` have passed without it settling. The timer is
 * cleared as soon as either happens, so nothing lingers; a late rejection of `work` after the
 * timeout is handled here and never becomes an unhandled rejection. The work itself is not
 * cancelled: pass a signal to it where it can stop.
 */
export async function withTimeout<T>(
  work: Promise<T> | (() => T | Promise<T>),
  ms: number,
  message = `no answer within ${ms} ms`,
): Promise<T> {
  const running = typeof work === 'function' ? Promise.resolve().then(work) : work;
  running.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(message)), ms);
  });
  try {
    return await Promise.race([running, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

import { useEffect, useState } from 'preact/hooks';

/** The current time, re-rendered every second: the pages' timers count from it. */
export function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}

/** The page's side of the server (src/web/web-plugin.ts): JSON with the CSRF token, and the live feed. */

export interface Me {
  role: 'agent' | 'supervisor';
  agent?: { id: string; name: string };
  csrfToken: string;
  statusAvailable: boolean;
  queuesAvailable: boolean;
  softphone?: { available: boolean; reason?: string };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = '';

export async function loadMe(): Promise<Me> {
  const me = (await request('GET', '/web/api/me')) as Me;
  csrfToken = me.csrfToken;
  return me;
}

export async function request(method: string, path: string, body?: unknown): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  if (res.status === 401) {
    location.reload();
    throw new ApiError(401, 'signed out');
  }
  const text = await res.text();
  const json = text ? (JSON.parse(text) as { message?: string }) : undefined;
  if (!res.ok) throw new ApiError(res.status, json?.message ?? `${res.status} ${res.statusText}`);
  return json;
}

/** Withdraws the softphone while the page unloads: `keepalive` lets the request outlive it. */
export function withdrawSoftphone(): Promise<Response> {
  return fetch('/web/api/softphone/presence', {
    method: 'POST',
    keepalive: true,
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken },
    body: JSON.stringify({ registered: false }),
  });
}

export async function logout(): Promise<void> {
  await request('POST', '/logout');
  location.assign('/console');
}

export type FeedState = 'connecting' | 'live' | 'reconnecting';

/**
 * The server-sent-event feed: `onView` gets each new view. EventSource reconnects by itself after
 * a network drop (the server asks for 1 s); the page shows "reconnecting" meanwhile.
 */
export function openFeed<T>(onView: (view: T) => void, onState: (s: FeedState) => void): () => void {
  const source = new EventSource('/web/api/events');
  onState('connecting');
  source.addEventListener('open', () => onState('live'));
  source.addEventListener('error', () => onState('reconnecting'));
  source.addEventListener('view', (e) => {
    onState('live');
    onView(JSON.parse((e as MessageEvent<string>).data) as T);
  });
  source.addEventListener('signed-out', () => {
    source.close();
    location.reload();
  });
  // A closed source (the server refused it, e.g. during a deploy) is retried by hand.
  const retry = setInterval(() => {
    if (source.readyState === EventSource.CLOSED) {
      clearInterval(retry);
      stop();
      stopNext = openFeed(onView, onState);
    }
  }, 5_000);
  let stopNext: (() => void) | undefined;
  const stop = () => {
    clearInterval(retry);
    source.close();
    stopNext?.();
  };
  return stop;
}

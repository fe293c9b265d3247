import { render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import {
  ApiError,
  type FeedState,
  loadMe,
  logout,
  type Me,
  openFeed,
  request,
  withdrawSoftphone,
} from './api';
import { useNow } from './clock';
import { duration, STATE_LABEL, since, time } from './format';
import { MICROPHONE_HELP, Softphone, type SoftphoneState } from './softphone/softphone';
import type { ConsoleView } from './types';
import './style.css';

/** The agent's page (docs/interface.md §8): status, state, the call and its history, the softphone. */

const BREAK_REASONS = ['lunch', 'coffee', 'training', 'meeting', 'other'];

function StatusPanel({ me, view, now }: { me: Me; view: ConsoleView; now: number }) {
  const [reason, setReason] = useState(BREAK_REASONS[0] as string);
  const [error, setError] = useState('');
  const id = view.agent.id;
  const act = async (fn: () => Promise<unknown>) => {
    setError('');
    try {
      await fn();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  if (!me.statusAvailable || !view.status) {
    return (
      <section class="panel" aria-labelledby="status-h">
        <h2 id="status-h">Status</h2>
        <p class="muted" data-testid="status-unavailable">
          Status and state: not yet available on this server (the agent status store is not connected). Calls
          still ring you as before.
        </p>
      </section>
    );
  }
  const s = view.status;
  const set = (status: string) =>
    act(() =>
      request('PUT', `/web/api/agents/${encodeURIComponent(id)}/status`, {
        status,
        ...(status === 'break' && { reason }),
      }),
    );
  return (
    <section class="panel" aria-labelledby="status-h">
      <h2 id="status-h">Status</h2>
      <p class={`status status-${s.status}`} data-testid="status">
        {s.status === 'break'
          ? `Break (${s.reason ?? '—'})`
          : s.status === 'available'
            ? 'Available'
            : 'Offline'}
      </p>
      <p class="state" data-testid="state">
        {STATE_LABEL[s.state] ?? s.state} <span class="timer">{duration(since(s.stateSince, now))}</span>
      </p>
      <div class="row">
        <button
          type="button"
          class="primary"
          disabled={s.status === 'available'}
          onClick={() => set('available')}
        >
          Available
        </button>
        <label class="inline">
          <span class="sr-only">Break reason</span>
          <select value={reason} onChange={(e) => setReason((e.target as HTMLSelectElement).value)}>
            {BREAK_REASONS.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => set('break')}>
          Break
        </button>
        <button type="button" disabled={s.status === 'offline'} onClick={() => set('offline')}>
          Offline
        </button>
        {s.state === 'wrap-up' && (
          <button
            type="button"
            class="primary"
            onClick={() =>
              act(() => request('POST', `/web/api/agents/${encodeURIComponent(id)}/wrap-up/end`))
            }
          >
            End wrap-up
          </button>
        )}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

function CallPanel({ view, now }: { view: ConsoleView; now: number }) {
  const c = view.call;
  return (
    <section class="panel" aria-labelledby="call-h" aria-live="polite">
      <h2 id="call-h">Call</h2>
      {!c ? (
        <p class="muted" data-testid="no-call">
          No call right now.
        </p>
      ) : (
        <div data-testid="call">
          <p class={`call-state call-${c.state}`}>
            {c.state === 'offered' ? 'Incoming call' : 'On call'}{' '}
            <span class="timer">
              {duration(since(c.state === 'on-call' ? (c.answeredAt ?? c.startedAt) : c.startedAt, now))}
            </span>
          </p>
          <p class="number" data-testid="caller">
            {c.number || 'withheld'}
            {c.callerName && <span class="muted"> · {c.callerName}</span>}
          </p>
          <dl class="facts">
            <dt>Queue</dt>
            <dd data-testid="call-queue">{c.queue ?? <span class="muted">unknown</span>}</dd>
            <dt>Menu choice</dt>
            <dd data-testid="call-menu">{c.menuChoice ?? <span class="muted">none</span>}</dd>
          </dl>
          <h3>Previous calls from this number</h3>
          {view.history.length === 0 ? (
            <p class="muted" data-testid="history-empty">
              None in the last 30 days.
            </p>
          ) : (
            <table class="table" data-testid="history">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Agent</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Talk</th>
                </tr>
              </thead>
              <tbody>
                {view.history.map((h) => (
                  <tr key={h.sid}>
                    <td>{time(h.startedAt)}</td>
                    <td>{h.agent ?? '—'}</td>
                    <td>
                      {h.outcome}
                      {h.voicemailUrl && (
                        <>
                          {' '}
                          <a href={h.voicemailUrl} target="_blank" rel="noreferrer noopener">
                            voicemail
                          </a>
                        </>
                      )}
                    </td>
                    <td>{duration(h.talkSeconds)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </section>
  );
}

function SoftphonePanel({ me, now }: { me: Me; now: number }) {
  const audio = useRef<HTMLAudioElement>(null);
  const [state, setState] = useState<SoftphoneState>({ phase: 'off' });
  const phone = useMemo(
    () =>
      new Softphone({
        loadDriver: () => import('./softphone/telnyx-sdk'),
        fetchToken: async () =>
          ((await request('POST', '/web/api/softphone/token')) as { token: string }).token,
        getMicrophone: () => navigator.mediaDevices.getUserMedia({ audio: true }),
        reportPresence: async (registered) => {
          await request('POST', '/web/api/softphone/presence', { registered });
        },
        get remoteAudio() {
          return audio.current as HTMLAudioElement;
        },
        onChange: setState,
      }),
    [],
  );
  useEffect(() => {
    // Closing the page withdraws the browser at once (keepalive outlives the page).
    const leave = () => {
      if (phone.state.phase === 'registered') void withdrawSoftphone();
    };
    addEventListener('pagehide', leave);
    return () => {
      removeEventListener('pagehide', leave);
      void phone.stop();
    };
  }, [phone]);
  if (!me.softphone?.available) {
    return (
      <section class="panel" aria-labelledby="phone-h">
        <h2 id="phone-h">Softphone</h2>
        <p class="muted">Browser softphone unavailable: {me.softphone?.reason}.</p>
      </section>
    );
  }
  const c = state.call;
  return (
    <section class="panel" aria-labelledby="phone-h">
      <h2 id="phone-h">Softphone</h2>
      {/* biome-ignore lint/a11y/useMediaCaption: a live phone call has no captions */}
      <audio ref={audio} autoplay />
      <p data-testid="softphone-phase" class={`phase phase-${state.phase}`}>
        {
          {
            off: 'Off',
            'asking-microphone': 'Waiting for microphone permission…',
            connecting: 'Connecting…',
            registered: 'Ready: calls ring here',
            error: 'Not connected',
          }[state.phase]
        }
      </p>
      {state.message && (
        <p class="error" role="alert">
          {state.message}
        </p>
      )}
      {(state.phase === 'off' || state.phase === 'error') && (
        <>
          <p class="muted small">{MICROPHONE_HELP}</p>
          <button type="button" class="primary" onClick={() => void phone.start()}>
            Turn on
          </button>
        </>
      )}
      {c && (
        <div class="phone-call" data-testid="softphone-call" aria-live="assertive">
          <p class="number">
            {c.state === 'ringing' ? 'Ringing: ' : c.state === 'held' ? 'On hold: ' : 'Talking: '}
            {c.number || 'unknown number'}{' '}
            {c.state !== 'ringing' && <span class="timer">{duration((now - c.since) / 1000)}</span>}
          </p>
          <div class="row">
            {c.state === 'ringing' && (
              <button type="button" class="primary" onClick={() => void phone.answer()}>
                Answer
              </button>
            )}
            {c.state !== 'ringing' && (
              <>
                <button type="button" aria-pressed={c.muted} onClick={() => phone.toggleMute()}>
                  {c.muted ? 'Unmute' : 'Mute'}
                </button>
                <button
                  type="button"
                  aria-pressed={c.state === 'held'}
                  onClick={() => void phone.toggleHold()}
                >
                  {c.state === 'held' ? 'Resume' : 'Hold'}
                </button>
              </>
            )}
            <button type="button" class="danger" onClick={() => void phone.hangup()}>
              {c.state === 'ringing' ? 'Decline' : 'Hang up'}
            </button>
          </div>
        </div>
      )}
      {state.phase === 'registered' && !c && (
        <button type="button" onClick={() => void phone.stop()}>
          Turn off
        </button>
      )}
    </section>
  );
}

function Console() {
  const [me, setMe] = useState<Me>();
  const [view, setView] = useState<ConsoleView>();
  const [feed, setFeed] = useState<FeedState>('connecting');
  const [error, setError] = useState('');
  const now = useNow();
  useEffect(() => {
    loadMe()
      .then(setMe)
      .catch((err) => setError(String(err)));
    return openFeed<ConsoleView>(setView, setFeed);
  }, []);
  if (error) return <p class="error">{error}</p>;
  if (!me || !view) return <p class="loading">Loading the console…</p>;
  return (
    <>
      <header class="top">
        <h1>
          Switchboard <span class="muted">· {view.agent.name}</span>
        </h1>
        <span class={`feed feed-${feed}`} data-testid="feed" role="status">
          {feed === 'live' ? 'live' : feed === 'connecting' ? 'connecting…' : 'reconnecting…'}
        </span>
        <span class={view.agent.online ? 'presence on' : 'presence off'}>
          {view.agent.online ? 'phone registered' : 'phone not registered'}
        </span>
        <button type="button" onClick={() => void logout()}>
          Sign out
        </button>
      </header>
      <main class="grid">
        <CallPanel view={view} now={now} />
        <StatusPanel me={me} view={view} now={now} />
        <SoftphonePanel me={me} now={now} />
      </main>
    </>
  );
}

render(<Console />, document.getElementById('app') as HTMLElement);

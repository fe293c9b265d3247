import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, type FeedState, loadMe, logout, openFeed, request } from './api';
import { DayChart } from './chart';
import { useNow } from './clock';
import { duration, percent, STATE_LABEL, since } from './format';
import type { WallboardView } from './types';
import './style.css';

/**
 * The supervisors' wallboard (docs/interface.md §8): queues, agents by state, today's KPIs and
 * the day's chart, live by server-sent events; "Full screen" for a TV.
 */

/** Amber from the service-level target, red from twice it. */
const waitClass = (seconds: number, target: number) =>
  seconds >= 2 * target ? 'red' : seconds >= target ? 'amber' : 'ok';

function Kpi({ label, value, id, hint }: { label: string; value: string; id: string; hint?: string }) {
  return (
    <div class="kpi" data-testid={`kpi-${id}`} title={hint}>
      <span class="kpi-value">{value}</span>
      <span class="kpi-label">{label}</span>
    </div>
  );
}

/** A supervisor may set any agent's status (docs/interface.md §8); shown once statuses exist. */
function StatusSelect({ id, name, status }: { id: string; name: string; status: string }) {
  const [error, setError] = useState('');
  const set = async (next: string) => {
    setError('');
    try {
      await request('PUT', `/web/api/agents/${encodeURIComponent(id)}/status`, {
        status: next,
        ...(next === 'break' && { reason: 'supervisor' }),
      });
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return (
    <>
      <select
        aria-label={`Status of ${name}`}
        value={status}
        onChange={(e) => void set((e.target as HTMLSelectElement).value)}
      >
        <option value="available">available</option>
        <option value="break">break</option>
        <option value="offline">offline</option>
      </select>
      {error && (
        <span class="error" role="alert">
          {' '}
          {error}
        </span>
      )}
    </>
  );
}

function Wallboard() {
  const [view, setView] = useState<WallboardView>();
  const [feed, setFeed] = useState<FeedState>('connecting');
  const [tv, setTv] = useState(false);
  const now = useNow();
  useEffect(() => {
    void loadMe();
    return openFeed<WallboardView>(setView, setFeed);
  }, []);
  useEffect(() => {
    const onChange = () => setTv(document.fullscreenElement !== null);
    document.addEventListener('fullscreenchange', onChange);
    return () => document.removeEventListener('fullscreenchange', onChange);
  }, []);
  useEffect(() => {
    document.body.classList.toggle('tv', tv);
  }, [tv]);
  if (!view) return <p class="loading">Loading the wallboard…</p>;
  const s = view.stats;
  const target = s.serviceLevelSeconds;
  const toggleTv = async () => {
    if (document.fullscreenElement) await document.exitFullscreen();
    else if (document.documentElement.requestFullscreen)
      await document.documentElement.requestFullscreen().catch(() => setTv(true));
    else setTv((v) => !v);
  };
  const stateOf = (id: string, call?: { state: string }) =>
    view.agentStates?.[id]?.state ?? (call ? call.state : undefined);
  return (
    <>
      <header class="top">
        <h1>
          Wallboard <span class="muted">· {s.date}</span>
        </h1>
        <span class={`feed feed-${feed}`} data-testid="feed" role="status">
          {feed === 'live' ? 'live' : feed === 'connecting' ? 'connecting…' : 'reconnecting…'}
        </span>
        <button type="button" onClick={() => void toggleTv()} aria-pressed={tv}>
          {tv ? 'Exit full screen' : 'Full screen'}
        </button>
        {!tv && (
          <button type="button" onClick={() => void logout()}>
            Sign out
          </button>
        )}
      </header>
      <main class="board">
        <section class="kpis" aria-label="Today">
          <Kpi id="offered" label="Offered" value={String(s.offered)} />
          <Kpi id="answered" label="Answered" value={String(s.answered)} />
          <Kpi id="abandoned" label="Abandoned" value={String(s.abandoned)} />
          <Kpi
            id="service-level"
            label={`Service level (${target}s)`}
            value={percent(s.serviceLevel)}
            hint="answered within the target over answered + abandoned"
          />
          <Kpi id="asa" label="ASA" value={duration(s.averageSpeedOfAnswer)} hint="average speed of answer" />
          <Kpi id="aht" label="AHT" value={duration(s.averageHandleTime)} hint="average handle time (talk)" />
        </section>

        <section class="panel" aria-labelledby="queues-h">
          <h2 id="queues-h">Queues</h2>
          {view.queues === null ? (
            <p class="muted" data-testid="queues-unavailable">
              Queues: not yet available on this server.
            </p>
          ) : (
            <div class="queues">
              {view.queues.map((q) => (
                <div class="queue" key={q.name} data-testid={`queue-${q.name}`}>
                  <h3>{q.name}</h3>
                  <p>
                    <span class="big">{q.waiting.length}</span> waiting
                  </p>
                  <p class={`wait ${waitClass(q.longestWaitSeconds, target)}`}>
                    longest {duration(q.longestWaitSeconds)}
                  </p>
                </div>
              ))}
            </div>
          )}
        </section>

        <section class="panel" aria-labelledby="calls-h">
          <h2 id="calls-h">Calls in progress ({view.calls.length})</h2>
          {view.calls.length === 0 ? (
            <p class="muted">None.</p>
          ) : (
            <table class="table" data-testid="calls">
              <thead>
                <tr>
                  <th scope="col">Caller</th>
                  <th scope="col">Where</th>
                  <th scope="col">Agents</th>
                  <th scope="col">Time</th>
                </tr>
              </thead>
              <tbody>
                {view.calls.map((c) => {
                  const waiting = c.answeredAt === undefined;
                  const secs = since(c.answeredAt ?? c.startedAt, now);
                  return (
                    <tr key={c.sid}>
                      <td>{c.number || 'withheld'}</td>
                      <td>{c.phase.replace(/-/g, ' ')}</td>
                      <td>{c.agents.map((a) => `${a.name} (${a.leg})`).join(', ') || '—'}</td>
                      <td class={waiting ? `wait ${waitClass(secs, target)}` : ''}>{duration(secs)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </section>

        <section class="panel" aria-labelledby="agents-h">
          <h2 id="agents-h">Agents</h2>
          {view.agentStates === null && (
            <p class="muted small" data-testid="states-unavailable">
              Status (available, break, offline) and wrap-up: not yet available; shown below is what the calls
              tell.
            </p>
          )}
          <table class="table" data-testid="agents">
            <thead>
              <tr>
                <th scope="col">Agent</th>
                <th scope="col">State</th>
                <th scope="col">For</th>
                {view.agentStates && !tv && <th scope="col">Set status</th>}
              </tr>
            </thead>
            <tbody>
              {view.roster.map((a) => {
                const st = view.agentStates?.[a.id];
                const state = stateOf(a.id, a.call);
                const from = st?.stateSince ?? a.call?.since;
                return (
                  <tr key={a.id}>
                    <td>
                      {a.name}
                      {/* The phone's presence under the name: a column of its own left the
                          status select no room in a third of a laptop screen. */}
                      <div class={`small ${a.online ? 'muted' : 'phase-error'}`}>
                        {a.online ? 'registered' : 'not registered'}
                      </div>
                    </td>
                    <td class={`state-${state ?? 'none'}`}>
                      {st && st.status !== 'available'
                        ? `${st.status}${st.reason ? ` (${st.reason})` : ''} · `
                        : ''}
                      {state ? (STATE_LABEL[state] ?? state) : '—'}
                      {a.call ? ` · ${a.call.number}` : ''}
                    </td>
                    <td class="timer">{from ? duration(since(from, now)) : '—'}</td>
                    {view.agentStates && !tv && (
                      <td>{st ? <StatusSelect id={a.id} name={a.name} status={st.status} /> : '—'}</td>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </section>

        <section class="panel wide" aria-labelledby="chart-h">
          <h2 id="chart-h">Today by hour ({s.timeZone})</h2>
          <DayChart hourly={s.hourly} serviceLevel={view.serviceLevelByHour} />
        </section>
      </main>
    </>
  );
}

render(<Wallboard />, document.getElementById('app') as HTMLElement);

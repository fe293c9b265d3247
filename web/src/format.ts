/** Display helpers shared by both pages. */

export const duration = (seconds: number | null | undefined): string => {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(r).padStart(2, '0')}`;
};

export const since = (iso: string | undefined, now: number): number =>
  iso ? Math.max(0, (now - Date.parse(iso)) / 1000) : 0;

export const percent = (v: number | null | undefined): string =>
  v === null || v === undefined ? '—' : `${Math.round(v * 1000) / 10}%`;

export const time = (iso: string): string =>
  new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export const OUTCOME: Record<string, string> = {
  answered: 'answered',
  missed: 'missed',
  abandoned: 'abandoned',
  voicemail: 'voicemail',
  failed: 'failed',
  callback: 'callback requested',
};

export const STATE_LABEL: Record<string, string> = {
  idle: 'Idle',
  offered: 'Ringing',
  'on-call': 'On call',
  'wrap-up': 'Wrap-up',
};

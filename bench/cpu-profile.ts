import { relative } from 'node:path';

/**
 * Summarises a V8 .cpuprofile (what `node --cpu-prof` and the inspector's Profiler write): self
 * time per function, self time per place (src file, package, Node internals, GC), and inclusive
 * time of Switchboard's own functions, so "what costs most" is a table instead of a flame chart.
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  name: string;
  where: string;
  ms: number;
  /** Share of all sampled time, idle included. */
  percent: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Where the busy time goes, each sample charged to one cost centre (see COST_CENTRES). */
  costCentres: ProfileRow[];
  /** Time the thread was busy (not `(idle)`). */
  busyMs: number;
  selfByFunction: ProfileRow[];
  selfByPlace: ProfileRow[];
  /** Inclusive time of functions in src/ (a function counted once per stack, even if recursive). */
  inclusiveSrc: ProfileRow[];
}

const root = process.cwd();

/**
 * Cost centres, first match wins, judged on the whole stack of a sample (so a socket write under
 * ioredis is Redis, under node:http is HTTP). Built-ins such as JSON.parse and structuredClone do
 * not get frames of their own: their time is in the self time of the function calling them.
 */
const COST_CENTRES: { name: string; match: (f: StackFlags, leaf: CallFrame) => boolean }[] = [
  { name: 'idle', match: (_, leaf) => leaf.functionName === '(idle)' },
  { name: 'garbage collection', match: (_, leaf) => leaf.functionName === '(garbage collector)' },
  { name: 'signature check (Ed25519 verify)', match: (f) => f.signature },
  { name: 'Redis client (ioredis: commands, replies, socket writes)', match: (f) => f.redis },
  { name: 'HTTP (node:http, fastify, sockets)', match: (f) => f.http },
  { name: 'Switchboard code (src/, incl. JSON and structuredClone)', match: (f) => f.src },
  { name: 'V8 / runtime (program)', match: (_, leaf) => leaf.functionName === '(program)' },
  { name: 'other (timers, microtask queue, events)', match: () => true },
];

interface StackFlags {
  signature: boolean;
  redis: boolean;
  http: boolean;
  src: boolean;
  profiler: boolean;
}

function ownFlags(frame: CallFrame): StackFlags {
  const url = frame.url;
  return {
    signature: frame.functionName === 'verifyOneShot' || url.includes('/src/telnyx/signature.ts'),
    redis:
      /node_modules\/(ioredis|@ioredis|redis-parser|denque|cluster-key-slot|standard-as-callback)\//.test(
        url,
      ),
    http:
      /node_modules\/(fastify|@fastify|find-my-way|light-my-request|avvio|fast-json-stringify|secure-json-parse)\//.test(
        url,
      ) || /^node:(_http|http)/.test(url),
    src: url.includes('/src/'),
    profiler: url === 'node:inspector',
  };
}

/** Where a frame's code lives: `src/…`, `bench/…`, a package name, `node:…`, or `(native)`. */
function place(url: string): string {
  if (!url) return '(native)';
  if (url.startsWith('node:')) return url.replace(/^node:internal\//, 'node:');
  const path = url.startsWith('file://') ? decodeURI(url.slice(7)) : url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg) return pkg[1] as string;
  return relative(root, path);
}

/** Like `place`, but a package keeps its file: `ioredis/built/Command.js`. */
function file(url: string): string {
  const path = url.startsWith('file://') ? decodeURI(url.slice(7)) : url;
  const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+\/.*)$/.exec(path);
  return inPackage ? (inPackage[1] as string) : place(url);
}

function label(frame: CallFrame): { name: string; where: string } {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return { name, where: name.startsWith('(') ? '' : '(native)' };
  // tsx-compiled files report line 1 for everything: the line says nothing there.
  const line = frame.lineNumber > 0 ? `:${frame.lineNumber + 1}` : '';
  return { name, where: `${file(frame.url)}${line}` };
}

function top(map: Map<string, { name: string; where: string; ms: number }>, total: number, n: number) {
  return [...map.values()]
    .sort((a, b) => b.ms - a.ms)
    .slice(0, n)
    .map((r) => ({ ...r, percent: (100 * r.ms) / total }));
}

/** Aggregates a profile; `n` rows per table. */
export function summariseProfile(profile: CpuProfile, n = 25): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id);

  // Stack flags top-down, so each node knows what is above it.
  const flags = new Map<number, StackFlags>();
  const flagsOf = (id: number): StackFlags => {
    const known = flags.get(id);
    if (known) return known;
    const own = ownFlags((byId.get(id) as ProfileNode).callFrame);
    const up = parent.get(id);
    const p = up === undefined ? undefined : flagsOf(up);
    const f = p
      ? {
          signature: p.signature || own.signature,
          redis: p.redis || own.redis,
          http: p.http || own.http,
          src: p.src || own.src,
          profiler: p.profiler || own.profiler,
        }
      : own;
    flags.set(id, f);
    return f;
  };
  const centres = new Map<string, { name: string; where: string; ms: number }>();

  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  let totalUs = 0;
  let idleUs = 0;
  const fn = new Map<string, { name: string; where: string; ms: number }>();
  const where = new Map<string, { name: string; where: string; ms: number }>();
  const inclusive = new Map<string, { name: string; where: string; ms: number }>();

  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const stack = flagsOf(id);
    // Stopping the profiler serialises it on this thread: not the server's work.
    if (stack.profiler) continue;
    totalUs += us;
    const centre = COST_CENTRES.find((c) => c.match(stack, node.callFrame))?.name ?? 'other';
    const cc = centres.get(centre) ?? { name: centre, where: '', ms: 0 };
    cc.ms += us / 1000;
    centres.set(centre, cc);
    const l = label(node.callFrame);
    if (l.name === '(idle)') idleUs += us;
    const key = `${l.name}@${l.where}`;
    const f = fn.get(key) ?? { ...l, ms: 0 };
    f.ms += us / 1000;
    fn.set(key, f);
    const p = node.callFrame.url ? place(node.callFrame.url) : l.where || l.name;
    const w = where.get(p) ?? { name: p, where: '', ms: 0 };
    w.ms += us / 1000;
    where.set(p, w);

    // Inclusive: charge this sample to every distinct src/ function on its stack.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)?.callFrame;
      if (!frame?.url) continue;
      const pl = place(frame.url);
      if (!pl.startsWith('src/')) continue;
      const fl = label(frame);
      const k = `${fl.name}@${fl.where}`;
      if (seen.has(k)) continue;
      seen.add(k);
      const inc = inclusive.get(k) ?? { ...fl, ms: 0 };
      inc.ms += us / 1000;
      inclusive.set(k, inc);
    }
  }
  const totalMs = totalUs / 1000;
  return {
    totalMs,
    busyMs: (totalUs - idleUs) / 1000,
    costCentres: top(centres, totalMs, COST_CENTRES.length),
    selfByFunction: top(fn, totalMs, n),
    selfByPlace: top(where, totalMs, n),
    inclusiveSrc: top(inclusive, totalMs, n),
  };
}

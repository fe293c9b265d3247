import { describe, expect, it } from 'vitest';
import type { K8sObject } from '../../scripts/deploy/helm.js';
import { checkManifest, checkManifests } from '../../scripts/deploy/manifest-check.js';

const deployment = (spec: Record<string, unknown> = {}): K8sObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'sb', labels: { app: 'sb' } },
  spec: {
    selector: { matchLabels: { app: 'sb' } },
    template: {
      metadata: { labels: { app: 'sb' } },
      spec: { containers: [{ name: 'switchboard', image: 'switchboard:1' }] },
    },
    ...spec,
  },
});

describe('manifest check', () => {
  it('accepts valid objects', () => {
    expect(checkManifest(deployment())).toEqual([]);
    expect(
      checkManifest({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's' },
        data: { API_TOKEN: 'YWJj' },
      }),
    ).toEqual([]);
  });

  it.each([
    ['policy/v1beta1', 'PodDisruptionBudget', 'removed in Kubernetes 1.25'],
    ['autoscaling/v2beta2', 'HorizontalPodAutoscaler', 'removed in Kubernetes 1.26'],
    ['extensions/v1beta1', 'Ingress', 'removed in Kubernetes 1.22'],
    ['networking.k8s.io/v1beta1', 'Ingress', 'removed in Kubernetes 1.22'],
  ])('refuses the removed API version %s', (apiVersion, kind, why) => {
    const [problem] = checkManifest({ apiVersion, kind, metadata: { name: 'x' }, spec: {} });
    expect(problem).toContain(why);
  });

  it('refuses wrong types and missing required fields (kubernetes-models schema)', () => {
    expect(checkManifest(deployment({ replicas: '3' })).join()).toContain('replicas must be integer');
    const noName = deployment();
    (noName.spec as { template: { spec: { containers: object[] } } }).template.spec.containers = [
      { image: 'x' },
    ];
    expect(checkManifest(noName).join()).toContain('must have required property name');
  });

  it('refuses a kind it has no schema for, instead of passing it unchecked', () => {
    expect(checkManifest({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'x' } })[0]).toContain(
      'no schema for batch/v1 CronJob',
    );
  });

  it('refuses bad names, label values, data keys and non-base64 Secret data', () => {
    expect(checkManifest({ ...deployment(), metadata: { name: 'Bad_Name' } }).join()).toContain(
      'not a DNS name',
    );
    expect(
      checkManifest({ ...deployment(), metadata: { name: 'sb', labels: { v: 'a b' } } }).join(),
    ).toContain('not a valid label value');
    const cm: K8sObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c' },
      data: { 'a/b': 'x' },
    };
    expect(checkManifest(cm).join()).toContain('key "a/b"');
    const secret: K8sObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      data: { K: 'plain text!' },
    };
    expect(checkManifest(secret).join()).toContain('data.K is not base64');
  });

  it('reports an object rendered twice', () => {
    expect(checkManifests([deployment(), deployment()])).toContain('Deployment/sb: rendered twice');
  });
});

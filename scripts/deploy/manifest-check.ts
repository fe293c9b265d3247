import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import type { K8sObject } from './helm.js';

/**
 * Schema checks of rendered manifests without a cluster (there is no kubeconform here): each
 * object is built with its kubernetes-models class and validated against the Kubernetes OpenAPI
 * schema of that apiVersion/kind, after a deny-list of API versions that current clusters no
 * longer serve. kubernetes-models checks types, enums and required fields but, like kubeconform
 * without -strict, not unknown fields: the chart tests assert the fields that matter by name.
 */

/**
 * API versions removed from Kubernetes, with the release that removed them
 * (https://kubernetes.io/docs/reference/using-api/deprecation-guide/).
 */
export const REMOVED_API_VERSIONS: Readonly<Record<string, string>> = {
  'extensions/v1beta1': 'removed in Kubernetes 1.22 (Ingress: networking.k8s.io/v1; Deployment: apps/v1)',
  'apps/v1beta1': 'removed in Kubernetes 1.16 (use apps/v1)',
  'apps/v1beta2': 'removed in Kubernetes 1.16 (use apps/v1)',
  'networking.k8s.io/v1beta1': 'removed in Kubernetes 1.22 (use networking.k8s.io/v1)',
  'policy/v1beta1': 'removed in Kubernetes 1.25 (PodDisruptionBudget: policy/v1)',
  'autoscaling/v2beta1': 'removed in Kubernetes 1.25 (use autoscaling/v2)',
  'autoscaling/v2beta2': 'removed in Kubernetes 1.26 (use autoscaling/v2)',
  'batch/v1beta1': 'removed in Kubernetes 1.25 (CronJob: batch/v1)',
  'discovery.k8s.io/v1beta1': 'removed in Kubernetes 1.25 (use discovery.k8s.io/v1)',
  'events.k8s.io/v1beta1': 'removed in Kubernetes 1.25 (use events.k8s.io/v1)',
  'node.k8s.io/v1beta1': 'removed in Kubernetes 1.25 (use node.k8s.io/v1)',
  'rbac.authorization.k8s.io/v1beta1': 'removed in Kubernetes 1.22 (use rbac.authorization.k8s.io/v1)',
  'admissionregistration.k8s.io/v1beta1': 'removed in Kubernetes 1.22 (use admissionregistration.k8s.io/v1)',
  'apiextensions.k8s.io/v1beta1': 'removed in Kubernetes 1.22 (use apiextensions.k8s.io/v1)',
  'apiregistration.k8s.io/v1beta1': 'removed in Kubernetes 1.22 (use apiregistration.k8s.io/v1)',
  'certificates.k8s.io/v1beta1': 'removed in Kubernetes 1.22 (use certificates.k8s.io/v1)',
  'coordination.k8s.io/v1beta1': 'removed in Kubernetes 1.22 (use coordination.k8s.io/v1)',
  'scheduling.k8s.io/v1beta1': 'removed in Kubernetes 1.22 (use scheduling.k8s.io/v1)',
  'storage.k8s.io/v1beta1': 'removed in Kubernetes 1.22-1.27 (use storage.k8s.io/v1)',
  'flowcontrol.apiserver.k8s.io/v1beta1': 'removed in Kubernetes 1.26 (use flowcontrol.apiserver.k8s.io/v1)',
  'flowcontrol.apiserver.k8s.io/v1beta2': 'removed in Kubernetes 1.29 (use flowcontrol.apiserver.k8s.io/v1)',
};

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: never) => Validatable;

/** The kubernetes-models class of each apiVersion/kind the chart may render. */
const MODELS: Readonly<Record<string, ModelClass>> = {
  'v1/ConfigMap': ConfigMap as unknown as ModelClass,
  'v1/Secret': Secret as unknown as ModelClass,
  'v1/Service': Service as unknown as ModelClass,
  'v1/ServiceAccount': ServiceAccount as unknown as ModelClass,
  'apps/v1/Deployment': Deployment as unknown as ModelClass,
  'networking.k8s.io/v1/Ingress': Ingress as unknown as ModelClass,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy as unknown as ModelClass,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler as unknown as ModelClass,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as unknown as ModelClass,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor as unknown as ModelClass,
};

/** Names most objects must have: a DNS-1123 subdomain (Services and labels are stricter: a label). */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** ConfigMap and Secret keys. */
const DATA_KEY = /^[-._a-zA-Z0-9]+$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** etcd's object size limit, which also caps a ConfigMap's data. */
const MAX_CONFIGMAP_BYTES = 1024 * 1024;

/** What is wrong with one object; an empty list when nothing is. */
export function checkManifest(obj: K8sObject): string[] {
  const problems: string[] = [];
  if (!obj || typeof obj !== 'object') return ['not an object'];
  const { apiVersion, kind } = obj;
  const name = obj.metadata?.name;
  const removed = REMOVED_API_VERSIONS[apiVersion];
  if (removed) return [`${kind} uses apiVersion ${apiVersion}, ${removed}`];

  const Model = MODELS[`${apiVersion}/${kind}`];
  if (!Model) {
    return [
      `no schema for ${apiVersion} ${kind}: add its kubernetes-models class to scripts/deploy/manifest-check.ts`,
    ];
  }
  try {
    new Model(obj as never).validate();
  } catch (err) {
    problems.push(`schema: ${(err as Error).message}`);
  }

  if (!name) problems.push('metadata.name is missing');
  else if (name.length > 253 || !DNS_SUBDOMAIN.test(name))
    problems.push(`metadata.name "${name}" is not a DNS name`);
  else if (kind === 'Service' && (name.length > 63 || !DNS_LABEL.test(name)))
    problems.push(`Service name "${name}" must be a DNS label of at most 63 characters`);

  for (const [key, value] of Object.entries(obj.metadata?.labels ?? {})) {
    if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value))
      problems.push(`label ${key}="${String(value)}" is not a valid label value`);
  }

  if (kind === 'ConfigMap' || kind === 'Secret') {
    let bytes = 0;
    for (const field of ['data', 'binaryData', 'stringData']) {
      for (const [key, value] of Object.entries((obj[field] as Record<string, unknown>) ?? {})) {
        if (!DATA_KEY.test(key)) problems.push(`${field} key "${key}" may only hold letters, digits, - _ .`);
        if (typeof value !== 'string') problems.push(`${field}.${key} must be a string, got ${typeof value}`);
        else {
          bytes += value.length;
          const encoded = field === 'binaryData' || (kind === 'Secret' && field === 'data');
          if (encoded && !BASE64.test(value)) problems.push(`${field}.${key} is not base64`);
        }
      }
    }
    if (bytes > MAX_CONFIGMAP_BYTES) problems.push(`${kind} holds ${bytes} bytes, over the 1 MiB limit`);
  }
  return problems;
}

/** Checks every object; returns one line per problem, prefixed with the object's kind/name. */
export function checkManifests(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const obj of objects) {
    const id = `${obj?.kind ?? '?'}/${obj?.metadata?.name ?? '?'}`;
    if (seen.has(id)) problems.push(`${id}: rendered twice`);
    seen.add(id);
    for (const p of checkManifest(obj)) problems.push(`${id}: ${p}`);
  }
  return problems;
}

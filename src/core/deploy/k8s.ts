import { stringify } from 'yaml';
import { ISOLATION, type ResourceLimits } from './isolation';
import { SERVE_PORT, slug } from './names';

/**
 * Kubernetes export: the same deployment (same runtime, same isolation) as manifests for teams that
 * outgrow one Docker host. The Docker-side settings map as follows: non-root user -> runAsNonRoot/runAsUser;
 * read-only root -> readOnlyRootFilesystem; no-new-privileges -> allowPrivilegeEscalation: false;
 * CapDrop ALL -> capabilities.drop [ALL]; default seccomp -> seccompProfile RuntimeDefault; tmpfs /tmp ->
 * an in-memory emptyDir; memory/CPU limits -> resources; the internal network -> a NetworkPolicy that
 * denies all egress. (The pids limit is a node/kubelet setting, podPidsLimit, not part of the pod spec.)
 */
export interface K8sExportInput {
  name: string;
  version: string;
  sha256: string;
  format: 'gguf' | 'onnx';
  manifestCommit: string;
  /** The image in YOUR registry that holds the runtime (the app image pushed there). */
  image: string;
  limits: ResourceLimits;
  /** PersistentVolumeClaim holding the content-addressed store (ROOT/sha256/ab/cdef...), mounted read-only. */
  storeClaim: string;
  namespace?: string;
  replicas?: number;
  /**
   * The workspace policy the version was checked against: shipped as a ConfigMap mounted read-only at
   * /policy/policy.yaml, and the runtime gates the model with it (`--policy`), as in the Docker deployment.
   */
  policy?: { text: string; sha256: string };
  /**
   * With `policy`: the version's drift baseline (`sovereign eval`), in the same ConfigMap at
   * /policy/drift-baseline.json; the runtime watches live inputs against it (`--drift-baseline`).
   */
  driftBaseline?: { text: string; sha256: string };
  /** With `policy`: a language model's baseline prompt set, at /policy/drift-prompts.txt (`--drift-baseline-prompts`). */
  driftPrompts?: { text: string; sha256: string };
  /**
   * Serve from the OCI artifact instead of the store claim: an image volume (Kubernetes 1.31+, the way
   * ModelPack artifacts are mounted) of the pinned digest, and a ValidatingAdmissionPolicy that admits
   * sovereign pods only when every image volume is one of the exported signed digests.
   */
  oci?: K8sOciSource;
}

export interface K8sOciSource {
  /** HOST[:PORT]/REPOSITORY@sha256:HEX of the model manifest (never a tag). */
  reference: string;
  /** The served artifact's path inside the artifact (its `org.cncf.model.filepath`). */
  path: string;
  /** Who signed the digest (the key the export verified). */
  signatureKeyId: string;
}

export interface K8sManifest {
  file: string;
  object: Record<string, unknown>;
}

const MODEL_DIR = '/models';

/** Kubernetes names: DNS-1123 labels (lower case, digits, "-"; at most 63 characters). */
export function k8sName(model: string, version: string): string {
  const base = `sovereign-${slug(model)}-${slug(version)}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/-+/g, '-');
  return base.slice(0, 63).replace(/-+$/, '');
}

function labelValue(v: string): string {
  // Label values: at most 63 characters of [A-Za-z0-9._-], starting and ending alphanumeric.
  return v.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '') || 'x';
}

function common(i: K8sExportInput): { name: string; labels: Record<string, string>; annotations: Record<string, string>; selector: Record<string, string> } {
  const name = k8sName(i.name, i.version);
  const selector = { 'app.kubernetes.io/name': 'sovereign-serve', 'app.kubernetes.io/instance': name };
  return {
    name,
    selector,
    labels: { ...selector, 'app.kubernetes.io/version': labelValue(i.version), 'app.kubernetes.io/managed-by': 'sovereign', 'sovereign.model': labelValue(i.name), 'sovereign.version': labelValue(i.version) },
    // Values that do not fit a label (64-hex digests, commits) are annotations.
    annotations: { 'sovereign.sha256': i.sha256, 'sovereign.manifest-commit': i.manifestCommit, 'sovereign.model': i.name, 'sovereign.version': i.version },
  };
}

/** The names the cluster's DNS gives the Service: NAME in its namespace, NAME.NS.svc[.cluster.local] anywhere. */
function serviceHosts(name: string, namespace: string | undefined): string[] {
  return namespace ? [name, `${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`] : [name];
}

const POLICY_DIR = '/policy';

function policyConfigMapName(i: K8sExportInput): string {
  return `${k8sName(i.name, i.version).slice(0, 56).replace(/-+$/, '')}-policy`;
}

const OCI_MODEL_DIR = '/models/oci';

function podParts(i: K8sExportInput): { container: Record<string, unknown>; volumes: unknown[]; securityContext: Record<string, unknown> } {
  const file = i.oci ? `${OCI_MODEL_DIR}/${i.oci.path}` : `${MODEL_DIR}/model.${i.format}`;
  const container = {
    name: 'serve',
    image: i.image,
    imagePullPolicy: 'IfNotPresent',
    args: ['--model', file, ...(i.policy ? ['--policy', `${POLICY_DIR}/policy.yaml`, '--policy-model', `${i.name}@${i.version}`, ...(i.driftBaseline ? ['--drift-baseline', `${POLICY_DIR}/drift-baseline.json`] : []), ...(i.driftPrompts ? ['--drift-baseline-prompts', `${POLICY_DIR}/drift-prompts.txt`] : [])] : []), '--host', '0.0.0.0', '--port', String(SERVE_PORT), ...serviceHosts(k8sName(i.name, i.version), i.namespace).flatMap((h) => ['--allowed-host', h])],
    ports: [{ name: 'http', containerPort: SERVE_PORT, protocol: 'TCP' }],
    env: [
      { name: 'NODE_ENV', value: 'production' },
      { name: 'HOME', value: '/tmp' },
      { name: 'NODE_LLAMA_CPP_SKIP_DOWNLOAD', value: 'true' },
    ],
    resources: {
      requests: { cpu: cpuQuantity(i.limits.cpus), memory: `${i.limits.memoryMb}Mi` },
      limits: { cpu: cpuQuantity(i.limits.cpus), memory: `${i.limits.memoryMb}Mi` },
    },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: ISOLATION.uid,
      runAsGroup: ISOLATION.gid,
      readOnlyRootFilesystem: ISOLATION.readOnlyRootFilesystem,
      allowPrivilegeEscalation: !ISOLATION.noNewPrivileges,
      privileged: false,
      capabilities: { drop: ISOLATION.capDrop },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    // HTTP-level probes, as on Docker: a TCP check passes before the model is loaded.
    readinessProbe: { httpGet: { path: '/health', port: 'http' }, periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 3 },
    startupProbe: { httpGet: { path: '/health', port: 'http' }, periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 90 },
    livenessProbe: { httpGet: { path: '/health', port: 'http' }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
    volumeMounts: [
      // The store object by its digest, read-only: the same bytes the registry pins (or the artifact's image volume).
      i.oci ? { name: 'model-oci', mountPath: OCI_MODEL_DIR, readOnly: true } : { name: 'model-store', mountPath: file, subPath: `sha256/${i.sha256.slice(0, 2)}/${i.sha256.slice(2)}`, readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
      ...(i.policy ? [{ name: 'policy', mountPath: POLICY_DIR, readOnly: true }] : []),
    ],
  };
  const volumes = [
    i.oci ? { name: 'model-oci', image: { reference: i.oci.reference, pullPolicy: 'IfNotPresent' } } : { name: 'model-store', persistentVolumeClaim: { claimName: i.storeClaim, readOnly: true } },
    { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: `${ISOLATION.tmpfsSizeMb}Mi` } },
    ...(i.policy ? [{ name: 'policy', configMap: { name: policyConfigMapName(i), defaultMode: 0o444 } }] : []),
  ];
  const securityContext = {
    runAsNonRoot: true,
    runAsUser: ISOLATION.uid,
    runAsGroup: ISOLATION.gid,
    fsGroup: ISOLATION.gid,
    seccompProfile: { type: 'RuntimeDefault' },
  };
  return { container, volumes, securityContext };
}

function cpuQuantity(cpus: number): string {
  return Number.isInteger(cpus) ? String(cpus) : `${Math.round(cpus * 1000)}m`;
}

/** Denies every egress (no DNS either: the runtime needs none) and admits HTTP on the serving port only. */
function networkPolicy(i: K8sExportInput, c: ReturnType<typeof common>): K8sManifest {
  return {
    file: 'networkpolicy.yaml',
    object: {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: `${c.name}-isolation`, labels: c.labels, annotations: c.annotations, ...(i.namespace ? { namespace: i.namespace } : {}) },
      spec: {
        podSelector: { matchLabels: c.selector },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ ports: [{ protocol: 'TCP', port: SERVE_PORT }] }],
        egress: [],
      },
    },
  };
}

/** The shipped policy, immutable (a changed policy is a new export). */
function policyConfigMap(i: K8sExportInput, c: ReturnType<typeof common>): K8sManifest[] {
  if (!i.policy) return [];
  return [
    {
      file: 'policy-configmap.yaml',
      object: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: policyConfigMapName(i), labels: c.labels, annotations: c.annotations, ...(i.namespace ? { namespace: i.namespace } : {}) },
        immutable: true,
        data: { 'policy.yaml': i.policy.text, ...(i.driftBaseline ? { 'drift-baseline.json': i.driftBaseline.text } : {}), ...(i.driftPrompts ? { 'drift-prompts.txt': i.driftPrompts.text } : {}) },
      },
    },
  ];
}

/**
 * Only signed digests run: sovereign-managed pods are admitted when every image volume they mount is one of
 * the digests the export verified (a tag, or another digest, is denied), and they mount at least one.
 */
function admissionPolicy(i: K8sExportInput, c: ReturnType<typeof common>): K8sManifest[] {
  if (!i.oci) return [];
  const name = `${c.name.slice(0, 48).replace(/-+$/, '')}-signed-model`;
  const allowed = JSON.stringify([i.oci.reference]).replace(/"/g, "'");
  return [
    {
      file: 'admission-policy.yaml',
      object: {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicy',
        metadata: { name, labels: c.labels, annotations: { ...c.annotations, 'sovereign.signature-key-id': i.oci.signatureKeyId } },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods'] }] },
          validations: [
            {
              expression: `has(object.spec.volumes) && object.spec.volumes.exists(v, has(v.image)) && object.spec.volumes.all(v, !has(v.image) || v.image.reference in ${allowed})`,
              message: `sovereign model pods mount only the signed model digest ${i.oci.reference}`,
              reason: 'Forbidden',
            },
          ],
        },
      },
    },
    {
      file: 'admission-policy-binding.yaml',
      object: {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicyBinding',
        metadata: { name, labels: c.labels },
        spec: {
          policyName: name,
          validationActions: ['Deny'],
          matchResources: {
            objectSelector: { matchLabels: c.selector },
            ...(i.namespace ? { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': i.namespace } } } : {}),
          },
        },
      },
    },
  ];
}

export function exportKubernetes(i: K8sExportInput, options: { kserve?: boolean } = {}): K8sManifest[] {
  const c = common(i);
  if (i.oci) c.annotations['sovereign.oci-reference'] = i.oci.reference;
  if (i.policy) c.annotations['sovereign.policy-sha256'] = i.policy.sha256;
  if (i.policy && i.driftBaseline) c.annotations['sovereign.drift-baseline-sha256'] = i.driftBaseline.sha256;
  if (i.policy && i.driftPrompts) c.annotations['sovereign.drift-prompts-sha256'] = i.driftPrompts.sha256;
  const pod = podParts(i);
  const meta = { name: c.name, labels: c.labels, annotations: c.annotations, ...(i.namespace ? { namespace: i.namespace } : {}) };
  const podSpecExtras = { automountServiceAccountToken: false, enableServiceLinks: false, securityContext: pod.securityContext, volumes: pod.volumes };
  if (options.kserve) {
    return [
      ...policyConfigMap(i, c),
      {
        file: 'inferenceservice.yaml',
        object: {
          apiVersion: 'serving.kserve.io/v1beta1',
          kind: 'InferenceService',
          metadata: meta,
          spec: { predictor: { minReplicas: i.replicas ?? 1, containers: [{ ...pod.container, name: 'kserve-container' }], ...podSpecExtras } },
        },
      },
      networkPolicy(i, c),
      ...admissionPolicy(i, c),
    ];
  }
  return [
    ...policyConfigMap(i, c),
    {
      file: 'deployment.yaml',
      object: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: meta,
        spec: {
          replicas: i.replicas ?? 1,
          selector: { matchLabels: c.selector },
          template: { metadata: { labels: c.labels, annotations: c.annotations }, spec: { containers: [pod.container], ...podSpecExtras } },
        },
      },
    },
    {
      file: 'service.yaml',
      object: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: meta,
        spec: { type: 'ClusterIP', selector: c.selector, ports: [{ name: 'http', port: SERVE_PORT, targetPort: 'http', protocol: 'TCP' }] },
      },
    },
    networkPolicy(i, c),
    ...admissionPolicy(i, c),
  ];
}

/** Multi-document YAML, in `kubectl apply -f -` order. */
export function manifestsToYaml(list: K8sManifest[]): string {
  return list.map((m) => `# ${m.file}\n${stringify(m.object, { lineWidth: 0 })}`).join('---\n');
}

import { strict as assert } from 'node:assert';
import { parseAllDocuments } from 'yaml';
import { exportKubernetes, k8sName, manifestsToYaml, type K8sExportInput } from '../../../src/core/deploy/k8s';
import { defaultLimits, ISOLATION } from '../../../src/core/deploy/isolation';

/**
 * The exported manifests are validated against the Kubernetes OpenAPI schemas (kubernetes-models ships
 * them compiled to ajv validators, one per API type) and checked field by field for the isolation the
 * Docker deployment has. The validators do not reject unknown fields (neither does the API server's
 * schema), so the isolation fields are asserted by path as well: a typo there fails the test.
 */
type Validatable = { validate(): void };
type ModelCtor = new (data: unknown) => Validatable;

async function models(): Promise<{ Deployment: ModelCtor; Service: ModelCtor; NetworkPolicy: ModelCtor; PodSpec: ModelCtor; ObjectMeta: ModelCtor }> {
  // ESM-only package: a dynamic import from CommonJS.
  const apps = (await import('kubernetes-models/apps/v1')) as unknown as { Deployment: ModelCtor };
  const core = (await import('kubernetes-models/v1')) as unknown as { Service: ModelCtor; PodSpec: ModelCtor };
  const net = (await import('kubernetes-models/networking.k8s.io/v1')) as unknown as { NetworkPolicy: ModelCtor };
  const meta = (await import('@kubernetes-models/apimachinery/apis/meta/v1')) as unknown as { ObjectMeta: ModelCtor };
  return { Deployment: apps.Deployment, Service: core.Service, NetworkPolicy: net.NetworkPolicy, PodSpec: core.PodSpec, ObjectMeta: meta.ObjectMeta };
}

const INPUT: K8sExportInput = {
  name: 'Tiny_Llama',
  version: '1.2.0-rc.1',
  sha256: 'ab'.repeat(32),
  format: 'gguf',
  manifestCommit: '0123456789abcdef0123456789abcdef01234567',
  image: 'registry.example.internal/sovereign-app:abc',
  limits: defaultLimits(700_000),
  storeClaim: 'sovereign-store',
  namespace: 'models',
};

function get(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o === undefined || o === null ? undefined : (o as Record<string, unknown>)[/^\d+$/.test(k) ? Number(k) : k]), obj);
}

describe('deploy: Kubernetes export', () => {
  it('Deployment, Service and NetworkPolicy validate against the Kubernetes schemas', async () => {
    const m = await models();
    const list = exportKubernetes(INPUT);
    assert.deepEqual(list.map((x) => x.file), ['deployment.yaml', 'service.yaml', 'networkpolicy.yaml']);
    new m.Deployment(list[0].object).validate();
    new m.Service(list[1].object).validate();
    new m.NetworkPolicy(list[2].object).validate();
  });

  it('the validator is real: a wrong type is rejected', async () => {
    const m = await models();
    const bad = structuredClone(exportKubernetes(INPUT)[0].object) as Record<string, unknown>;
    (bad.spec as Record<string, unknown>).replicas = 'two';
    assert.throws(() => new m.Deployment(bad).validate(), /replicas must be integer/);
  });

  it('carries the same isolation as the Docker deployment', () => {
    const dep = exportKubernetes(INPUT)[0].object;
    const pod = 'spec.template.spec';
    const c = `${pod}.containers.0`;
    const expect: Record<string, unknown> = {
      [`${pod}.securityContext.runAsNonRoot`]: true,
      [`${pod}.securityContext.runAsUser`]: ISOLATION.uid,
      [`${pod}.securityContext.seccompProfile.type`]: 'RuntimeDefault',
      [`${pod}.automountServiceAccountToken`]: false,
      [`${c}.securityContext.runAsNonRoot`]: true,
      [`${c}.securityContext.readOnlyRootFilesystem`]: true,
      [`${c}.securityContext.allowPrivilegeEscalation`]: false,
      [`${c}.securityContext.privileged`]: false,
      [`${c}.securityContext.seccompProfile.type`]: 'RuntimeDefault',
      [`${c}.resources.limits.memory`]: `${INPUT.limits.memoryMb}Mi`,
      [`${c}.resources.limits.cpu`]: String(INPUT.limits.cpus),
      [`${c}.readinessProbe.httpGet.path`]: '/health',
      [`${c}.volumeMounts.0.readOnly`]: true,
      [`${c}.volumeMounts.0.subPath`]: `sha256/ab/${'ab'.repeat(31)}`,
      [`${pod}.volumes.0.persistentVolumeClaim.readOnly`]: true,
      [`${pod}.volumes.1.emptyDir.medium`]: 'Memory',
    };
    for (const [path, value] of Object.entries(expect)) assert.deepEqual(get(dep, path), value, path);
    assert.deepEqual(get(dep, `${c}.securityContext.capabilities.drop`), ['ALL']);
    // The Service's DNS names are allowed Host headers (the runtime refuses other names: DNS rebinding).
    const svc = k8sName(INPUT.name, INPUT.version);
    assert.deepEqual(get(dep, `${c}.args`), [
      '--model', '/models/model.gguf', '--host', '0.0.0.0', '--port', '8080',
      ...[svc, `${svc}.models`, `${svc}.models.svc`, `${svc}.models.svc.cluster.local`].flatMap((h) => ['--allowed-host', h]),
    ]);
    // Values too long for labels travel as annotations.
    const ann = (dep.metadata as { annotations: Record<string, string> }).annotations;
    assert.equal(ann['sovereign.sha256'], INPUT.sha256);
    assert.equal(ann['sovereign.manifest-commit'], INPUT.manifestCommit);
  });

  it('the NetworkPolicy denies every egress and admits only the serving port', () => {
    const np = exportKubernetes(INPUT)[2].object;
    assert.deepEqual(get(np, 'spec.policyTypes'), ['Ingress', 'Egress']);
    assert.deepEqual(get(np, 'spec.egress'), []);
    assert.deepEqual(get(np, 'spec.ingress.0.ports'), [{ protocol: 'TCP', port: 8080 }]);
    const dep = exportKubernetes(INPUT)[0].object;
    assert.deepEqual(get(np, 'spec.podSelector.matchLabels'), get(dep, 'spec.selector.matchLabels'));
  });

  it('KServe: an InferenceService whose predictor is a valid PodSpec with the same isolation', async () => {
    const m = await models();
    const [isvc, np] = exportKubernetes(INPUT, { kserve: true });
    assert.equal(isvc.object.apiVersion, 'serving.kserve.io/v1beta1');
    assert.equal(isvc.object.kind, 'InferenceService');
    new m.ObjectMeta(isvc.object.metadata).validate();
    // The predictor is a PodSpec plus KServe's component fields (minReplicas...).
    const { minReplicas, ...podSpec } = (isvc.object.spec as { predictor: Record<string, unknown> }).predictor;
    assert.equal(minReplicas, 1);
    new m.PodSpec(podSpec).validate();
    assert.equal(get(podSpec, 'containers.0.securityContext.readOnlyRootFilesystem'), true);
    assert.deepEqual(get(podSpec, 'containers.0.securityContext.capabilities.drop'), ['ALL']);
    new m.NetworkPolicy(np.object).validate();
  });

  it('ships the workspace policy: an immutable ConfigMap mounted read-only at /policy, applied with --policy', async () => {
    const core = (await import('kubernetes-models/v1')) as unknown as { ConfigMap: ModelCtor; PodSpec: ModelCtor };
    const m = await models();
    const text = 'version: 1\nlicenses:\n  allowed: [mit]\n';
    const list = exportKubernetes({ ...INPUT, policy: { text, sha256: 'cd'.repeat(32) } });
    assert.deepEqual(list.map((x) => x.file), ['policy-configmap.yaml', 'deployment.yaml', 'service.yaml', 'networkpolicy.yaml']);
    const [cm, dep] = list.map((x) => x.object);
    new core.ConfigMap(cm).validate();
    new m.Deployment(dep).validate();
    assert.equal((cm.data as Record<string, string>)['policy.yaml'], text);
    assert.equal(cm.immutable, true);
    assert.equal(get(cm, 'metadata.namespace'), 'models');
    const pod = 'spec.template.spec';
    const c = `${pod}.containers.0`;
    assert.deepEqual((get(dep, `${c}.args`) as string[]).slice(0, 10), ['--model', '/models/model.gguf', '--policy', '/policy/policy.yaml', '--policy-model', 'Tiny_Llama@1.2.0-rc.1', '--host', '0.0.0.0', '--port', '8080']);
    const mount = (get(dep, `${c}.volumeMounts`) as Array<{ name: string; mountPath: string; readOnly?: boolean }>).find((v) => v.name === 'policy');
    assert.deepEqual(mount, { name: 'policy', mountPath: '/policy', readOnly: true });
    const volume = (get(dep, `${pod}.volumes`) as Array<{ name: string; configMap?: { name: string } }>).find((v) => v.name === 'policy');
    assert.equal(volume?.configMap?.name, get(cm, 'metadata.name'));
    assert.equal((get(dep, 'metadata.annotations') as Record<string, string>)['sovereign.policy-sha256'], 'cd'.repeat(32));
    // An ONNX version's drift baseline rides in the same ConfigMap, and the runtime is pointed at it.
    const baseline = '{"schema":"sovereign.drift-baseline/v1","features":[]}';
    const [bcm, bdep] = exportKubernetes({ ...INPUT, policy: { text, sha256: 'cd'.repeat(32) }, driftBaseline: { text: baseline, sha256: 'ef'.repeat(32) } }).map((x) => x.object);
    new core.ConfigMap(bcm).validate();
    assert.equal((bcm.data as Record<string, string>)['drift-baseline.json'], baseline);
    const bargs = get(bdep, `${c}.args`) as string[];
    assert.equal(bargs[bargs.indexOf('--drift-baseline') + 1], '/policy/drift-baseline.json');
    assert.equal((get(bdep, 'metadata.annotations') as Record<string, string>)['sovereign.drift-baseline-sha256'], 'ef'.repeat(32));
    assert.ok(!(get(dep, `${c}.args`) as string[]).includes('--drift-baseline'), 'no baseline, no flag');
    // A language model's baseline prompt set, the same way.
    const prompts = '{"prompt":"explain this function"}\n';
    const [pcm, pdep] = exportKubernetes({ ...INPUT, policy: { text, sha256: 'cd'.repeat(32) }, driftPrompts: { text: prompts, sha256: '12'.repeat(32) } }).map((x) => x.object);
    new core.ConfigMap(pcm).validate();
    assert.equal((pcm.data as Record<string, string>)['drift-prompts.txt'], prompts);
    const pargs = get(pdep, `${c}.args`) as string[];
    assert.equal(pargs[pargs.indexOf('--drift-baseline-prompts') + 1], '/policy/drift-prompts.txt');
    assert.equal((get(pdep, 'metadata.annotations') as Record<string, string>)['sovereign.drift-prompts-sha256'], '12'.repeat(32));
    assert.ok(!(get(dep, `${c}.args`) as string[]).includes('--drift-baseline-prompts'), 'no prompt set, no flag');
    // KServe gets the same ConfigMap and mount.
    const [kcm, isvc] = exportKubernetes({ ...INPUT, policy: { text, sha256: 'cd'.repeat(32) } }, { kserve: true });
    assert.equal(kcm.file, 'policy-configmap.yaml');
    assert.ok((get(isvc.object, 'spec.predictor.containers.0.args') as string[]).includes('--policy'));
  });

  it('names are DNS-1123 labels; the YAML round-trips', () => {
    assert.equal(k8sName('Tiny_Llama', '1.2.0-rc.1'), 'sovereign-tiny-llama-1-2-0-rc-1');
    assert.ok(k8sName('x'.repeat(100), '1.0.0').length <= 63);
    const docs = parseAllDocuments(manifestsToYaml(exportKubernetes(INPUT)));
    assert.equal(docs.length, 3);
    assert.deepEqual(docs[0].toJS(), exportKubernetes(INPUT)[0].object);
  });
});

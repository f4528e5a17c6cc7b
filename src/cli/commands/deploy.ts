import { ociModelSource, pullIfOci } from '../../core/deploy/k8s-oci';
import type { Command } from 'commander';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  deployStaging,
  exportKubernetes,
  listDeployments,
  deploymentForLogs,
  manifestsToYaml,
  promote,
  removeModelDeployments,
  rollback,
  runCanary,
  streamLogs,
  connectDocker,
  defaultLimits,
  type CanaryReport,
  type CanaryRequest,
  type Deployment,
  type ResourceLimits,
  type StagingResult,
  type SwitchOutcome,
} from '../../core/deploy';
import { FileFactCache } from '../../core/deploy/digest-cache';
import { baseImageSetting } from '../../core/deploy/settings';
import { pruneImages, type PrunedImage, type PruneResult } from '../../core/deploy/prune';
import { resolveDeployableModel } from '../../core/deploy/model-ref';
import { parseModelRef } from '../../core/registry/manifest';
import { findWorkspaceRoot } from '../../core/workspace/workspace';
import { ioError, UsageError } from '../../core/util/errors';
import { emit, info, json } from '../output';

interface LimitOpts {
  memory?: string;
  cpus?: string;
  pids?: string;
}

function number(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`${flag} must be a number >= ${min} (got "${value}")`);
  return n;
}

function limitsFrom(o: LimitOpts): Partial<ResourceLimits> {
  const l: Partial<ResourceLimits> = {};
  const memory = number(o.memory, '--memory', 64);
  const cpus = number(o.cpus, '--cpus', 0.1);
  const pids = number(o.pids, '--pids', 16);
  if (memory !== undefined) l.memoryMb = memory;
  if (cpus !== undefined) l.cpus = cpus;
  if (pids !== undefined) l.pids = pids;
  return l;
}

function modelName(ref: string): string {
  const { name, version } = parseModelRef(ref);
  if (version) throw new UsageError(`give the model name only ("${name}"), not a version`);
  return name;
}

const log = (line: string): void => info(line);

function stagingText(r: StagingResult): string {
  const t = r.timings;
  return [
    `deployed ${r.model}@${r.version} -> ${r.url}`,
    `  container   ${r.container} (${r.modelMode === 'copy' ? 'model copied into the image' : 'model mounted read-only'})`,
    `  image       ${r.image}${r.imageReused ? ' (reused)' : ' (built)'}`,
    `  sha256      ${r.sha256}`,
    `  manifest    commit ${r.manifestCommit}`,
    `  policy      sha256 ${r.policySha256.slice(0, 12)}… checked, shipped and applied in the container`,
    r.previous ? `  previous    ${r.previous} (stopped, kept for rollback)` : undefined,
    `  cold start  image ${t.imageBuildMs} ms, container ${t.containerStartMs} ms, model load ${t.modelLoadMs} ms, ready ${t.readyMs} ms, first token ${t.firstTokenMs ?? '-'} ms, gateway ${t.gatewayMs} ms, total ${t.totalMs} ms`,
    r.auditError ? `  warning: ${r.auditError}` : undefined,
  ]
    .filter(Boolean)
    .join('\n') + '\n';
}

function switchText(verb: string, r: SwitchOutcome): string {
  return [
    `${verb} ${r.model}: ${r.from ?? '(none)'} -> ${r.to} in ${Math.round(r.ms)} ms, serving at ${r.url}`,
    r.alias ? `  alias ${r.alias.name} -> ${r.to}${r.alias.changed ? ` (commit ${r.alias.commit?.slice(0, 8)})` : ' (unchanged)'}` : undefined,
    r.auditError ? `  warning: ${r.auditError}` : undefined,
  ]
    .filter(Boolean)
    .join('\n') + '\n';
}

function pruneText(r: PruneResult): string {
  const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
  const name = (i: PrunedImage): string => `${i.tags[0] ?? i.id.slice(7, 19)} (${i.kind}, ${mib(i.sizeBytes)})`;
  const lines = [
    r.removed.length
      ? `${r.dryRun ? 'would remove' : 'removed'} ${r.removed.length} image(s), ${mib(r.reclaimableBytes)}:`
      : 'nothing to remove',
    ...r.removed.map((i) => `  - ${name(i)}`),
    ...(r.kept.length ? [`kept ${r.kept.length}:`, ...r.kept.map((i) => `  = ${name(i)}: ${i.reason}`)] : []),
  ];
  return `${lines.join('\n')}\n`;
}

function canaryText(r: CanaryReport): string {
  const side = (label: string, s: CanaryReport['stable']): string =>
    `  ${label.padEnd(7)} ${s.version.padEnd(12)} p50 ${s.p50Ms} ms  p95 ${s.p95Ms} ms  errors ${s.errors}/${s.requests}`;
  return [
    `canary ${r.model}: ${r.verdict.toUpperCase()}`,
    side('stable', r.stable),
    side('canary', r.canary),
    `  outputs agree on ${(r.agreement * 100).toFixed(1)}%, latency ratio ${Number.isFinite(r.latencyRatio) ? r.latencyRatio.toFixed(2) : 'inf'}x`,
    r.shadow ? shadowText(r.shadow) : undefined,
    ...r.reasons.map((x) => `  why: ${x}`),
    ...r.notes.map((x) => `  note: ${x}`),
    ...(r.shadow?.mismatches ?? []).slice(0, 3).map((m) => `  live mismatch ${m.route}: stable ${JSON.stringify(m.stable.slice(0, 60))} vs canary ${JSON.stringify(m.canary.slice(0, 60))}`),
    ...r.mismatches.slice(0, 3).map((m) => `  mismatch #${m.index}: stable ${JSON.stringify(m.stable.slice(0, 60))} vs canary ${JSON.stringify(m.canary.slice(0, 60))}`),
    r.promotion ? `  promoted in ${Math.round(r.promotion.ms)} ms; serving at ${r.promotion.url}` : r.verdict === 'rejected' ? `  kept ${r.stable.version}; the canary was removed` : undefined,
    r.auditError ? `  warning: ${r.auditError}` : undefined,
  ]
    .filter(Boolean)
    .join('\n') + '\n';
}

function shadowText(s: NonNullable<CanaryReport['shadow']>): string {
  const rate = (x: number | null): string => (x === null ? '-' : `${(x * 100).toFixed(1)}%`);
  return `  shadow  ${rate(s.share)} of live traffic, ${s.seconds} s: ${s.mirrored} mirrored, ${s.skipped} skipped, agree ${rate(s.agreement)} of ${s.comparable} comparable, canary errors ${s.canaryErrors} (${rate(s.errorRate)}), p50 stable ${s.stableP50Ms} ms / canary ${s.canaryP50Ms} ms`;
}

function statusText(list: Deployment[]): string {
  if (!list.length) return 'no deployments\n';
  const rows = list.map((d) => [d.model, d.version, d.role, d.state, d.url ?? d.directUrl ?? '-', d.container, d.sha256.slice(0, 12)]);
  const head = ['MODEL', 'VERSION', 'ROLE', 'STATE', 'URL', 'CONTAINER', 'SHA256'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n') + '\n';
}

async function readRequests(file: string, kind: 'prompts' | 'inputs'): Promise<CanaryRequest[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw ioError(err, file);
  }
  const out: CanaryRequest[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    if (kind === 'inputs') {
      try {
        out.push({ predict: JSON.parse(line) as unknown });
      } catch {
        throw new UsageError(`${file}:${i + 1}: not a JSON object`, 'one /v1/predict request body per line (JSON lines)');
      }
      return;
    }
    // A prompt per line: JSON ({"prompt": "...", "max_tokens": 8} or a JSON string) or plain text.
    if (/^\s*[{"]/.test(line)) {
      try {
        const v = JSON.parse(line) as unknown;
        if (typeof v === 'string') return void out.push({ prompt: v });
        const o = v as { prompt?: unknown; max_tokens?: unknown };
        if (typeof o.prompt === 'string') return void out.push({ prompt: o.prompt, maxTokens: typeof o.max_tokens === 'number' ? o.max_tokens : undefined });
      } catch {
        // not JSON after all: the line is the prompt.
      }
    }
    out.push({ prompt: line });
  });
  if (!out.length) throw new UsageError(`${file} holds no ${kind}`);
  return out;
}

export function register(program: Command): void {
  const deploy = program
    .command('deploy')
    .description('staging deployments on the local Docker engine (isolated, read back from the engine), canary, rollback, Kubernetes export')
    .addHelpText('after', '\nNeeds a Docker engine (DOCKER_HOST or /var/run/docker.sock); no registry: images are built locally. See docs/deploy.md.\nExit status: 0 ok, 1 refused (canary rejected, unsafe model), 2 usage, engine or I/O error.');

  deploy
    .command('staging')
    .description('build (or reuse) the image and run NAME@VERSION|NAME@ALIAS behind a 127.0.0.1 URL')
    .argument('<ref>', 'NAME, NAME@VERSION or NAME@ALIAS; or oci://HOST/REPO:TAG (pulled through the gate first, docs/oci.md)')
    .option('--copy', 'copy the model into an image layer instead of mounting the store file read-only')
    .option('--base-image <image>', 'base image with node (e.g. your registry mirror\'s node:20); default: built from this host (env SOVEREIGN_DEPLOY_BASE_IMAGE, config deploy.baseImage)')
    .option('--memory <mb>', 'memory limit in MiB (default: 1.5x the model + 384, at least 512)')
    .option('--cpus <n>', 'CPU limit (default 1)')
    .option('--pids <n>', 'process/thread limit (default 256)')
    .option('--ready-timeout <s>', 'seconds to wait for /health (default 90)')
    .option('--keep <n>', 'stopped earlier versions kept for rollback (default 2)')
    .option('--json', 'print the result as JSON')
    .action(async (ref: string, opts: LimitOpts & { copy?: boolean; baseImage?: string; readyTimeout?: string; keep?: string; json?: boolean }) => {
      const root = await findWorkspaceRoot(process.cwd());
      const result = await deployStaging({
        root,
        ref: await pullIfOci(root, ref, { onStage: (stage, detail) => log(`${stage}${detail ? `: ${detail}` : ''}`) }),
        mode: opts.copy ? 'copy' : 'mount',
        baseImage: await baseImageSetting(root, opts.baseImage),
        limits: limitsFrom(opts),
        readyTimeoutMs: (number(opts.readyTimeout, '--ready-timeout', 1) ?? 90) * 1000,
        keepPrevious: number(opts.keep, '--keep', 0),
        log,
      });
      await emit(opts.json ? json(result) : stagingText(result));
    });

  deploy
    .command('canary')
    .description('start NAME@VERSION beside the stable version, replay a validation set to both, promote only within the thresholds')
    .argument('<ref>', 'NAME@VERSION (or NAME@ALIAS) of the candidate')
    .option('--prompts <file>', 'validation prompts (GGUF): one per line, text or JSON {"prompt","max_tokens"}; default: built-in golden prompts')
    .option('--inputs <file>', 'validation set (ONNX): JSON lines of /v1/predict bodies')
    .option('--max-tokens <n>', 'tokens generated per prompt (default 16)')
    .option('--max-latency-ratio <x>', 'canary p50 / stable p50 at most (default 1.5)')
    .option('--min-agreement <x>', 'share of identical outputs at least, 0..1 (default 1 for GGUF, 0 for ONNX)')
    .option('--max-error-rate <x>', 'canary error rate at most, 0..1 (default 0)')
    .option('--max-p95-ms <ms>', 'canary p95 latency at most')
    .option('--shadow-share <x>', 'also mirror this share (0..1) of the live traffic of the stable version to the canary and compare (default 0: off)')
    .option('--shadow-seconds <s>', 'seconds to observe live traffic after the replay (default 30; with --shadow-share)')
    .option('--no-promote', 'report the verdict only; keep the canary running when it passes')
    .option('--alias <alias>', 'registry alias to move on promotion (a git commit)')
    .option('--copy', 'copy the model into an image layer')
    .option('--base-image <image>', 'base image with node')
    .option('--memory <mb>', 'memory limit in MiB')
    .option('--cpus <n>', 'CPU limit')
    .option('--pids <n>', 'process/thread limit')
    .option('--json', 'print the report as JSON')
    .action(async (ref: string, opts: LimitOpts & { prompts?: string; inputs?: string; maxTokens?: string; maxLatencyRatio?: string; minAgreement?: string; maxErrorRate?: string; maxP95Ms?: string; shadowShare?: string; shadowSeconds?: string; promote: boolean; alias?: string; copy?: boolean; baseImage?: string; json?: boolean }) => {
      const root = await findWorkspaceRoot(process.cwd());
      if (opts.prompts && opts.inputs) throw new UsageError('give --prompts (GGUF) or --inputs (ONNX), not both');
      const requests = opts.prompts ? await readRequests(opts.prompts, 'prompts') : opts.inputs ? await readRequests(opts.inputs, 'inputs') : undefined;
      const shadowShare = number(opts.shadowShare, '--shadow-share', 0);
      if (shadowShare !== undefined && shadowShare > 1) throw new UsageError(`--shadow-share must be from 0 to 1 (got "${opts.shadowShare}")`);
      const shadowSeconds = number(opts.shadowSeconds, '--shadow-seconds', 0);
      if (shadowSeconds !== undefined && !shadowShare) throw new UsageError('--shadow-seconds needs --shadow-share (the share of live traffic to mirror)');
      const report = await runCanary({
        root,
        ref,
        requests,
        maxTokens: number(opts.maxTokens, '--max-tokens', 1),
        thresholds: {
          maxLatencyRatio: number(opts.maxLatencyRatio, '--max-latency-ratio', 0),
          minAgreement: number(opts.minAgreement, '--min-agreement', 0),
          maxErrorRate: number(opts.maxErrorRate, '--max-error-rate', 0),
          maxP95Ms: number(opts.maxP95Ms, '--max-p95-ms', 0),
        },
        autoPromote: opts.promote,
        shadow: shadowShare ? { share: shadowShare, seconds: shadowSeconds } : undefined,
        alias: opts.alias,
        mode: opts.copy ? 'copy' : 'mount',
        baseImage: await baseImageSetting(root, opts.baseImage),
        limits: limitsFrom(opts),
        log,
      });
      await emit(opts.json ? json(report) : canaryText(report));
      if (report.verdict === 'rejected') process.exitCode = 1;
    });

  deploy
    .command('promote')
    .description('make the running canary of NAME the stable version (and move --alias in the registry)')
    .argument('<name>', 'model name')
    .option('--alias <alias>', 'registry alias to move to the promoted version (a git commit)')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, opts: { alias?: string; json?: boolean }) => {
      const root = await findWorkspaceRoot(process.cwd());
      const r = await promote({ root, model: modelName(name), alias: opts.alias });
      await emit(opts.json ? json(r) : switchText('promoted', r));
    });

  deploy
    .command('rollback')
    .description('serve the previous version of NAME again, in one command (its container is kept stopped)')
    .argument('<name>', 'model name')
    .option('--alias <alias>', 'registry alias to move back as well (a git commit)')
    .option('--reason <text>', 'why (recorded in the audit log)')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, opts: { alias?: string; reason?: string; json?: boolean }) => {
      const root = await findWorkspaceRoot(process.cwd());
      const r = await rollback({ root, model: modelName(name), alias: opts.alias, reason: opts.reason });
      await emit(opts.json ? json(r) : switchText('rolled back', r));
    });

  deploy
    .command('status')
    .description('deployments as the engine reports them (labels + state)')
    .argument('[name]', 'only this model')
    .option('--json', 'print the deployments as JSON')
    .action(async (name: string | undefined, opts: { json?: boolean }) => {
      const list = await listDeployments({ model: name ? modelName(name) : undefined });
      await emit(opts.json ? json(list) : statusText(list));
    });

  deploy
    .command('logs')
    .description('the output of a deployment (the stable version unless --version)')
    .argument('<name>', 'model name')
    .option('--version <version>', 'a specific deployed version')
    .option('--follow', 'keep streaming until interrupted')
    .option('--tail <n>', 'lines from the end (default 200)')
    .action(async (name: string, opts: { version?: string; follow?: boolean; tail?: string }) => {
      const d = await deploymentForLogs(modelName(name), opts.version);
      const controller = new AbortController();
      const stop = (): void => controller.abort();
      process.once('SIGINT', stop);
      try {
        await streamLogs(await connectDocker(), d.containerId, { follow: Boolean(opts.follow), tail: number(opts.tail, '--tail', 0), stdout: process.stdout, stderr: process.stderr, signal: controller.signal });
      } finally {
        process.off('SIGINT', stop);
      }
    });

  deploy
    .command('remove')
    .description('remove the deployments of NAME (every version and its gateway, or one --version); images stay cached')
    .argument('<name>', 'model name')
    .option('--version <version>', 'only this version')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, opts: { version?: string; json?: boolean }) => {
      const r = await removeModelDeployments({ model: modelName(name), version: opts.version });
      await emit(opts.json ? json(r) : `removed ${r.containers.length ? r.containers.join(', ') : 'nothing'}${r.networks.length ? `; network ${r.networks.join(', ')}` : ''}\n`);
    });

  deploy
    .command('prune')
    .description('remove the images this product built that no container uses (the newest base and app images stay: the next deploy reuses them)')
    .option('--all', 'remove the newest base and app images too')
    .option('--dry-run', 'only list what would be removed')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { all?: boolean; dryRun?: boolean; json?: boolean }) => {
      const r = await pruneImages({ all: opts.all, dryRun: opts.dryRun });
      await emit(opts.json ? json(r) : pruneText(r));
    });

  deploy
    .command('export-k8s')
    .description('Kubernetes manifests for NAME@VERSION with the same isolation: Deployment + Service + NetworkPolicy, or a KServe InferenceService')
    .argument('<ref>', 'NAME@VERSION or NAME@ALIAS')
    .option('--kserve', 'a KServe InferenceService (custom predictor) instead of Deployment + Service')
    .option('--image <image>', 'the runtime image in your registry (push the sovereign-app image there)', 'registry.example.internal/sovereign-app:latest')
    .option('--store-claim <pvc>', 'PersistentVolumeClaim holding the artifact store, mounted read-only', 'sovereign-store')
    .option('--oci-repo <oci://host/repo>', 'serve the signed OCI artifact `sovereign push` wrote there (image volume pinned by digest, Kubernetes 1.31+) instead of the store claim, with a ValidatingAdmissionPolicy that admits only that digest')
    .option('--namespace <ns>', 'namespace to put in the manifests')
    .option('--replicas <n>', 'replicas (default 1)')
    .option('--memory <mb>', 'memory limit in MiB')
    .option('--cpus <n>', 'CPU limit')
    .option('--output <dir>', 'write one file per object into DIR instead of printing YAML')
    .option('--json', 'print the objects as JSON')
    .action(async (ref: string, opts: LimitOpts & { kserve?: boolean; image: string; storeClaim: string; ociRepo?: string; namespace?: string; replicas?: string; output?: string; json?: boolean }) => {
      const root = await findWorkspaceRoot(process.cwd());
      const cache = await FileFactCache.open();
      const m = await resolveDeployableModel(root, ref, cache, 'export-k8s');
      await cache.save();
      const manifests = exportKubernetes(
        {
          name: m.name,
          version: m.version,
          sha256: m.sha256,
          format: m.format,
          manifestCommit: m.manifestCommit,
          image: opts.image,
          limits: { ...defaultLimits(m.size), ...limitsFrom(opts) },
          storeClaim: opts.storeClaim,
          namespace: opts.namespace,
          replicas: number(opts.replicas, '--replicas', 0),
          policy: m.policy,
          oci: opts.ociRepo ? await ociModelSource(root, ref, opts.ociRepo) : undefined,
          driftBaseline: m.driftBaseline,
          driftPrompts: m.driftPrompts,
        },
        { kserve: opts.kserve },
      );
      if (opts.output) {
        try {
          await mkdir(opts.output, { recursive: true });
          for (const x of manifests) await writeFile(join(opts.output, x.file), manifestsToYaml([x]));
        } catch (err) {
          throw ioError(err, opts.output, 'write');
        }
        if (opts.json) await emit(json({ output: opts.output, files: manifests.map((x) => x.file) }));
        else await emit(manifests.map((x) => join(opts.output!, x.file)).join('\n') + '\n');
      } else {
        await emit(opts.json ? json(manifests.map((x) => x.object)) : manifestsToYaml(manifests));
      }
    });
}

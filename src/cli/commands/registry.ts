import type { Command } from 'commander';
import { evaluatePolicy } from '../../core/policy/evaluate';
import { addModel, AdmissionRefused } from '../../core/govern/admission';
import { buildLineageGraph, whichUsed } from '../../core/registry/lineage';
import { DERIVATIONS, parseModelRef, type Derivation, type ManifestDataset } from '../../core/registry/manifest';
import { diffManifests, initRegistry, modelHistory, setAlias, verifyVersion } from '../../core/govern/ops';
import { loadRegistry, type RegistryEntry } from '../../core/registry/read';
import { findWorkspaceRoot } from '../../core/workspace/workspace';
import { formatProblem } from '../../core/workspace/yaml-file';
import { loadKeyring } from '../../core/signing/keys';
import { UsageError } from '../../core/util/errors';
import { emit, info, json } from '../output';
import { collect } from '../options';
import { connectFlags, connectOptions, type ConnectFlags } from '../oci-options';
import { syncPull, syncPush } from '../../core/govern/oci-sync';

/** `--dataset NAME@DIGEST` (or NAME@VERSION, or NAME). */
export function parseDataset(value: string): ManifestDataset {
  const at = value.lastIndexOf('@');
  if (at <= 0) return { name: value };
  const name = value.slice(0, at);
  const rest = value.slice(at + 1);
  if (/^sha256:[0-9a-f]{64}$/.test(rest)) return { name, digest: rest };
  if (/^[0-9a-f]{64}$/.test(rest)) return { name, digest: `sha256:${rest}` };
  return { name, version: rest };
}

function describeEntry(e: RegistryEntry): string {
  const m = e.manifest;
  const lines = [
    `${m.name}@${m.version}${e.aliases.length ? `  (${e.aliases.join(', ')})` : ''}`,
    m.description ? `  ${m.description}` : undefined,
    `  manifest:  ${e.file}`,
    `  format:    ${m.format ?? 'unknown'}${m.parameter_count !== undefined ? `, ${m.parameter_count} parameters` : ''}`,
    `  license:   ${m.license ?? '(none)'}`,
    m.source?.uri ? `  source:    ${m.source.uri}${m.source.revision ? ` @ ${m.source.revision}` : ''}` : undefined,
    ...m.artifacts.map((a) => `  artifact:  ${a.path}  sha256:${a.sha256}  ${a.size} bytes  ${a.format ?? ''}`),
    ...(m.parents ?? []).map((p) => `  parent:    ${p.ref} (${p.derivation ?? 'other'})`),
    ...(m.datasets ?? []).map((d) => `  dataset:   ${d.name}${d.version ? `@${d.version}` : ''}${d.digest ? ` ${d.digest}` : ''}`),
    ...(m.provenance?.base_model ?? []).map((b) => `  base:      ${b}${m.provenance?.base_model_relation ? ` (${m.provenance.base_model_relation})` : ''}`),
    m.provenance?.from_model_card?.length ? `  from card: ${m.provenance.from_model_card.join(', ')} (${m.provenance.model_card})` : undefined,
    m.scan ? `  scan:      ${m.scan.verdict} (worst: ${m.scan.worst}, ${m.scan.findings} findings, ${m.scan.scanned_at})` : undefined,
    `  signature: ${m.signature ? `${m.signature.path} (key ${m.signature.key_id})` : '(unsigned)'}`,
  ];
  return lines.filter((l) => l !== undefined).join('\n') + '\n';
}

export function register(program: Command): void {
  const registry = program
    .command('registry')
    .description('the git-tracked model registry: manifests, content-addressed store, aliases, lineage')
    .addHelpText('after', '\nRun inside the workspace\'s git repository. Exit status: 0 ok, 1 refused (scan, policy) or invalid, 2 usage or I/O error.');

  registry
    .command('init')
    .description('create .sovereign/ with a documented default policy, and commit it')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { json?: boolean }) => {
      const root = await findWorkspaceRoot(process.cwd());
      const result = await initRegistry(root);
      if (opts.json) await emit(json(result));
      else await emit(result.created.length ? `initialised: ${result.created.join(', ')}${result.commit ? ` (commit ${result.commit.slice(0, 8)})` : ''}\n` : 'already initialised\n');
    });

  registry
    .command('add')
    .description('register a model file or folder: quarantine -> scan -> policy -> store -> (sign) -> manifest + commit')
    .argument('<file-or-dir>', 'the model file or folder')
    .requiredOption('--name <name>', 'model name')
    .requiredOption('--version <semver>', 'version, e.g. 1.0.0')
    .option('--parent <name@version>', 'parent version (repeatable)', collect)
    .option('--derivation <kind>', `how it derives from the parent(s): ${DERIVATIONS.join(', ')}`)
    .option('--dataset <name@digest>', 'dataset used for training (repeatable): NAME@sha256:HEX or NAME@VERSION', collect)
    .option('--license <spdx>', 'license of the weights')
    .option('--source <uri>', 'where the model came from')
    .option('--revision <rev>', 'revision at the source')
    .option('--description <text>', 'one-line description')
    .option('--author <name>', 'author (repeatable)', collect)
    .option('--key <private.pem>', 'sign the version (artifacts and manifest) with this key')
    .option('--json', 'print the result as JSON')
    .action(async (input: string, opts: { name: string; version: string; parent?: string[]; derivation?: string; dataset?: string[]; license?: string; source?: string; revision?: string; description?: string; author?: string[]; key?: string; json?: boolean }) => {
      const root = await findWorkspaceRoot(process.cwd());
      if (opts.derivation && !DERIVATIONS.includes(opts.derivation as Derivation)) throw new UsageError(`unknown derivation "${opts.derivation}"`, `use one of: ${DERIVATIONS.join(', ')}`);
      if (opts.derivation && !opts.parent?.length) throw new UsageError('--derivation needs --parent', 'name the version this one derives from: --parent NAME@VERSION');
      try {
        const result = await addModel(root, {
          input,
          name: opts.name,
          version: opts.version,
          description: opts.description,
          license: opts.license,
          authors: opts.author,
          source: opts.source || opts.revision ? { uri: opts.source, kind: opts.source ? sourceKind(opts.source) : undefined, revision: opts.revision } : undefined,
          parents: opts.parent?.map((ref) => ({ ref, derivation: (opts.derivation as Derivation | undefined) ?? 'other' })),
          datasets: opts.dataset?.map(parseDataset),
          privateKey: opts.key,
          onStage: (stage, detail) => {
            if (stage === 'warning') info(`warning: ${detail}`);
            else if (stage === 'model-card') info(detail ?? '');
          },
        });
        for (const w of result.waived) info(`waived by exception (expires ${w.exception.expires}): [${w.violation.rule}] ${w.violation.message}`);
        if (opts.json) await emit(json({ ok: true, manifest: result.manifest, manifestFile: result.manifestFile, signatureFile: result.signatureFile ?? null, commit: result.commit, stored: result.stored, waived: result.waived }));
        else {
          await emit(`registered ${result.manifest.name}@${result.manifest.version}: ${result.manifestFile} (commit ${result.commit.slice(0, 8)})\n`);
          for (const s of result.stored) info(`  sha256:${s.sha256} ${s.method === 'existing' ? 'already in the store' : `stored (${s.method})`}`);
        }
      } catch (err) {
        if (err instanceof AdmissionRefused && opts.json) {
          await emit(json({ ok: false, stage: err.stage, message: err.message, findings: err.findings, violations: err.violations, quarantine: err.quarantine ?? null }));
          process.exitCode = 1;
          return;
        }
        if (err instanceof AdmissionRefused && err.stage === 'scan') {
          for (const f of err.findings) for (const x of f.findings) info(`  ${f.path}: [${x.severity}] ${x.rule}: ${x.message}`);
        }
        throw err;
      }
    });

  registry
    .command('list')
    .description('list registered model versions')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      const reg = await loadRegistry(await findWorkspaceRoot(process.cwd()));
      for (const p of reg.problems) info(`warning: ${formatProblem(p)}`);
      if (opts.json) {
        await emit(json({ models: reg.entries.map((e) => ({ name: e.manifest.name, version: e.manifest.version, aliases: e.aliases, format: e.manifest.format, license: e.manifest.license ?? null, signed: !!e.manifest.signature, file: e.file })), problems: reg.problems }));
        return;
      }
      if (!reg.entries.length) {
        await emit('no models registered (add one with `sovereign registry add FILE --name NAME --version 1.0.0`)\n');
        return;
      }
      const rows = reg.entries.map((e) => [`${e.manifest.name}@${e.manifest.version}`, e.manifest.format ?? '', e.manifest.license ?? '-', e.manifest.signature ? 'signed' : 'unsigned', e.aliases.join(',')]);
      const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
      await emit(rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n') + '\n');
    });

  registry
    .command('show')
    .description('show one version (NAME = latest, NAME@VERSION or NAME@ALIAS)')
    .argument('<ref>', 'NAME[@VERSION|@ALIAS]')
    .option('--json', 'print as JSON')
    .action(async (ref: string, opts: { json?: boolean }) => {
      const reg = await loadRegistry(await findWorkspaceRoot(process.cwd()));
      const e = reg.resolve(ref);
      await emit(opts.json ? json({ ...e.manifest, aliases: e.aliases, file: e.file }) : describeEntry(e));
    });

  registry
    .command('history')
    .description('who changed a model\'s manifests and aliases, and when (git log)')
    .argument('<name>', 'model name')
    .option('--json', 'print as JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      const root = await findWorkspaceRoot(process.cwd());
      const entries = await modelHistory(root, parseModelRef(name).name);
      if (opts.json) await emit(json({ name, history: entries }));
      else await emit(entries.length ? entries.map((h) => `${h.commit.slice(0, 8)}  ${h.date}  ${h.author} <${h.email}>  ${h.subject}`).join('\n') + '\n' : `no history for ${name}\n`);
    });

  registry
    .command('diff')
    .description('field-by-field differences between two versions')
    .argument('<a>', 'NAME@VERSION')
    .argument('<b>', 'NAME@VERSION')
    .option('--json', 'print as JSON')
    .action(async (a: string, b: string, opts: { json?: boolean }) => {
      const reg = await loadRegistry(await findWorkspaceRoot(process.cwd()));
      const [ea, eb] = [reg.resolve(a), reg.resolve(b)];
      const changes = diffManifests(ea.manifest, eb.manifest);
      const from = `${ea.manifest.name}@${ea.manifest.version}`;
      const to = `${eb.manifest.name}@${eb.manifest.version}`;
      if (opts.json) await emit(json({ from, to, changes }));
      else {
        const show = (v: unknown): string => JSON.stringify(v);
        await emit(`--- ${from}\n+++ ${to}\n` + changes.map((c) => (c.change === 'added' ? `+ ${c.path}: ${show(c.to)}` : c.change === 'removed' ? `- ${c.path}: ${show(c.from)}` : `~ ${c.path}: ${show(c.from)} -> ${show(c.to)}`)).join('\n') + (changes.length ? '\n' : ''));
      }
    });

  registry
    .command('alias')
    .description('point an alias (staging, production...) at a version: one version per alias, one commit per move')
    .argument('<ref>', 'NAME@VERSION')
    .argument('<alias>', 'alias name')
    .option('--key <public.pem>', 'extra trusted public key for the signature check (repeatable)', collect)
    .option('--json', 'print as JSON')
    .action(async (ref: string, alias: string, opts: { key?: string[]; json?: boolean }) => {
      const root = await findWorkspaceRoot(process.cwd());
      const extraKeys = opts.key?.length ? await loadKeyring(opts.key) : [];
      const result = await setAlias(root, ref, alias, { extraKeys });
      if (opts.json) await emit(json(result));
      else await emit(result.changed ? `${alias} -> ${result.name}@${result.version}${result.from ? ` (was ${result.from})` : ''} (commit ${result.commit?.slice(0, 8)})\n` : `${alias} already points at ${result.name}@${result.version}\n`);
    });

  registry
    .command('verify')
    .description('re-hash the stored artifacts of a model (every version, or one) and check signatures')
    .argument('<ref>', 'NAME or NAME@VERSION')
    .option('--key <public.pem>', 'extra trusted public key (repeatable)', collect)
    .option('--json', 'print as JSON')
    .action(async (ref: string, opts: { key?: string[]; json?: boolean }) => {
      const root = await findWorkspaceRoot(process.cwd());
      const reg = await loadRegistry(root);
      const extraKeys = opts.key?.length ? await loadKeyring(opts.key) : [];
      const { name, version } = parseModelRef(ref);
      const entries = version ? [reg.resolve(ref)] : reg.versions(name);
      if (!entries.length) reg.resolve(name); // throws the helpful "no model named" error
      const results = [];
      for (const e of entries) results.push(await verifyVersion(root, e, { extraKeys }));
      const ok = results.every((r) => r.ok);
      if (opts.json) await emit(json({ ok, versions: results }));
      else {
        const lines: string[] = [];
        for (const r of results) {
          lines.push(`${r.ok ? 'ok     ' : 'FAILED '} ${r.ref}`);
          for (const a of r.artifacts) if (a.status !== 'ok') lines.push(`  ${a.path}: ${a.status === 'missing' ? 'missing from the store' : 'corrupt (its bytes no longer match sha256:' + a.sha256.slice(0, 12) + '...)'}`);
          if (r.signature.status === 'valid') lines.push(`  signature valid, key ${r.signature.keyId}`);
          else if (r.signature.status === 'invalid') lines.push(`  signature INVALID: ${r.signature.reason}`);
        }
        await emit(lines.join('\n') + '\n');
      }
      process.exitCode = ok ? 0 : 1;
    });

  registry
    .command('which-used')
    .description('which model versions were trained on a dataset, directly or through their parents (GDPR erasure)')
    .argument('<dataset>', 'NAME, NAME@VERSION, NAME@DIGEST or a digest')
    .option('--json', 'print as JSON')
    .action(async (dataset: string, opts: { json?: boolean }) => {
      const reg = await loadRegistry(await findWorkspaceRoot(process.cwd()));
      const usage = whichUsed(reg, dataset);
      if (opts.json) await emit(json(usage));
      else if (!usage.direct.length) await emit(`no registered version lists dataset ${dataset}\n`);
      else {
        const alias = (a: string[]): string => (a.length ? ` (${a.join(', ')})` : '');
        await emit(
          [
            ...usage.direct.map((d) => `${d.model}${alias(d.aliases)}  trained on ${d.dataset}`),
            ...usage.inherited.map((d) => `${d.model}${alias(d.aliases)}  derived from ${d.through}`),
          ].join('\n') + '\n',
        );
      }
    });

  registry
    .command('graph')
    .description('the whole lineage graph (model versions, datasets) with aliases and status, for the webview')
    .option('--json', 'print as JSON (the default and only format)')
    .action(async () => {
      const root = await findWorkspaceRoot(process.cwd());
      const reg = await loadRegistry(root);
      let violations: Awaited<ReturnType<typeof evaluatePolicy>>['violations'] = [];
      try {
        violations = (await evaluatePolicy(root, { registry: reg })).violations;
      } catch (err) {
        info(`warning: policy not evaluated: ${(err as Error).message.split('\n')[0]}`);
      }
      await emit(json(buildLineageGraph(reg, violations)));
    });

  connectFlags(
    registry
      .command('sync')
      .description('mirror models to or from OCI repositories: PREFIX/NAME:VERSION (aliases as tags), through the gate on pull')
      .argument('<prefix>', 'oci://HOST[:PORT]/PREFIX (one repository per model under it) or oci:DIR (one layout folder per model)')
      .option('--push', 'push the selected versions there')
      .option('--pull', 'pull every version tag of the named models from there (each through the gate)')
      .option('--name <name>', 'a model to sync (repeatable; push default: every model)', collect)
      .option('--alias <alias>', 'push: only the versions these aliases point at (tagged with the alias too); pull: set these aliases from the remote tags (repeatable)', collect),
  ).action(async (prefix: string, opts: ConnectFlags & { push?: boolean; pull?: boolean; name?: string[]; alias?: string[] }) => {
    if (!!opts.push === !!opts.pull) throw new UsageError('say which way: --push or --pull', 'registry sync oci://HOST/PREFIX --push [--name NAME] [--alias production]');
    const root = await findWorkspaceRoot(process.cwd());
    const options = await connectOptions(opts);
    const select = { names: opts.name, aliases: opts.alias };
    if (opts.push) {
      const result = await syncPush(root, prefix, select, options);
      if (opts.json) await emit(json({ ok: true, ...result }));
      else await emit(result.pushed.map((p) => `pushed ${p.model} to ${p.target}@${p.digest}\n`).join('') || 'nothing to push\n');
      return;
    }
    const result = await syncPull(root, prefix, select, options);
    if (opts.json) await emit(json({ ok: result.refused.length === 0, ...result }));
    else {
      await emit(
        [
          ...result.pulled.map((p) => (p.alreadyRegistered ? `${p.model}: already registered\n` : `pulled ${p.model} (signature ${p.signature.status})\n`)),
          ...result.aliases.map((a) => `alias ${a.name}@${a.alias} -> ${a.version}\n`),
        ].join(''),
      );
      for (const r of result.refused) info(`refused ${r.ref}: ${r.message}`);
    }
    if (result.refused.length) process.exitCode = 1;
  });
}

function sourceKind(uri: string): string {
  if (/^https?:\/\/(www\.)?huggingface\.co\//i.test(uri) || uri.startsWith('hf://')) return 'huggingface';
  if (uri.startsWith('ollama://')) return 'ollama';
  if (uri.startsWith('git+') || uri.endsWith('.git')) return 'git';
  if (/^https?:\/\//i.test(uri)) return 'url';
  if (uri.startsWith('file:') || uri.startsWith('/') || uri.startsWith('.')) return 'file';
  return 'other';
}

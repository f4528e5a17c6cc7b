/**
 * The gate in front of every native loader: a model file is read and validated in TypeScript (the same
 * analyzers as `sovereign scan`), then checked against the policy, and only then handed to llama.cpp or ONNX
 * Runtime. A refusal names the rule that refused it.
 *
 * The malware rules (src/core/scan/rules.ts: the default YARA pack plus the workspace policy's packs) run
 * too, as in `sovereign scan`; their verdict is cached by the file's sha256 and the rule pack's digest
 * (src/core/scan/rule-verdicts.ts), so loading the same bytes again under the same rules does not rescan.
 */
import { analyzeSource, FileSource, type ByteSource, type MetadataText, type ModelFormat, type RuleStage } from '../formats';
import { checkModelFile } from '../policy/gate';
import { loadPolicy, type LoadedPolicy } from '../policy/load';
import { policyRuleFiles } from '../policy/scan-rules';
import { readRulePack, type RuleFile, type YaraEngine } from '../scan/rules';
import { ruleVerdict } from '../scan/rule-verdicts';
import { isBlocking, type Finding } from '../formats/findings';
import { RefusedError } from '../util/errors';
import { handleIdentity, hashHandle, sameIdentity } from './pinned';
import type { EngineKind } from './types';

export interface ValidatedModel {
  path: string;
  format: EngineKind;
  size: number;
  sha256: string;
  /** The analyzer's facts (GGUF: architecture, FIM ids, layers...; ONNX: opsets, inputs...). */
  facts: Record<string, unknown>;
  /** Findings below `high` (kept for reports). */
  findings: Finding[];
  /** The registry version the file belongs to, when the policy gate found one. */
  registered?: { name: string; version: string };
  /** The malware-rule stage: the pack's digest, and whether its verdict came from the cache. Absent when skipped. */
  rules?: { pack: string; cached: boolean };
}

/** A decision before loading: resolves to allow, throws RefusedError (naming the rule) to refuse. */
export type ModelGate = (model: ValidatedModel) => Promise<void | { name: string; version: string }>;

/** The policy gate (src/core/policy): the workspace's policy, or the default policy outside a workspace. */
export function policyGate(workspaceRoot: string | undefined, loaded?: LoadedPolicy, subject?: { name: string; version?: string }): ModelGate {
  return async (model) => {
    const decision = await checkModelFile(workspaceRoot, model.path, {
      sha256: model.sha256,
      format: model.format,
      size: model.size,
      findings: model.findings,
      parameterCount: typeof model.facts.parameterCount === 'number' ? model.facts.parameterCount : undefined,
    }, loaded, subject);
    if (!decision.allowed) {
      const first = decision.violations[0];
      throw new RefusedError(
        `refused to load ${model.path}: ${decision.violations.map((v) => v.message).join('; ')}`,
        first?.fix ?? 'see `sovereign policy check`',
      );
    }
    return decision.model ? { name: decision.model.name, version: decision.model.version } : undefined;
  };
}

export interface ValidateOptions {
  /** The policy gate by default (workspace policy, else the default policy); null skips it (tests, bench). */
  gate?: ModelGate | null;
  workspaceRoot?: string;
  /**
   * The malware-rule stage. `extra`: packs added to the default one (by default the workspace policy's
   * `scan.yara_rules` when the workspace's own policy gate applies; none under another gate, e.g. `serve
   * --policy`); `cacheFile`: the verdict cache (default in the user's cache dir; null: no cache). null skips
   * the stage: only the bench's baseline does that, to measure what the rules cost. `engine`: tests hand in
   * one that fails to load, to see the gate on a platform without the YARA-X binary.
   */
  rules?: { extra?: readonly RuleFile[]; cacheFile?: string | null; engine?: () => YaraEngine } | null;
  signal?: AbortSignal;
}

/** A rule stage that runs nothing: it keeps the file's own request (format, metadata strings) for later. */
class DeferredRules implements RuleStage {
  request?: { source: ByteSource; format: ModelFormat; texts?: readonly MetadataText[] };

  async scan(source: ByteSource, request: { format: ModelFormat; texts?: readonly MetadataText[]; baseOffset?: number }): Promise<[]> {
    if (source.depth === 0 && !request.baseOffset) this.request ??= { source, format: request.format, texts: request.texts };
    return [];
  }
}

async function extraRuleFiles(options: ValidateOptions): Promise<readonly RuleFile[]> {
  if (options.rules?.extra) return options.rules.extra;
  if (!options.workspaceRoot || options.gate !== undefined) return [];
  return policyRuleFiles(options.workspaceRoot, (await loadPolicy(options.workspaceRoot)).policy);
}

/** Validates a model file for an engine; throws RefusedError naming the rule, or IoError. */
export async function validateModelFile(path: string, options: ValidateOptions = {}): Promise<ValidatedModel> {
  // One open descriptor for the analysis and the digest: the sha256 is of the bytes that were analysed (a
  // write in between changes the file's ctime and is refused).
  // The rule pack is read (not compiled) first: a rule file that does not compile or a policy pack outside the
  // repository is a usage error before any byte of the model is read.
  const pack = options.rules === null ? undefined : await readRulePack({ extra: await extraRuleFiles(options) });
  const source = await FileSource.open(path);
  let analysis;
  let sha256: string;
  let rules: ValidatedModel['rules'];
  try {
    const before = await handleIdentity(source.fileHandle);
    const deferred = new DeferredRules();
    analysis = await analyzeSource(source, { signal: options.signal, rules: pack ? deferred : undefined });
    sha256 = (await hashHandle(source.fileHandle, source.size, { signal: options.signal })).sha256;
    refuseOnFindings(path, analysis.findings);
    if (analysis.format !== 'gguf' && analysis.format !== 'onnx') {
      throw new RefusedError(
        `${path} is ${analysis.format === 'unknown' ? 'not a recognised model file' : `a ${analysis.format} file`}: engines run GGUF and ONNX models`,
        'convert the model to GGUF (llama.cpp) or ONNX',
      );
    }
    // The malware rules, after the readers passed the file (their findings refuse sooner and cheaper):
    // over the same descriptor, with the metadata strings the reader decoded; cached by sha256 + pack.
    if (pack && deferred.request) {
      const { source: rulesSource, ...request } = deferred.request;
      const verdict = await ruleVerdict(rulesSource, { ...request, signal: options.signal }, sha256, pack, { cacheFile: options.rules?.cacheFile, engine: options.rules?.engine });
      rules = { pack: verdict.pack, cached: verdict.cached };
      if (verdict.findings.length > 0) analysis.findings = [...analysis.findings, ...verdict.findings];
      refuseOnFindings(path, verdict.findings);
    }
    if (!sameIdentity(before, await handleIdentity(source.fileHandle))) {
      throw new RefusedError(`refused to load ${path}: the file changed while it was being validated`, 'wait until whatever writes it has finished, then load it again');
    }
  } finally {
    await source.close();
  }
  const model: ValidatedModel = {
    path,
    format: analysis.format,
    size: source.size,
    sha256,
    facts: analysis.facts,
    findings: analysis.findings,
    ...(rules ? { rules } : {}),
  };
  const gate = options.gate === undefined ? policyGate(options.workspaceRoot) : options.gate;
  if (gate) {
    const registered = await gate(model);
    if (registered) model.registered = registered;
  }
  return model;
}

/** High and critical findings refuse the load, naming the rules (the first three). */
function refuseOnFindings(path: string, findings: readonly Finding[]): void {
  const blocking = findings.filter((f) => isBlocking(f.severity));
  if (blocking.length === 0) return;
  const shown = blocking.slice(0, 3).map((f) => `rule ${f.rule} (${f.severity}): ${f.message}`).join('; ');
  throw new RefusedError(
    `refused to load ${path} before any native code saw it: ${shown}${blocking.length > 3 ? ` (+${blocking.length - 3} more)` : ''}`,
    `run \`sovereign scan ${path}\` for every finding; re-export or re-download the model`,
  );
}

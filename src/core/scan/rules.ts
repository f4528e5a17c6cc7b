import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { ByteSource, MetadataText, ModelFormat, RuleStage } from '../formats';
import { BufferSource } from '../formats';
import { SEVERITIES, type Finding, type Severity } from '../formats/findings';
import { describeError, ioError, SovereignError, UsageError } from '../util/errors';

/**
 * The malware-rule stage: YARA rules (the YARA-X engine through @litko/yara-x) over every source the scanner
 * opens, archive members included, and over the metadata strings the format readers decode. See
 * docs/scan-rules.md.
 *
 * Streaming: a source is scanned in chunks of RULE_CHUNK bytes, each extended by RULE_OVERLAP bytes of the
 * next one, so memory stays constant whatever the file size and a match of up to RULE_OVERLAP bytes that
 * straddles a chunk boundary is still seen whole in one chunk.
 */
export const RULE_CHUNK = 4 << 20;
/** The longest match the chunked scan is sure to see: every default rule matches at most a few hundred bytes. */
export const RULE_OVERLAP = 64 << 10;
/** Bounds work and memory on a file crafted to match a pattern millions of times. */
const MAX_MATCHES_PER_PATTERN = 1000;
/** Excerpt of the matched bytes shown in a finding. */
const EXCERPT_BYTES = 80;

/**
 * The variables every rule can test (all strings: the binding defines string globals only).
 * - sovereign_context: "bytes" (a chunk of a file or member) or "metadata" (one decoded metadata string)
 * - sovereign_key: the metadata key ("tokenizer.chat_template", "__metadata__.author"...), "" for bytes
 * - sovereign_format: the format the scanner detected ("gguf", "onnx", "pickle", "unknown"...)
 * - sovereign_start: "file" when the buffer begins at byte 0 of a file on disk, "inside" otherwise (a later
 *   chunk, an archive member, a decompressed stream, a metadata string)
 * - sovereign_name: the file or member name the bytes go by, without folders ("README.md", "data.pkl")
 */
export const RULE_VARIABLES = { sovereign_context: 'bytes', sovereign_key: '', sovereign_format: 'unknown', sovereign_start: 'inside', sovereign_name: '' } as const;

/** The parts of @litko/yara-x this module uses (its own types stay behind the lazy load). */
interface YaraMatch {
  ruleIdentifier: string;
  meta: object;
  matches: { offset: number; length: number; identifier: string }[];
}
interface YaraRules {
  scanAsync(data: Buffer, variables?: object): Promise<YaraMatch[]>;
  setMaxMatchesPerPattern(n: number): void;
}
export interface YaraEngine {
  compile(source: string, options?: object): YaraRules;
}

/** Loads the native engine. Only called when a scan runs (never at CLI start or extension activation). */
function loadYaraX(): YaraEngine {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@litko/yara-x') as YaraEngine;
}

/** One rule file of a pack, with the name messages give it (repository-relative for policy packs). */
export interface RuleFile {
  path: string;
  name: string;
}

/** A rule file that does not compile: `file:line:col: message`. Exit 2. */
export class RuleCompileError extends UsageError {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly column: number | undefined,
    readonly detail: string,
  ) {
    super(`${file}${line ? `:${line}${column ? `:${column}` : ''}` : ''}: YARA rule does not compile: ${detail}`, 'fix the rule (YARA-X syntax: https://virustotal.github.io/yara-x/docs/writing_rules/anatomy-of-a-rule/), or remove the file from scan.yara_rules in .sovereign/policy.yaml');
  }
}

/** The folder of the rule pack shipped with the product (rules/default beside package.json). */
export function defaultRulesDir(): string {
  // Source (src/core/scan), tests built with tsc (out/src/core/scan), bundles (dist/): walk up to the package.
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'rules', 'default');
    if (existsSync(join(candidate, 'executables.yar'))) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new SovereignError('the default YARA rule pack (rules/default/*.yar) is missing from this installation', 'reinstall Sovereign Workbench: the rule pack ships with it');
}

/** `*.yar` and `*.yara` files of a folder, sorted (recursively). */
export async function ruleFilesIn(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (err) {
    throw ioError(err, dir);
  }
  const out: string[] = [];
  for (const name of names) {
    const p = join(dir, name);
    const st = await stat(p);
    if (st.isDirectory()) out.push(...(await ruleFilesIn(p)));
    else if (/\.yara?$/i.test(name)) out.push(p);
  }
  return out;
}

export async function defaultRuleFiles(): Promise<RuleFile[]> {
  const dir = defaultRulesDir();
  return (await ruleFilesIn(dir)).map((path) => ({ path, name: `rules/default/${relative(dir, path).split(sep).join('/')}` }));
}

export interface RuleStageOptions {
  /** Rule files added to the default pack (the policy's scan.yara_rules, already confined to the repository). */
  extra?: readonly RuleFile[];
  /** The engine; tests hand in one that fails to load, to see the stage say so. */
  engine?: () => YaraEngine;
}

/** Compiled stages, by the files (and their sizes and times) they were compiled from: compiled once. */
const compiled = new Map<string, Promise<RuleStage>>();

/** Bumped when the chunking, the variables or the findings' shape change: verdicts cached by an older stage no longer count. */
const RULE_STAGE_REVISION = 1;

/** The rule files of a scan and their texts, read but not compiled; `digest` names this exact set of rules. */
export interface RulePack {
  files: RuleFile[];
  texts: string[];
  /**
   * sha256 over the stage revision, the engine's version and every file's name and text, in order: equal
   * digests mean the same rules judge the same bytes the same way (the load gate caches verdicts by it).
   */
  digest: string;
}

/** Reads the default pack plus `extra` (milliseconds: no engine is loaded, nothing is compiled). */
export async function readRulePack(options: Pick<RuleStageOptions, 'extra'> = {}): Promise<RulePack> {
  const files = [...(await defaultRuleFiles()), ...(options.extra ?? [])];
  const texts = await Promise.all(
    files.map(async (f) => {
      try {
        return await readFile(f.path, 'utf8');
      } catch (err) {
        throw ioError(err, f.name);
      }
    }),
  );
  const h = createHash('sha256').update(`sovereign-rule-stage ${RULE_STAGE_REVISION} ${engineVersion()}\0`);
  files.forEach((f, i) => h.update(`${f.name}\0${Buffer.byteLength(texts[i])}\0`).update(texts[i]));
  return { files, texts, digest: h.digest('hex') };
}

/** The engine package's version, read from its package.json without loading the native module. */
function engineVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('@litko/yara-x/package.json') as { version?: string }).version ?? 'unknown';
  } catch {
    return 'absent';
  }
}

/**
 * The rule stage for a scan: the default pack plus `extra`, compiled once per set of files. A rule that
 * does not compile throws RuleCompileError (file, line, message). When the native engine cannot load (no
 * binary for this platform), the stage still runs and says so on every file: a `yara/unavailable` finding,
 * never a silent skip.
 */
export async function loadRuleStage(options: RuleStageOptions = {}): Promise<RuleStage> {
  return stageForPack(await readRulePack(options), options.engine);
}

/** Compiles a pack read by readRulePack (once per process for the same files and texts). */
export async function stageForPack(pack: RulePack, engine?: () => YaraEngine): Promise<RuleStage> {
  const { files, texts } = pack;
  if (engine) return compileStage(files, texts, engine);
  const key = JSON.stringify(files.map((f, i) => [f.path, texts[i]]));
  let stage = compiled.get(key);
  if (!stage) {
    stage = compileStage(files, texts, loadYaraX);
    compiled.set(key, stage);
    stage.catch(() => compiled.delete(key));
  }
  return stage;
}

async function compileStage(files: readonly RuleFile[], texts: readonly string[], engine: () => YaraEngine): Promise<RuleStage> {
  let yara: YaraEngine;
  try {
    yara = engine();
  } catch (err) {
    return unavailableStage(describeError(err));
  }
  // Every file runs on metadata strings; files named *.metadata.yar run on nothing else (their patterns
  // would otherwise be searched in every byte of every model: the engine searches all patterns at once).
  const all = files.map((file, i) => ({ file, text: texts[i] }));
  const textRules = compileFiles(yara, all);
  const byteFiles = all.filter((f) => !METADATA_ONLY.test(f.file.path));
  const byteRules = byteFiles.length === all.length ? textRules : compileFiles(yara, byteFiles);
  return new YaraRuleStage(byteRules, textRules);
}

/** Rule files whose rules only ever match metadata strings (chat templates...): not run over bytes. */
export const METADATA_ONLY = /\.metadata\.yara?$/i;

/** One source, so rule names are unique across packs; each file's first line is remembered for messages. */
function compileFiles(yara: YaraEngine, files: readonly { file: RuleFile; text: string }[]): YaraRules {
  const starts: { file: RuleFile; line: number }[] = [];
  let line = 1;
  let source = '';
  for (const { file, text } of files) {
    starts.push({ file, line });
    const body = text.endsWith('\n') ? text : `${text}\n`;
    source += body;
    line += body.split('\n').length - 1;
  }
  let rules: YaraRules;
  try {
    rules = yara.compile(source, {
      defineVariables: { ...RULE_VARIABLES },
      enableIncludes: false,
      bannedModules: [{ name: 'console', errorTitle: 'module not allowed', errorMessage: 'the console module writes to the scanner\'s output; remove the import' }],
    });
  } catch (err) {
    throw compileError(describeError(err), starts);
  }
  rules.setMaxMatchesPerPattern(MAX_MATCHES_PER_PATTERN);
  return rules;
}

/** Maps "--> line:N:C" of the concatenated source back to the file and its own line. */
function compileError(message: string, starts: readonly { file: RuleFile; line: number }[]): RuleCompileError {
  const text = message.replace(/^Compilation error \(\w+\):\s*/, '');
  const at = /-->\s*line:(\d+):(\d+)/.exec(text);
  const title = (text.split('\n')[0] ?? text).replace(/^error\[\w+\]:\s*/, '');
  const label = /\^+\s*(.+)$/m.exec(text)?.[1]?.trim();
  const detail = label && !title.includes(label) ? `${title} (${label})` : title;
  if (!at) return new RuleCompileError(starts.map((s) => s.file.name).join(', '), undefined, undefined, detail);
  const globalLine = Number(at[1]);
  let owner = starts[0];
  for (const s of starts) if (s.line <= globalLine) owner = s;
  return new RuleCompileError(owner.file.name, globalLine - owner.line + 1, Number(at[2]), detail);
}

interface Hit {
  name: string;
  meta: Record<string, unknown>;
  count: number;
  /** Where it was first seen in the bytes (source offset), and in the metadata. */
  byteOffset?: number;
  metadataKey?: string;
  excerpt: string;
}

class YaraRuleStage implements RuleStage {
  constructor(
    private readonly byteRules: YaraRules,
    private readonly textRules: YaraRules,
  ) {}

  async scan(source: ByteSource, request: { format: ModelFormat; texts?: readonly MetadataText[]; baseOffset?: number; signal?: AbortSignal }): Promise<Finding[]> {
    try {
      return await this.scanOnce(source, request);
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') throw err;
      // Fail closed, as for an analyzer crash: the rules did not see these bytes.
      return [{ rule: 'yara/scan-error', severity: 'high', message: `the rule engine failed on this source: ${describeError(err)}`, location: source.path }];
    }
  }

  private async scanOnce(source: ByteSource, request: { format: ModelFormat; texts?: readonly MetadataText[]; baseOffset?: number; signal?: AbortSignal }): Promise<Finding[]> {
    const hits = new Map<string, Hit>();
    const base = request.baseOffset ?? 0;
    const atFileStart = source.depth === 0 && base === 0;
    const name = asText(nameOf(source));
    await this.chunks(this.byteRules, source, request.signal, (offset) => ({ sovereign_context: 'bytes', sovereign_key: '', sovereign_format: request.format, sovereign_start: atFileStart && offset === 0 ? 'file' : 'inside', sovereign_name: name }), (hit, offset) => {
      hit.byteOffset ??= base + offset;
    }, hits);
    for (const text of request.texts ?? []) {
      const bytes = new BufferSource(`${source.path}: ${text.key}`, Buffer.from(text.value, 'utf8'), source.depth + 1);
      const vars = { sovereign_context: 'metadata', sovereign_key: asText(text.key), sovereign_format: request.format, sovereign_start: 'inside', sovereign_name: name };
      await this.chunks(this.textRules, bytes, request.signal, () => vars, (hit) => {
        hit.metadataKey ??= text.key;
      }, hits);
    }
    return [...hits.values()].map((hit) => toFinding(hit, source.path));
  }

  /** Scans a source chunk by chunk; `place` records where a rule first matched. */
  private async chunks(rules: YaraRules, source: ByteSource, signal: AbortSignal | undefined, variables: (offset: number) => Record<string, string>, place: (hit: Hit, offset: number) => void, hits: Map<string, Hit>): Promise<void> {
    for (let offset = 0; offset < source.size; offset += RULE_CHUNK) {
      signal?.throwIfAborted();
      const buf = await source.readAt(offset, RULE_CHUNK + RULE_OVERLAP);
      if (buf.length === 0) break;
      const matches = await rules.scanAsync(buf, variables(offset));
      for (const m of matches) {
        const first = m.matches.reduce<{ offset: number; length: number } | undefined>((a, x) => (a === undefined || x.offset < a.offset ? x : a), undefined);
        // A match that starts in the overlap is seen again, whole, by the next chunk: count it there.
        const own = m.matches.filter((x) => x.offset < RULE_CHUNK || offset + RULE_CHUNK >= source.size).length;
        let hit = hits.get(m.ruleIdentifier);
        if (!hit) {
          hit = { name: m.ruleIdentifier, meta: m.meta as Record<string, unknown>, count: 0, excerpt: first ? excerpt(buf.subarray(first.offset, first.offset + Math.min(first.length, EXCERPT_BYTES))) : '' };
          hits.set(m.ruleIdentifier, hit);
        }
        hit.count += m.matches.length === 0 ? (offset === 0 ? 1 : 0) : own;
        place(hit, offset + (first?.offset ?? 0));
      }
      if (offset + buf.length >= source.size) break;
    }
  }
}

/**
 * The binding hands a variable that reads as an integer or a boolean ("0", "-1", "true") to the engine as
 * that type, which a string variable refuses: such a value gets a trailing space (documented for rule writers).
 */
function asText(value: string): string {
  return /^\s*[+-]?\d+\s*$|^\s*(true|false)\s*$/i.test(value) ? `${value} ` : value;
}

/** "README.md" for "model/README.md", "data.pkl" for "m.zip!archive/data.pkl", the inner name of "x.pkl.gz!gzip". */
function nameOf(source: ByteSource): string {
  const full = source.claimedName ?? source.path;
  const member = full.slice(full.lastIndexOf('!') + 1);
  return member.slice(Math.max(member.lastIndexOf('/'), member.lastIndexOf(sep)) + 1);
}

function toFinding(hit: Hit, path: string): Finding {
  const description = typeof hit.meta.description === 'string' && hit.meta.description ? hit.meta.description : `YARA rule ${hit.name} matched`;
  const declared = typeof hit.meta.severity === 'string' ? hit.meta.severity.toLowerCase() : '';
  const severity: Severity = (SEVERITIES as readonly string[]).includes(declared) ? (declared as Severity) : 'high';
  const reference = typeof hit.meta.reference === 'string' && /^https?:\/\//.test(hit.meta.reference) ? hit.meta.reference : undefined;
  const where = hit.metadataKey !== undefined ? `${path}: metadata ${hit.metadataKey}` : `${path} @ byte ${hit.byteOffset ?? 0}`;
  const also = hit.metadataKey !== undefined && hit.byteOffset !== undefined ? `; also in the bytes at offset ${hit.byteOffset}` : '';
  const count = hit.count > 1 ? ` (${hit.count} matches${hit.count >= MAX_MATCHES_PER_PATTERN ? '+' : ''})` : '';
  return {
    rule: `yara/${hit.name}`,
    severity,
    message: `${description}${hit.excerpt ? `: "${hit.excerpt}"` : ''}${count}${also}`,
    location: where,
    help: `${description}. YARA rule ${hit.name}${reference ? `; reference: ${reference}` : ''}. See docs/scan-rules.md.`,
    ...(reference ? { helpUri: reference } : {}),
  };
}

/** Printable ASCII as is, everything else as \xNN (a finding never carries raw binary or control codes). */
function excerpt(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) out += b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return out;
}

/** The stage when the engine cannot load: one loud finding per file on disk. */
function unavailableStage(reason: string): RuleStage {
  return {
    scan: async (source, request) =>
      source.depth > 0 || request.baseOffset
        ? []
        : [
            {
              rule: 'yara/unavailable',
              severity: 'medium',
              message: `the malware-rule stage (YARA-X) did not run on this file: the engine cannot be loaded on ${process.platform}-${process.arch} (${reason.split('\n')[0]}); embedded executables, droppers and malicious chat templates are not looked for`,
              location: source.path,
              help: 'The YARA-X binding ships native binaries for linux-x64 (glibc) and macOS only. Scan on one of those platforms before registering a model. See docs/scan-rules.md.',
            },
          ],
  };
}

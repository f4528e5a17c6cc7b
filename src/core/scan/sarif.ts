import { createHash } from 'node:crypto';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Sarif from 'sarif';
import type { Finding, Severity } from '../formats/findings';
import type { ScanReport } from './scanner';

/**
 * SARIF 2.1.0 as GitHub code scanning takes it (validated against the official OASIS schema in the tests,
 * test/helpers/sarif.ts): rules with descriptions, help text and a help URI; locations relative to the
 * repository root under `%SRCROOT%`, each with a region whose startLine >= 1; partialFingerprints; and
 * `automationDetails.id` naming the analysis category.
 */

export const PROJECT_URL = 'https://github.com/sovereign-workbench/sovereign-workbench';
/** Where a rule's documentation lives (a docs/ file of this repository, at its default branch). */
export function docsUrl(doc: string, anchor = ''): string {
  return `${PROJECT_URL}/blob/main/docs/${doc}${anchor ? `#${anchor}` : ''}`;
}

/** The uriBaseId GitHub code scanning resolves against the repository root. */
export const SRCROOT = '%SRCROOT%';

/**
 * A file's artifact location: relative to `baseDir` (the repository root) with `%SRCROOT%` when inside it,
 * an absolute file URI otherwise (GitHub cannot place those; scan from inside the repository). A relative
 * `path` is relative to `from` (the folder the user named it from: the current directory by default).
 */
export function artifactLocation(path: string, baseDir: string, from: string = process.cwd()): Sarif.ArtifactLocation {
  const abs = resolve(from, path);
  const rel = relative(baseDir, abs);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return { uri: pathToFileURL(abs).href };
  return { uri: rel.split(sep).map(encodeURIComponent).join('/'), uriBaseId: SRCROOT };
}

/** `originalUriBaseIds` for a run: where %SRCROOT% was on the machine that wrote the log. */
export function originalUriBaseIds(baseDir: string): Record<string, Sarif.ArtifactLocation> {
  return { [SRCROOT]: { uri: pathToFileURL(resolve(baseDir) + sep).href } };
}

/** A stable fingerprint for a result: what it is (rule), where (relative path), and where inside. */
export function fingerprint(...parts: (string | number | undefined)[]): string {
  return createHash('sha256').update(parts.map((p) => String(p ?? '')).join('\u0000')).digest('hex').slice(0, 32);
}

/** SARIF levels GitHub code scanning understands. */
function level(s: Severity): 'error' | 'warning' | 'note' {
  return s === 'critical' || s === 'high' ? 'error' : s === 'medium' ? 'warning' : 'note';
}

/** GitHub ranks security alerts by `security-severity` (0-10). */
const SECURITY_SEVERITY: Record<Severity, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '3.0', info: '1.0' };

/** What each family of scanner rules is about, where it is documented, and what to do about a finding. */
interface RuleFamily {
  title: string;
  doc: string;
  anchor: string;
  about: string;
  fix: string;
}

const DO_NOT_LOAD = 'Do not load the file. Get the model from its publisher again (and check its signature), or convert it to a format that holds no code (safetensors, GGUF, ONNX without custom operators).';

const FAMILIES: Record<string, RuleFamily> = {
  pickle: { title: 'Pickle', doc: 'formats-pickle.md', anchor: 'rules', about: 'Python pickle streams run code when loaded; the scanner walks the opcodes without executing them and judges every import and call against an allowlist.', fix: DO_NOT_LOAD },
  zip: { title: 'ZIP container', doc: 'formats-pickle.md', anchor: 'containers-detected-by-content-names-are-then-checked-against-it-below', about: 'ZIP containers (PyTorch .pt/.pth, Keras, NumPy .npz) are read member by member; structures that make readers disagree, bombs and members that cannot be checked are findings.', fix: 'Re-export the archive with a standard tool from trusted weights; do not load it as it is.' },
  numpy: { title: 'NumPy', doc: 'formats-pickle.md', anchor: 'rules', about: 'NumPy .npy/.npz headers are checked against the literal numpy writes; object arrays carry pickles, which are walked.', fix: 'Save plain numeric arrays (allow_pickle=False); do not load object arrays from untrusted sources.' },
  compressed: { title: 'Compressed file', doc: 'formats-pickle.md', anchor: 'rules', about: 'Compressed streams are decompressed with a bound (512 MiB) and their content scanned.', fix: 'Decompress with a trusted tool and scan the content, or get an uncompressed copy.' },
  format: { title: 'Name against content', doc: 'formats-pickle.md', anchor: 'names-against-content-formatmismatch-formatunknown', about: 'The file name claims a model format that its bytes are not: loaders chosen by extension would misread it.', fix: 'Rename the file to what its content is, or replace it with the format its name claims.' },
  gguf: { title: 'GGUF', doc: 'formats-gguf.md', anchor: 'rules', about: 'GGUF files are validated in TypeScript before llama.cpp sees them: a malformed structure can abort or corrupt the native loader.', fix: 'Re-convert the model with a current llama.cpp convert script, or get an intact copy from its publisher.' },
  onnx: { title: 'ONNX', doc: 'formats-onnx-safetensors.md', anchor: 'other-onnx-rules', about: 'ONNX graphs are read with a bounded protobuf reader; custom operator domains and external data paths are checked before ONNX Runtime loads them.', fix: 'Re-export the model without custom operators and with external data inside the model folder.' },
  safetensors: { title: 'safetensors', doc: 'formats-onnx-safetensors.md', anchor: 'safetensors-srccoreformatssafetensors', about: 'safetensors headers and tensor extents are checked: overlapping, out-of-bounds or oversized entries are findings.', fix: 'Re-save the tensors with the safetensors library from trusted weights.' },
  keras: { title: 'Keras', doc: 'security.md', anchor: 'scanner-and-model-loading--formats-picklemd-enginesmd', about: 'Keras configurations can name Python functions and Lambda layers that run code when the model is built.', fix: 'Remove Lambda layers and custom objects, or load with safe_mode=True only after review.' },
  hdf5: { title: 'HDF5', doc: 'security.md', anchor: 'scanner-and-model-loading--formats-picklemd-enginesmd', about: 'HDF5 (Keras .h5) files are searched for model configurations with code.', fix: 'Convert the model to a format without code, or review its configuration.' },
  fs: { title: 'File system', doc: 'security.md', anchor: 'scanner-and-model-loading--formats-picklemd-enginesmd', about: 'The scanner never follows symbolic links: a link can point outside the model.', fix: 'Replace the link with the file it points to.' },
  yara: { title: 'Malware rule (YARA)', doc: 'scan-rules.md', anchor: 'the-default-pack-rulesdefault', about: 'YARA rules (the shipped pack and the policy\'s own packs) run over every file, archive member and metadata string: executables embedded in model data, droppers, reverse shells, encoded payloads, chat templates that run code.', fix: DO_NOT_LOAD },
  scan: { title: 'Scanner', doc: 'security.md', anchor: 'scanner-and-model-loading--formats-picklemd-enginesmd', about: 'The scanner fails closed: a file it could not analyse completely is a finding, never a pass.', fix: 'Report the file to the Sovereign maintainers; do not load it until it scans clean.' },
};

const OTHER: RuleFamily = { title: 'Scanner rule', doc: 'security.md', anchor: 'scanner-and-model-loading--formats-picklemd-enginesmd', about: 'A finding of the model supply-chain scanner.', fix: 'Review the file before loading it; the message says what was found.' };

function familyOf(rule: string): RuleFamily {
  return FAMILIES[rule.split('/')[0]] ?? OTHER;
}

function ruleName(id: string): string {
  return id.replace(/(^|[^A-Za-z0-9]+)(.)?/g, (_m, _s: string, c: string | undefined) => (c ? c.toUpperCase() : ''));
}

function scanRule(id: string, example: Finding, worst: Severity): Sarif.ReportingDescriptor {
  const fam = familyOf(id);
  // A rule that documents itself (a YARA rule's meta) says what it is; the family says what to do.
  const helpUri = example.helpUri ?? docsUrl(fam.doc, fam.anchor);
  const about = example.help ? `${example.help} ${fam.about}` : fam.about;
  return {
    id,
    name: ruleName(id),
    shortDescription: { text: `${fam.title}: ${id}` },
    fullDescription: { text: `${about} Example: ${example.message}` },
    help: {
      text: `${id} (${fam.title}, up to ${worst}). ${about}\nWhat to do: ${fam.fix}\nDetails: ${helpUri}`,
      markdown: `**${id}** (${fam.title}, up to ${worst})\n\n${about}\n\n**What to do:** ${fam.fix}\n\n[Documentation](${helpUri})`,
    },
    helpUri,
    defaultConfiguration: { level: level(worst) },
    properties: { tags: ['security', 'supply-chain', fam.title.toLowerCase()], 'security-severity': SECURITY_SEVERITY[worst], precision: 'high' },
  };
}

export interface SarifOptions {
  toolVersion: string;
  /** The repository root: paths are written relative to it (under %SRCROOT%) when inside it. */
  baseDir: string;
  /** GitHub's analysis category (`automationDetails.id`); default `sovereign-scan/`. */
  category?: string;
}

/**
 * One result per finding. Model files are binary: the region is the file's first line (GitHub requires a
 * startLine to show an alert) and where inside the file (offset, member, tensor, key) is in the message and
 * in `properties.location`.
 */
export function toSarif(report: ScanReport, options: SarifOptions): Sarif.Log {
  const rules = new Map<string, { finding: Finding; worst: Severity }>();
  const rank = (s: Severity): number => ['info', 'low', 'medium', 'high', 'critical'].indexOf(s);
  const results: Sarif.Result[] = [];
  for (const file of report.files) {
    const location = artifactLocation(file.path, options.baseDir);
    for (const f of file.findings) {
      const known = rules.get(f.rule);
      if (!known) rules.set(f.rule, { finding: f, worst: f.severity });
      else if (rank(f.severity) > rank(known.worst)) known.worst = f.severity;
      results.push({
        ruleId: f.rule,
        level: level(f.severity),
        message: { text: f.location ? `${f.message} (at ${f.location})` : f.message },
        locations: [{ physicalLocation: { artifactLocation: location, region: { startLine: 1 } } }],
        partialFingerprints: { 'sovereignFinding/v1': fingerprint(f.rule, location.uri, f.location, f.message) },
        properties: { severity: f.severity, sha256: file.sha256, format: file.format, ...(f.location ? { location: f.location } : {}) },
      });
    }
  }
  const ruleIds = [...rules.keys()].sort();
  const index = new Map(ruleIds.map((id, i) => [id, i]));
  for (const r of results) r.ruleIndex = index.get(r.ruleId!);
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'sovereign-scan',
            semanticVersion: options.toolVersion,
            informationUri: PROJECT_URL,
            rules: ruleIds.map((id) => scanRule(id, rules.get(id)!.finding, rules.get(id)!.worst)),
          },
        },
        automationDetails: { id: options.category ?? 'sovereign-scan/' },
        originalUriBaseIds: originalUriBaseIds(options.baseDir),
        results,
      },
    ],
  };
}

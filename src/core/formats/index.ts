import { detectFormat, DETECT_HEAD_BYTES, DETECT_TAIL_BYTES } from './detect';
import type { AnalyzeOptions, ContainerAnalyzer, FormatAnalysis, ModelFormat } from './types';
import type { ByteSource } from './source';
import { isBlocking } from './findings';
import { describeError } from '../util/errors';
import { claimFindings, pickleLoaderName } from './claims';

export type { ModelFormat, FormatAnalysis, Analyzer, AnalyzeOptions, MetadataText, RuleStage } from './types';
export { FileSource, BufferSource, ByteCursor, type ByteSource } from './source';
export { detectFormat } from './detect';
export { claimOf, claimFindings } from './claims';

/*
 * One analyzer per detected format. Containers (zip, gzip...) refine the format they report. Each reader is
 * loaded when a file of its format is first analysed (the ONNX reader alone brings protobufjs and a generated
 * schema): `sovereign scan` of one small file does not pay for the others.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const lazy =
  <M>(load: () => M, pick: (m: M) => ContainerAnalyzer): ContainerAnalyzer =>
  (source, options, analyze) =>
    pick(load())(source, options, analyze);
const pickleScan = (): typeof import('./pickle/scan') => require('./pickle/scan') as typeof import('./pickle/scan');
const analyzeCompressed = lazy(() => require('./compressed/analyze') as typeof import('./compressed/analyze'), (m) => m.analyzeCompressed);
const ANALYZERS: Partial<Record<ModelFormat, ContainerAnalyzer>> = {
  gguf: lazy(() => require('./gguf/analyze') as typeof import('./gguf/analyze'), (m) => m.analyzeGguf),
  onnx: lazy(() => require('./onnx/analyze') as typeof import('./onnx/analyze'), (m) => m.analyzeOnnx),
  safetensors: lazy(() => require('./safetensors/analyze') as typeof import('./safetensors/analyze'), (m) => m.analyzeSafetensors),
  pickle: lazy(() => require('./pickle/analyze') as typeof import('./pickle/analyze'), (m) => m.analyzePickle),
  zip: lazy(() => require('./zip/analyze') as typeof import('./zip/analyze'), (m) => m.analyzeZip),
  numpy: lazy(() => require('./numpy/analyze') as typeof import('./numpy/analyze'), (m) => m.analyzeNumpy),
  gzip: analyzeCompressed,
  bz2: analyzeCompressed,
  xz: analyzeCompressed,
  hdf5: lazy(() => require('./hdf5/analyze') as typeof import('./hdf5/analyze'), (m) => m.analyzeHdf5),
  joblib: analyzeCompressed,
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** Containers nest (a zip in a gzip in a zip...): beyond this depth a file is refused. */
export const MAX_NESTING = 4;

/** Reads the bytes the detector needs and names the format. */
export async function detectSource(source: ByteSource): Promise<ModelFormat> {
  const head = await source.readAt(0, DETECT_HEAD_BYTES);
  const tail = await source.readAt(Math.max(0, source.size - DETECT_TAIL_BYTES), DETECT_TAIL_BYTES);
  return detectFormat(head, tail, source.size);
}

/**
 * Detects and analyses any source: the single entry point for the scanner, `inspect`, and containers
 * that analyse their members. Never throws for bad content: an analyzer crash is a `high` finding.
 */
export async function analyzeSource(source: ByteSource, options: AnalyzeOptions = {}): Promise<FormatAnalysis> {
  if (source.depth > MAX_NESTING) {
    return {
      format: 'unknown',
      facts: {},
      findings: [{ rule: 'scan/nesting-too-deep', severity: 'high', message: `containers nested more than ${MAX_NESTING} deep`, location: source.path }],
    };
  }
  const head = await source.readAt(0, DETECT_HEAD_BYTES);
  const tail = await source.readAt(Math.max(0, source.size - DETECT_TAIL_BYTES), DETECT_TAIL_BYTES);
  const detected = detectFormat(head, tail, source.size);
  const name = source.claimedName ?? source.path;
  const analyzer = ANALYZERS[detected];
  let analysis: FormatAnalysis;
  if (!analyzer) {
    analysis = { format: detected, facts: {}, findings: [] };
    // pickle.load reads from the first byte and ignores what follows STOP: a protocol 0/1 pickle with bytes
    // appended escapes detection (its last byte is not STOP) but not a loader that opens it by its name.
    if (detected === 'unknown' && pickleLoaderName(name)) {
      // Only a pickle that would import or call something counts (random weights may start with "N." by chance).
      const probe = await pickleScan().scanPickle(source, { signal: options.signal });
      const w = probe.walk;
      const acts = w.globals.length > 0 || w.calls > 0 || w.persistentIds > 0 || probe.findings.some((f) => f.rule !== 'pickle/parse-error' && isBlocking(f.severity));
      if (w.pickles > 0 && acts) analysis = { format: probe.joblib ? 'joblib' : 'pickle', facts: probe.facts, findings: probe.findings };
    }
  } else {
    try {
      analysis = await analyzer(source, options, analyzeSource);
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') throw err;
      analysis = {
        format: detected,
        facts: {},
        findings: [{ rule: 'scan/analyzer-error', severity: 'high', message: `the ${detected} reader failed: ${describeError(err)}`, location: source.path }],
      };
    }
  }
  // The name a loader would go by against what the bytes are (fail closed on "named like a model, is not").
  const claimed = claimFindings(name, analysis.format, source.path);
  if (claimed.length > 0) analysis.findings = [...claimed, ...analysis.findings];
  // The rule stage: every source (file or member) once, its bytes and the metadata strings its reader
  // decoded, unless it is a container that ran the stage over its own bytes and members (zip).
  if (options.rules && !analysis.rulesCovered) {
    const matched = await options.rules.scan(source, { format: analysis.format, texts: analysis.texts, signal: options.signal });
    if (matched.length > 0) analysis.findings = [...analysis.findings, ...matched];
  }
  delete analysis.texts;
  delete analysis.rulesCovered;
  return analysis;
}

import type { Finding } from '../findings';
import { FileSource, type ByteSource } from '../source';
import type { AnalyzeOptions, Analyzer, FormatAnalysis } from '../types';
import { FindingCollector } from './findingCollector';
import { modelFacts, type OnnxFacts } from './modelFacts';
import { decodeSource } from './read';
import { onnxTexts } from './texts';

/**
 * The ONNX analyzer: decode with onnx-proto within the 2 GiB protobuf bound, then report opsets,
 * inputs/outputs, initializers, operators, custom operator domains, subgraphs and external data (resolved
 * on disk, never outside the model's folder). Malformed input is a `high` finding, never an exception.
 */
export const analyzeOnnx: Analyzer = async (source: ByteSource, options: AnalyzeOptions): Promise<FormatAnalysis> => {
  const findings = new FindingCollector(source.path);
  options.signal?.throwIfAborted();
  const model = await decodeSource(source, findings);
  if (!model) return { format: 'onnx', facts: { summary: { status: 'not readable (see findings)' } }, findings: findings.toArray() };
  options.signal?.throwIfAborted();
  const facts = await modelFacts(model, source, findings, options.signal);
  return { format: 'onnx', facts, findings: findings.toArray(), ...(options.rules ? { texts: onnxTexts(model) } : {}) };
};

export interface OnnxInspection {
  /** Undefined when the file could not be decoded (the findings say why). */
  facts?: OnnxFacts;
  findings: Finding[];
}

/**
 * Checks an ONNX file on disk before a runtime sees it (the engines call this before
 * onnxruntime's InferenceSession.create). Refuse the file when any finding is blocking
 * (`isBlocking(f.severity)` from formats/findings: high or critical).
 */
export async function inspectOnnx(path: string, options: AnalyzeOptions = {}): Promise<OnnxInspection> {
  const source = await FileSource.open(path);
  try {
    return await inspectOnnxSource(source, options);
  } finally {
    await source.close();
  }
}

/** inspectOnnx for any ByteSource (an archive member has depth > 0: its external data cannot be resolved). */
export async function inspectOnnxSource(source: ByteSource, options: AnalyzeOptions = {}): Promise<OnnxInspection> {
  const analysis = await analyzeOnnx(source, options);
  const decoded = analysis.facts as Partial<OnnxFacts>;
  return { facts: decoded.irVersion === undefined ? undefined : (analysis.facts as OnnxFacts), findings: analysis.findings };
}

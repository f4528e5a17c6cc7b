import { detectFormat, DETECT_HEAD_BYTES, DETECT_TAIL_BYTES } from './detect';
import type { AnalyzeOptions, Analyzer, FormatAnalysis, ModelFormat } from './types';
import type { ByteSource } from './source';
import { analyzeGguf } from './gguf/analyze';
import { analyzeOnnx } from './onnx/analyze';
import { analyzeSafetensors } from './safetensors/analyze';
import { analyzePickle } from './pickle/analyze';
import { analyzeZip } from './zip/analyze';
import { analyzeNumpy } from './numpy/analyze';
import { analyzeCompressed } from './compressed/analyze';
import { analyzeHdf5 } from './hdf5/analyze';
import { describeError } from '../util/errors';

export type { ModelFormat, FormatAnalysis, Analyzer, AnalyzeOptions } from './types';
export { FileSource, BufferSource, ByteCursor, type ByteSource } from './source';
export { detectFormat } from './detect';

/** One analyzer per detected format. Containers (zip, gzip...) refine the format they report. */
const ANALYZERS: Partial<Record<ModelFormat, Analyzer>> = {
  gguf: analyzeGguf,
  onnx: analyzeOnnx,
  safetensors: analyzeSafetensors,
  pickle: analyzePickle,
  zip: analyzeZip,
  numpy: analyzeNumpy,
  gzip: analyzeCompressed,
  bz2: analyzeCompressed,
  xz: analyzeCompressed,
  hdf5: analyzeHdf5,
  joblib: analyzeCompressed,
};

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
  const format = await detectSource(source);
  const analyzer = ANALYZERS[format];
  if (!analyzer) {
    return { format, facts: {}, findings: [] };
  }
  try {
    return await analyzer(source, options);
  } catch (err) {
    if ((err as Error)?.name === 'AbortError') throw err;
    return {
      format,
      facts: {},
      findings: [{ rule: 'scan/analyzer-error', severity: 'high', message: `the ${format} reader failed: ${describeError(err)}`, location: source.path }],
    };
  }
}

import type { Finding } from '../findings';
import { scanPickle } from '../pickle/scan';
import type { Analyzer } from '../types';
import { describeDescr, hasObjects, itemSize, NpyHeaderError, parseNpyHeader } from './header';

/** numpy.load refuses headers longer than this unless told otherwise (max_header_size). */
const NUMPY_MAX_HEADER = 10_000;
const HEAD_READ = 1 << 20;

/**
 * .npy files: numeric arrays are plain bytes after the header (facts only); object arrays are a pickle
 * after the header, which np.load(allow_pickle=True) runs: that pickle is walked and judged.
 */
export const analyzeNumpy: Analyzer = async (source, options) => {
  const head = await source.readAt(0, HEAD_READ);
  let header;
  try {
    header = parseNpyHeader(head);
  } catch (err) {
    if (!(err instanceof NpyHeaderError)) throw err;
    return { format: 'numpy', facts: {}, findings: [{ rule: 'numpy/bad-header', severity: 'high', message: `${err.message}: numpy may read this file differently from this scanner`, location: source.path }] };
  }
  const findings: Finding[] = [];
  if (header.headerLength > NUMPY_MAX_HEADER) {
    findings.push({ rule: 'numpy/large-header', severity: 'medium', message: `header of ${header.headerLength} bytes exceeds numpy's default limit of ${NUMPY_MAX_HEADER}`, location: source.path });
  }
  const dtype = describeDescr(header.descr);
  const count = header.shape.reduce((a, b) => a * b, 1);
  const summary: Record<string, unknown> = { dtype, shape: header.shape.length === 1 ? `(${header.shape[0]},)` : `(${header.shape.join(', ')})`, version: header.version };
  const facts: Record<string, unknown> = { summary, dtype, shape: header.shape, fortranOrder: header.fortranOrder, dataOffset: header.dataOffset };
  if (hasObjects(header.descr)) {
    summary.objectArray = true;
    findings.push({ rule: 'numpy/object-array', severity: 'medium', message: 'object array: its data is a pickle that np.load runs only with allow_pickle=True (walked below)', location: source.path });
    const scan = await scanPickle(source, { start: header.dataOffset, signal: options.signal });
    findings.push(...scan.findings);
    facts.pickle = scan.facts;
    facts.globals = scan.facts.globals;
    return { format: 'numpy', facts, findings };
  }
  const size = itemSize(header.descr);
  if (size === undefined) {
    findings.push({ rule: 'numpy/unknown-dtype', severity: 'medium', message: `dtype ${dtype} is not understood by this scanner: the data size cannot be checked`, location: source.path });
  } else {
    const expected = header.dataOffset + count * size;
    facts.dataBytes = count * size;
    if (expected > source.size) {
      findings.push({ rule: 'numpy/truncated', severity: 'high', message: `shape and dtype need ${count * size} data bytes; the file has ${source.size - header.dataOffset}`, location: source.path });
    } else if (expected < source.size) {
      findings.push({ rule: 'numpy/trailing-data', severity: 'medium', message: `${source.size - expected} bytes after the array data are never read by numpy (hidden payload?)`, location: source.path });
    }
  }
  return { format: 'numpy', facts, findings };
};

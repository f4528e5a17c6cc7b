import type { Analyzer } from '../types';
import { scanPickle } from './scan';

/** A bare pickle stream (.pkl, legacy torch.save .pt/.bin, joblib.dump output). */
export const analyzePickle: Analyzer = async (source, options) => {
  const scan = await scanPickle(source, { signal: options.signal });
  return { format: scan.joblib ? 'joblib' : 'pickle', facts: scan.facts, findings: scan.findings };
};

import type { Analyzer } from '../types';

// PLACEHOLDER until the compressed reader lands: reports that the format is not analysed yet (fails closed).
export const analyzeCompressed: Analyzer = async (source) => ({
  format: 'unknown',
  facts: {},
  findings: [{ rule: 'scan/unsupported', severity: 'high', message: `${source.path}: this format is not analysed yet` }],
});

import type { JsonTensor } from './types';

/**
 * The predicted class per row of a classifier's output, as `sovereign eval` and the live drift window read it:
 * integer (or bool) labels as they are, `[N, C]` scores by argmax, `[N]` or `[N, 1]` scores at 0.5. Undefined
 * when the output does not have one label or one row of scores per input row.
 */
export function classLabels(tensor: JsonTensor, rows: number): string[] | undefined {
  const values = tensor.data.map(Number);
  if (tensor.type.startsWith('int') || tensor.type === 'bool') return values.length === rows ? values.map(String) : undefined;
  const classes = values.length / rows;
  if (!Number.isInteger(classes) || classes < 1) return undefined;
  if (classes === 1) return values.map((v) => (v >= 0.5 ? '1' : '0'));
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (values[r * classes + c] > values[r * classes + best]) best = c;
    out.push(String(best));
  }
  return out;
}

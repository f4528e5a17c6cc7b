import type { LineageEdge, LineageGraph, LineageNode } from '../../src/core/registry/lineage';

/**
 * A realistic registry lineage of about `size` nodes: families of a base model, fine-tunes on shared
 * datasets, quantizations and conversions of those, with aliases, scan verdicts, signatures and
 * violations spread over them. Deterministic (a seeded generator) so figures are comparable across runs.
 */
export function generateLineage(size: number, seed = 7): LineageGraph {
  let state = seed >>> 0;
  const rand = (): number => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const nodes: LineageNode[] = [];
  const edges: LineageEdge[] = [];
  const datasets: string[] = [];
  const datasetCount = Math.max(2, Math.round(size / 25));
  for (let i = 0; i < datasetCount; i++) {
    const id = `dataset:corpus-${i}@v${1 + (i % 3)}`;
    datasets.push(id);
    nodes.push({ id, kind: 'dataset', label: id.slice('dataset:'.length), name: `corpus-${i}`, version: `v${1 + (i % 3)}` });
  }
  const model = (name: string, version: string): LineageNode => {
    const r = rand();
    const aliases = r < 0.08 ? ['production'] : r < 0.16 ? ['staging'] : r < 0.2 ? ['champion'] : [];
    const node: LineageNode = {
      id: `model:${name}@${version}`,
      kind: 'model',
      label: `${name}@${version}${aliases.length ? ` (${aliases.join(', ')})` : ''}`,
      name,
      version,
      aliases,
      status: { scan: rand() < 0.93 ? 'pass' : 'fail', signed: rand() < 0.7, violations: rand() < 0.15 ? 1 + Math.floor(rand() * 3) : 0 },
      format: rand() < 0.6 ? 'gguf' : 'safetensors',
    };
    nodes.push(node);
    return node;
  };
  for (let family = 0; nodes.length < size; family++) {
    const base = model(`base-${family}`, '1.0.0');
    const fineTunes = 2 + Math.floor(rand() * 3);
    for (let f = 0; f < fineTunes && nodes.length < size; f++) {
      const ft = model(`base-${family}-ft${f}`, `1.${f}.0`);
      edges.push({ from: base.id, to: ft.id, kind: 'fine-tune' });
      edges.push({ from: datasets[Math.floor(rand() * datasets.length)], to: ft.id, kind: 'trained-on' });
      if (rand() < 0.3) edges.push({ from: datasets[Math.floor(rand() * datasets.length)], to: ft.id, kind: 'trained-on' });
      const quants = 1 + Math.floor(rand() * 3);
      for (let q = 0; q < quants && nodes.length < size; q++) {
        const qn = model(`base-${family}-ft${f}-q${q}`, `1.${f}.${q + 1}`);
        edges.push({ from: ft.id, to: qn.id, kind: q === 0 ? 'quantize' : 'convert' });
      }
    }
  }
  return { nodes, edges };
}

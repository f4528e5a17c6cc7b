/** What the lineage view shows, computed from the graph: classes (colour), filter, highlight. Pure. */
import type { LineageGraph, LineageNode } from './types';

/** Alias colours: well-known aliases get fixed slots; others a stable slot from their name. */
const ALIAS_SLOTS: Record<string, number> = { production: 0, prod: 0, champion: 1, staging: 2, canary: 3, latest: 4 };
export const ALIAS_PALETTE_SIZE = 6;

export function aliasSlot(alias: string): number {
  if (alias in ALIAS_SLOTS) return ALIAS_SLOTS[alias];
  let h = 0;
  for (let i = 0; i < alias.length; i++) h = (h * 31 + alias.charCodeAt(i)) >>> 0;
  return h % ALIAS_PALETTE_SIZE;
}

export type NodeStatus = 'ok' | 'scan-failed' | 'violations' | 'unsigned' | 'unknown';

/** The one status a node's fill shows, the worst first: a failed scan outranks a policy violation. */
export function nodeStatus(node: LineageNode): NodeStatus {
  if (node.kind !== 'model' || !node.status) return 'unknown';
  if (node.status.scan === 'fail') return 'scan-failed';
  if (node.status.violations > 0) return 'violations';
  if (!node.status.signed) return 'unsigned';
  return node.status.scan === 'pass' ? 'ok' : 'unknown';
}

/** CSS classes of a node: kind, status, signature, first alias colour. */
export function nodeClasses(node: LineageNode): string[] {
  const classes = ['node', `kind-${node.kind}`, `status-${nodeStatus(node)}`];
  if (node.status?.signed) classes.push('signed');
  const alias = node.aliases?.[0];
  if (alias) classes.push('aliased', `alias-${aliasSlot(alias)}`);
  return classes;
}

/** A one-line description of a node for its tooltip and the details pane. */
export function describeNode(node: LineageNode): string {
  if (node.kind === 'dataset') return `dataset ${node.label}${node.license ? ` · ${node.license}` : ''}`;
  if (node.kind === 'artifact') return `parent artifact outside the registry ${node.name}`;
  const s = node.status;
  const parts = [node.label];
  if (node.format) parts.push(node.format);
  if (s) {
    parts.push(s.scan ? `scan ${s.scan}${s.worst ? ` (worst: ${s.worst})` : ''}` : 'not scanned');
    parts.push(s.signed ? 'signed' : 'unsigned');
    if (s.violations) parts.push(`${s.violations} policy violation${s.violations === 1 ? '' : 's'}`);
  }
  return parts.join(' · ');
}

/**
 * Nodes matching a filter: a substring of the name, label, version, alias or dataset name
 * (case-insensitive). A model also matches when a dataset it was trained on matches, so "corpus-3"
 * shows the datasets and the models that used them. Empty filter: undefined (everything shown).
 */
export function filterMatches(graph: LineageGraph, filter: string): Set<string> | undefined {
  const q = filter.trim().toLowerCase();
  if (!q) return undefined;
  const hit = new Set<string>();
  for (const n of graph.nodes) {
    const text = [n.label, n.name, n.version ?? '', ...(n.aliases ?? [])].join('\n').toLowerCase();
    if (text.includes(q)) hit.add(n.id);
  }
  for (const e of graph.edges) if (e.kind === 'trained-on' && hit.has(e.from)) hit.add(e.to);
  return hit;
}

/**
 * "Which models used this dataset?": the selected node and everything derived from it (for a dataset:
 * the models trained on it and every fine-tune, quantization... of those, whose weights carry the data).
 * For a model: its ancestors and descendants, the whole chain it belongs to.
 */
export function highlightSet(graph: LineageGraph, selected: string | undefined): Set<string> | undefined {
  if (!selected || !graph.nodes.some((n) => n.id === selected)) return undefined;
  const down = new Map<string, string[]>();
  const up = new Map<string, string[]>();
  for (const e of graph.edges) {
    down.set(e.from, [...(down.get(e.from) ?? []), e.to]);
    up.set(e.to, [...(up.get(e.to) ?? []), e.from]);
  }
  const out = new Set<string>([selected]);
  const walk = (next: Map<string, string[]>): void => {
    const stack = [selected];
    const seen = new Set<string>([selected]);
    while (stack.length) {
      const id = stack.pop()!;
      for (const other of next.get(id) ?? []) {
        if (seen.has(other)) continue; // hand-edited manifests may contain cycles
        seen.add(other);
        out.add(other);
        stack.push(other);
      }
    }
  };
  walk(down);
  const node = graph.nodes.find((n) => n.id === selected);
  if (node?.kind !== 'dataset') walk(up);
  return out;
}

/** The model versions a dataset reaches (directly or through derived versions), for the details list. */
export function modelsUsingDataset(graph: LineageGraph, datasetId: string): LineageNode[] {
  const reached = highlightSet(graph, datasetId) ?? new Set<string>();
  return graph.nodes.filter((n) => n.kind === 'model' && reached.has(n.id)).sort((a, b) => (a.label < b.label ? -1 : 1));
}

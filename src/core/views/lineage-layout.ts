/**
 * Lineage layout: each model family (versions joined by fine-tune / quantize / convert... edges) is laid
 * out by dagre, a real layered graph layout; datasets sit in a rail on the left, each at the height of
 * the models trained on it, and families are stacked in the order of the datasets they use.
 *
 * Why not one dagre (or ELK) layout of the whole graph: shared datasets join every family into one
 * component, and crossing reduction on 2,000 nodes takes minutes with dagre and tens of seconds with
 * elkjs (measured: docs/webviews.md). Families are small (tens of nodes), lay out in milliseconds, and
 * are cached by content, so a registry change re-lays only the family it touched.
 *
 * Pure (no DOM): runs in the core worker (off the extension host thread), in the tests and the bench.
 */
import type * as Dagre from '@dagrejs/dagre' with { 'resolution-mode': 'import' };
import type { LineageEdge, LineageGraph, LineageLayout, LineageNode, PlacedEdge, PlacedNode } from '../../../webview/lineage/types';

export type { LineageLayout, PlacedEdge, PlacedNode } from '../../../webview/lineage/types';

// dagre is an ES module with a CommonJS build; this project compiles to CommonJS, so it is required
// (the types come from its ESM declarations).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dagre: typeof Dagre = require('@dagrejs/dagre');
export const NODE_HEIGHT = 26;
const CHAR_WIDTH = 6.6;
const FAMILY_GAP = 22;
const RAIL_GAP = 140;
const DATASET_GAP = 8;
const MARGIN = 16;

/** Width of a node's box for its label (a monospace estimate: the layout must not depend on fonts). */
export function nodeWidth(node: Pick<LineageNode, 'label'>): number {
  return Math.round(Math.min(280, Math.max(90, node.label.length * CHAR_WIDTH + 34)));
}

interface FamilyLayout {
  width: number;
  height: number;
  /** Node id -> top-left, relative to the family's box. */
  nodes: Map<string, { x: number; y: number; width: number }>;
  edges: { from: string; to: string; kind: LineageEdge['kind']; points: { x: number; y: number }[] }[];
}

/** Family layouts by content key; bounded so a long session does not grow without end. */
const familyCache = new Map<string, FamilyLayout>();
const FAMILY_CACHE_LIMIT = 20_000;

export function clearLayoutCache(): void {
  familyCache.clear();
}

export function layoutLineage(graph: LineageGraph): LineageLayout {
  const started = performance.now();
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const datasets = graph.nodes.filter((n) => n.kind === 'dataset').sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const families = findFamilies(graph, byId);

  // Order families by the datasets they were trained on, so a dataset's consumers sit close together.
  const datasetRank = new Map(datasets.map((d, i) => [d.id, i]));
  const trainedOn = new Map<string, string[]>();
  for (const e of graph.edges) if (datasetRank.has(e.from)) trainedOn.set(e.to, [...(trainedOn.get(e.to) ?? []), e.from]);
  const familyRank = (ids: string[]): number => {
    const ranks = ids.flatMap((id) => (trainedOn.get(id) ?? []).map((d) => datasetRank.get(d) ?? 0));
    return ranks.length ? ranks.reduce((a, b) => a + b, 0) / ranks.length : Number.MAX_SAFE_INTEGER;
  };
  const ordered = families.map((ids) => ({ ids, rank: familyRank(ids), first: ids[0] })).sort((a, b) => a.rank - b.rank || (a.first < b.first ? -1 : 1));

  const railWidth = datasets.length ? Math.max(...datasets.map(nodeWidth)) : 0;
  const familyX = MARGIN + (datasets.length ? railWidth + RAIL_GAP : 0);
  const nodes: PlacedNode[] = [];
  const edges: PlacedEdge[] = [];
  const placed = new Map<string, PlacedNode>();
  let y = MARGIN;
  let width = familyX;
  let fromCache = 0;
  for (const family of ordered) {
    const { layout, cached } = familyLayout(family.ids, graph, byId);
    if (cached) fromCache++;
    for (const [id, p] of layout.nodes) {
      const node: PlacedNode = { id, x: round(familyX + p.x), y: round(y + p.y), width: p.width, height: NODE_HEIGHT };
      nodes.push(node);
      placed.set(id, node);
    }
    for (const e of layout.edges) {
      edges.push({ from: e.from, to: e.to, kind: e.kind, path: polyline(e.points.map((p) => ({ x: familyX + p.x, y: y + p.y }))) });
    }
    width = Math.max(width, familyX + layout.width);
    y += layout.height + FAMILY_GAP;
  }
  let height = y - FAMILY_GAP + MARGIN;

  // Datasets: at the mean height of their consumers, then pushed apart so none overlap.
  const wanted = datasets.map((d) => {
    const consumers = graph.edges.filter((e) => e.from === d.id).map((e) => placed.get(e.to)).filter((n): n is PlacedNode => !!n);
    const mid = consumers.length ? consumers.reduce((a, n) => a + n.y, 0) / consumers.length : MARGIN;
    return { d, y: mid };
  });
  wanted.sort((a, b) => a.y - b.y);
  let floor = MARGIN;
  for (const w of wanted) {
    const top = Math.max(w.y, floor);
    const node: PlacedNode = { id: w.d.id, x: MARGIN + railWidth - nodeWidth(w.d), y: round(top), width: nodeWidth(w.d), height: NODE_HEIGHT };
    nodes.push(node);
    placed.set(node.id, node);
    floor = top + NODE_HEIGHT + DATASET_GAP;
  }
  height = Math.max(height, floor - DATASET_GAP + MARGIN);
  for (const e of graph.edges) {
    if (!datasetRank.has(e.from)) continue;
    const a = placed.get(e.from);
    const b = placed.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + a.width;
    const y1 = a.y + NODE_HEIGHT / 2;
    const x2 = b.x;
    const y2 = b.y + NODE_HEIGHT / 2;
    const dx = Math.max(40, (x2 - x1) / 2);
    edges.push({ from: e.from, to: e.to, kind: e.kind, path: `M${round(x1)},${round(y1)}C${round(x1 + dx)},${round(y1)} ${round(x2 - dx)},${round(y2)} ${round(x2)},${round(y2)}` });
  }
  return { width: round(width + MARGIN), height: round(height), nodes, edges, stats: { families: ordered.length, familiesFromCache: fromCache, ms: round(performance.now() - started) } };
}

/** Weakly connected components over the edges between non-dataset nodes (union-find). */
function findFamilies(graph: LineageGraph, byId: Map<string, LineageNode>): string[][] {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let root = x;
    while (parent.has(root) && parent.get(root) !== root) root = parent.get(root)!;
    // path compression keeps later finds O(1)
    let cur = x;
    while (cur !== root) {
      const next = parent.get(cur)!;
      parent.set(cur, root);
      cur = next;
    }
    return root;
  };
  for (const n of graph.nodes) if (n.kind !== 'dataset') parent.set(n.id, n.id);
  for (const e of graph.edges) {
    if (!parent.has(e.from) || !parent.has(e.to)) continue;
    const a = find(e.from);
    const b = find(e.to);
    if (a !== b) parent.set(a, b);
  }
  const groups = new Map<string, string[]>();
  for (const n of graph.nodes) {
    if (n.kind === 'dataset' || !byId.has(n.id)) continue;
    const r = find(n.id);
    const g = groups.get(r);
    if (g) g.push(n.id);
    else groups.set(r, [n.id]);
  }
  return [...groups.values()].map((ids) => ids.sort());
}

function familyLayout(ids: string[], graph: LineageGraph, byId: Map<string, LineageNode>): { layout: FamilyLayout; cached: boolean } {
  const members = new Set(ids);
  const familyEdges = graph.edges.filter((e) => members.has(e.from) && members.has(e.to)).sort((a, b) => (a.from + a.to < b.from + b.to ? -1 : 1));
  const key = JSON.stringify([ids.map((id) => [id, nodeWidth(byId.get(id)!)]), familyEdges.map((e) => [e.from, e.to, e.kind])]);
  const hit = familyCache.get(key);
  if (hit) {
    // refresh its place in the insertion order (a cheap LRU)
    familyCache.delete(key);
    familyCache.set(key, hit);
    return { layout: hit, cached: true };
  }
  const layout = ids.length === 1 ? single(byId.get(ids[0])!) : runDagre(ids, familyEdges, byId);
  familyCache.set(key, layout);
  if (familyCache.size > FAMILY_CACHE_LIMIT) familyCache.delete(familyCache.keys().next().value!);
  return { layout, cached: false };
}

function single(node: LineageNode): FamilyLayout {
  const width = nodeWidth(node);
  return { width, height: NODE_HEIGHT, nodes: new Map([[node.id, { x: 0, y: 0, width }]]), edges: [] };
}

function runDagre(ids: string[], familyEdges: LineageEdge[], byId: Map<string, LineageNode>): FamilyLayout {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: 8, ranksep: 48, edgesep: 6, marginx: 0, marginy: 0, ranker: 'longest-path' });
  g.setDefaultEdgeLabel(() => ({}));
  for (const id of ids) g.setNode(id, { width: nodeWidth(byId.get(id)!), height: NODE_HEIGHT });
  familyEdges.forEach((e, i) => g.setEdge(e.from, e.to, {}, String(i)));
  dagre.layout(g);
  const nodes = new Map<string, { x: number; y: number; width: number }>();
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const id of ids) {
    const n = g.node(id);
    const x = n.x - n.width / 2;
    const y = n.y - n.height / 2;
    nodes.set(id, { x, y, width: n.width });
    minX = Math.min(minX, x);
    minY = Math.min(minY, y);
    maxX = Math.max(maxX, x + n.width);
    maxY = Math.max(maxY, y + n.height);
  }
  for (const p of nodes.values()) {
    p.x = round(p.x - minX);
    p.y = round(p.y - minY);
  }
  const edges = familyEdges.map((e, i) => {
    const points = (g.edge({ v: e.from, w: e.to, name: String(i) })?.points ?? []).map((p: { x: number; y: number }) => ({ x: p.x - minX, y: p.y - minY }));
    return { from: e.from, to: e.to, kind: e.kind, points };
  });
  return { width: round(maxX - minX), height: round(maxY - minY), nodes, edges };
}

function polyline(points: { x: number; y: number }[]): string {
  return points.map((p, i) => `${i ? 'L' : 'M'}${round(p.x)},${round(p.y)}`).join('');
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

import type { Registry, RegistryEntry } from './read';

/** The lineage graph the webview draws (`sovereign registry graph --json`). */
export interface LineageNode {
  /** `model:NAME@VERSION`, `dataset:NAME[@VERSION|DIGEST]`, or `artifact:sha256:HEX` (a parent outside the registry). */
  id: string;
  kind: 'model' | 'dataset' | 'artifact';
  label: string;
  name: string;
  version?: string;
  /** Model nodes only. */
  aliases?: string[];
  status?: { scan?: 'pass' | 'fail'; worst?: string; signed: boolean; violations: number };
  format?: string;
  license?: string;
  /** Dataset nodes: digest; artifact nodes: the sha256. */
  digest?: string;
}

export interface LineageEdge {
  /** The parent (model, artifact or dataset). */
  from: string;
  /** The derived model version. */
  to: string;
  kind: 'fine-tune' | 'quantize' | 'convert' | 'distill' | 'merge' | 'other' | 'trained-on';
}

export interface LineageGraph {
  nodes: LineageNode[];
  edges: LineageEdge[];
}

export function modelNodeId(name: string, version: string): string {
  return `model:${name}@${version}`;
}

export function datasetKey(d: { name: string; version?: string; digest?: string }): string {
  return `dataset:${d.name}${d.digest ? `@${d.digest}` : d.version ? `@${d.version}` : ''}`;
}

/** The part of a policy violation the graph counts (evaluatePolicy's violations are passed as they are). */
export interface VersionFlag {
  model?: string;
  version?: string;
}

/** Builds the whole graph; `violations` (from evaluatePolicy) fills each model's status. */
export function buildLineageGraph(registry: Registry, violations: readonly VersionFlag[] = []): LineageGraph {
  const nodes = new Map<string, LineageNode>();
  const edges: LineageEdge[] = [];
  const byDigest = new Map<string, RegistryEntry>();
  for (const e of registry.entries) for (const a of e.manifest.artifacts) if (!byDigest.has(a.sha256)) byDigest.set(a.sha256, e);
  const violationCount = new Map<string, number>();
  for (const v of violations) if (v.model && v.version) violationCount.set(`${v.model}@${v.version}`, (violationCount.get(`${v.model}@${v.version}`) ?? 0) + 1);

  for (const e of registry.entries) {
    const m = e.manifest;
    const id = modelNodeId(m.name, m.version);
    nodes.set(id, {
      id,
      kind: 'model',
      label: `${m.name}@${m.version}${e.aliases.length ? ` (${e.aliases.join(', ')})` : ''}`,
      name: m.name,
      version: m.version,
      aliases: [...e.aliases].sort(),
      status: { scan: m.scan?.verdict, worst: m.scan?.worst, signed: !!m.signature, violations: violationCount.get(`${m.name}@${m.version}`) ?? 0 },
      format: m.format,
      license: m.license,
    });
  }
  for (const e of registry.entries) {
    const m = e.manifest;
    const to = modelNodeId(m.name, m.version);
    for (const p of m.parents ?? []) {
      let from: string;
      if (p.ref.startsWith('sha256:')) {
        const hex = p.ref.slice('sha256:'.length);
        const owner = byDigest.get(hex);
        if (owner) from = modelNodeId(owner.manifest.name, owner.manifest.version);
        else {
          from = `artifact:${p.ref}`;
          if (!nodes.has(from)) nodes.set(from, { id: from, kind: 'artifact', label: `sha256:${hex.slice(0, 12)}`, name: p.ref, digest: hex });
        }
      } else {
        const at = p.ref.lastIndexOf('@');
        from = modelNodeId(p.ref.slice(0, at), p.ref.slice(at + 1));
        if (!nodes.has(from)) {
          // A parent that is not (or no longer) registered still appears, so the chain stays visible.
          nodes.set(from, { id: from, kind: 'model', label: `${p.ref} (not registered)`, name: p.ref.slice(0, at), version: p.ref.slice(at + 1), aliases: [] });
        }
      }
      edges.push({ from, to, kind: p.derivation ?? 'other' });
    }
    for (const d of m.datasets ?? []) {
      const id = datasetKey(d);
      if (!nodes.has(id)) nodes.set(id, { id, kind: 'dataset', label: id.slice('dataset:'.length), name: d.name, version: d.version, digest: d.digest, license: d.license });
      edges.push({ from: id, to, kind: 'trained-on' });
    }
  }
  return { nodes: [...nodes.values()], edges };
}

/** Every node reachable upwards (parents, their parents, datasets) or downwards (derived versions). */
export function walkLineage(graph: LineageGraph, start: string, direction: 'ancestors' | 'descendants'): { id: string; depth: number; via: LineageEdge }[] {
  const next = adjacency(graph, direction);
  const seen = new Set<string>([start]);
  const out: { id: string; depth: number; via: LineageEdge }[] = [];
  let frontier = [start];
  for (let depth = 1; frontier.length; depth++) {
    const upcoming: string[] = [];
    for (const id of frontier) {
      for (const e of next.get(id) ?? []) {
        const other = direction === 'ancestors' ? e.from : e.to;
        if (seen.has(other)) continue; // cycles in hand-edited manifests must not loop
        seen.add(other);
        out.push({ id: other, depth, via: e });
        upcoming.push(other);
      }
    }
    frontier = upcoming;
  }
  return out;
}

const ADJACENCY = new WeakMap<LineageGraph, Map<string, Map<string, LineageEdge[]>>>();

/** Edges by parent (descendants) or by child (ancestors), computed once per graph. */
function adjacency(graph: LineageGraph, direction: 'ancestors' | 'descendants'): Map<string, LineageEdge[]> {
  let both = ADJACENCY.get(graph);
  if (!both) {
    both = new Map();
    ADJACENCY.set(graph, both);
  }
  let next = both.get(direction);
  if (!next) {
    next = new Map();
    for (const e of graph.edges) {
      const key = direction === 'ancestors' ? e.to : e.from;
      const list = next.get(key);
      if (list) list.push(e);
      else next.set(key, [e]);
    }
    both.set(direction, next);
  }
  return next;
}

export interface LineageReport {
  model: string;
  ancestors: { id: string; depth: number; relation: string }[];
  descendants: { id: string; depth: number; relation: string }[];
}

export function lineageOf(registry: Registry, ref: string): LineageReport {
  const entry = registry.resolve(ref);
  const graph = buildLineageGraph(registry);
  const id = modelNodeId(entry.manifest.name, entry.manifest.version);
  const shape = (x: { id: string; depth: number; via: LineageEdge }) => ({ id: x.id, depth: x.depth, relation: x.via.kind });
  return { model: id, ancestors: walkLineage(graph, id, 'ancestors').map(shape), descendants: walkLineage(graph, id, 'descendants').map(shape) };
}

export interface DatasetUsage {
  dataset: string;
  /** Versions whose manifest lists the dataset. */
  direct: { model: string; name: string; version: string; aliases: string[]; dataset: string }[];
  /** Versions derived (fine-tuned, quantized...) from a direct one: the data lives on in their weights. */
  inherited: { model: string; name: string; version: string; aliases: string[]; through: string }[];
}

/**
 * "Which model versions were trained on dataset X?" (the GDPR erasure question). Matches the dataset by
 * name, NAME@VERSION, NAME@DIGEST or digest alone; follows lineage to versions derived from those.
 */
export function whichUsed(registry: Registry, query: string): DatasetUsage {
  const q = query.trim();
  const matches = (d: { name: string; version?: string; digest?: string }): boolean => {
    if (d.name === q || (d.digest && (d.digest === q || d.digest === `sha256:${q}` || `sha256:${d.digest}` === q))) return true;
    const at = q.lastIndexOf('@');
    if (at > 0) {
      const [n, v] = [q.slice(0, at), q.slice(at + 1)];
      return d.name === n && (d.version === v || d.digest === v || d.digest === `sha256:${v}`);
    }
    return false;
  };
  const direct: DatasetUsage['direct'] = [];
  for (const e of registry.entries) {
    const hit = (e.manifest.datasets ?? []).find(matches);
    if (hit) direct.push({ model: `${e.manifest.name}@${e.manifest.version}`, name: e.manifest.name, version: e.manifest.version, aliases: e.aliases, dataset: datasetKey(hit).slice('dataset:'.length) });
  }
  const graph = buildLineageGraph(registry);
  const directIds = new Set(direct.map((d) => modelNodeId(d.name, d.version)));
  const inherited = new Map<string, DatasetUsage['inherited'][number]>();
  const nodesById = new Map(graph.nodes.map((n) => [n.id, n]));
  for (const d of direct) {
    for (const x of walkLineage(graph, modelNodeId(d.name, d.version), 'descendants')) {
      if (directIds.has(x.id) || inherited.has(x.id)) continue;
      const node = nodesById.get(x.id);
      if (!node || node.kind !== 'model' || !node.version) continue;
      inherited.set(x.id, { model: `${node.name}@${node.version}`, name: node.name, version: node.version, aliases: node.aliases ?? [], through: d.model });
    }
  }
  return { dataset: q, direct, inherited: [...inherited.values()] };
}

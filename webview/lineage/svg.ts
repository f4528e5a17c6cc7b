/**
 * The lineage graph as one SVG string (built in a single pass: faster than creating 2,000 elements one
 * by one, and testable in Node). Colours come from CSS classes bound to VS Code theme variables
 * (media/webview/lineage.css), never from inline styles (the CSP allows no inline style).
 */
import type { LineageGraph, LineageLayout, PlacedEdge } from './types';
import { nodeClasses } from './model';

export interface RenderOptions {
  /** Nodes to show at full strength; the others are dimmed. Undefined: all. */
  visible?: Set<string>;
  /** Nodes (and the edges between them) drawn highlighted. */
  highlighted?: Set<string>;
  selected?: string;
  /** Display scale of the drawing (1 = actual size); the SVG's width and height follow it. */
  zoom?: number;
  /**
   * Only what lies in this region is drawn (layout coordinates: the part of the graph on screen and a few
   * screens around it); the drawing keeps the whole graph's size, so scrolling works, and the view draws
   * again when the screen nears the region's edge. Everything when unset.
   */
  region?: Region;
}

export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

export function intersects(a: Region, r: Region): boolean {
  return a.x < r.x + r.width && a.x + a.width > r.x && a.y < r.y + r.height && a.y + a.height > r.y;
}

/** Whether `inner` lies wholly inside `outer`. */
export function contains(outer: Region, inner: Region): boolean {
  return inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.width <= outer.x + outer.width && inner.y + inner.height <= outer.y + outer.height;
}

/** Bounding boxes of the edges' paths (every coordinate pair in the path data, control points included). */
const edgeBoxes = new WeakMap<PlacedEdge, Region>();
function edgeBox(e: PlacedEdge): Region {
  let box = edgeBoxes.get(e);
  if (!box) {
    const n = (e.path.match(/-?\d+(?:\.\d+)?/g) ?? []).map(Number);
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    for (let i = 0; i + 1 < n.length; i += 2) {
      x0 = Math.min(x0, n[i]);
      x1 = Math.max(x1, n[i]);
      y0 = Math.min(y0, n[i + 1]);
      y1 = Math.max(y1, n[i + 1]);
    }
    box = Number.isFinite(x0) ? { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } : { x: 0, y: 0, width: Infinity, height: Infinity };
    edgeBoxes.set(e, box);
  }
  return box;
}

/**
 * Labels are about half of what Chromium spends laying out a graph, so none is drawn where it could not be
 * read: below this scale a 13 px label is under 6.5 px on screen. The details pane always names the
 * selected node.
 */
export const LABEL_MIN_ZOOM = 0.5;

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Shortens a label to the characters that fit its box. */
export function fitLabel(label: string, width: number): string {
  const max = Math.max(4, Math.floor((width - 30) / 6.6));
  return label.length <= max ? label : `${label.slice(0, max - 1)}…`;
}

/**
 * No per-node <title>: 2,000 of them cost a quarter of the SVG's bytes and parse time; the details pane
 * describes the selected node instead (and is announced to screen readers).
 */
export function renderLineageSvg(graph: LineageGraph, layout: LineageLayout, options: RenderOptions = {}): string {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const { visible, highlighted, selected } = options;
  const zoom = options.zoom ?? 1;
  const labels = zoom >= LABEL_MIN_ZOOM;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="lineage${labels ? '' : ' no-labels'}" width="${Math.round(layout.width * zoom)}" height="${Math.round(layout.height * zoom)}" viewBox="0 0 ${layout.width} ${layout.height}" role="img" aria-label="Model lineage graph">`,
    '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L8,4L0,8z" class="arrowhead"/></marker></defs>',
    '<g class="edges">',
  ];
  const { region } = options;
  for (const e of layout.edges) {
    if (region && !intersects(edgeBox(e), region)) continue;
    const cls = ['edge', `edge-${e.kind}`];
    if (highlighted?.has(e.from) && highlighted.has(e.to)) cls.push('highlighted');
    else if ((visible && !(visible.has(e.from) && visible.has(e.to))) || highlighted) cls.push('dim');
    parts.push(`<path class="${cls.join(' ')}" d="${e.path}" marker-end="url(#arrow)"/>`);
  }
  parts.push('</g><g class="nodes">');
  for (const p of layout.nodes) {
    const node = byId.get(p.id);
    if (!node || (region && !intersects(p, region))) continue;
    const cls = nodeClasses(node);
    if (highlighted?.has(p.id)) cls.push('highlighted');
    else if ((visible && !visible.has(p.id)) || highlighted) cls.push('dim');
    if (selected === p.id) cls.push('selected');
    const id = escapeXml(p.id);
    parts.push(
      `<g class="${cls.join(' ')}" data-id="${id}" transform="translate(${p.x},${p.y})" tabindex="-1">`,
      `<rect class="box" width="${p.width}" height="${p.height}" rx="${node.kind === 'dataset' ? 13 : 4}"/>`,
      `<rect class="bar" width="5" height="${p.height}" rx="2"/>`,
    );
    if (node.kind === 'model' && node.status) {
      // signature mark: a filled diamond when signed, hollow when not
      parts.push(`<path class="sig ${node.status.signed ? 'sig-yes' : 'sig-no'}" d="M${p.width - 12},${p.height / 2 - 5}l5,5l-5,5l-5,-5z"/>`);
      if (node.status.violations > 0) parts.push(`<circle class="violation-badge" cx="${p.width - 2}" cy="2" r="6"/>`);
    }
    if (labels) {
      parts.push(`<text class="label" x="12" y="${p.height / 2 + 4}">${escapeXml(fitLabel(node.label, p.width))}</text>`);
      if (node.kind === 'model' && node.status && node.status.violations > 0) parts.push(`<text class="violation-count" x="${p.width - 2}" y="5">${node.status.violations}</text>`);
    }
    parts.push('</g>');
  }
  parts.push('</g></svg>');
  return parts.join('');
}

/** svgcanvas 2.6.0 (pinned) ships no types: the part of its API the SVG export uses. */
declare module 'svgcanvas' {
  /** A CanvasRenderingContext2D that records SVG elements instead of pixels. */
  export class Context {
    constructor(options: { width: number; height: number; document?: Document; ctx?: CanvasRenderingContext2D });
    width: number;
    height: number;
    font: string;
    textAlign: CanvasTextAlign;
    textBaseline: CanvasTextBaseline;
    /** Points back to the context itself; the export replaces it with the canvas-like object Chart.js wants. */
    canvas: unknown;
    /** The recorded drawing as standalone SVG text. */
    getSerializedSvg(fixNamedEntities?: boolean): string;
    getSvg(): SVGSVGElement;
    // Internals of 2.6.0 that svg-export.ts overrides `__applyText` with (fillText and strokeText call it).
    protected __document: Document;
    protected __currentElement: Element;
    protected __fontUnderline?: string;
    protected __fontHref?: string;
    protected __applyText(text: string, x: number, y: number, action: 'fill' | 'stroke'): void;
    protected __closestGroupOrSvg(): Element;
    protected __createElement(name: string, properties?: Record<string, string | number | undefined>, resetFill?: boolean): Element;
    protected __applyTransformation(element: Element): void;
    protected __applyStyleToCurrentElement(action: 'fill' | 'stroke'): void;
  }
}

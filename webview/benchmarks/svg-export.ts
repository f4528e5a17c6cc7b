/**
 * A Chart.js chart as SVG: the same configuration drawn once more onto svgcanvas, a CanvasRenderingContext2D
 * that records SVG elements (text as <text>, bars and lines as paths) instead of pixels. Vector output, not
 * a bitmap in an SVG wrapper; colours are the values the configuration holds (the theme as resolved when
 * the configuration was built), so the file reads the same outside VS Code.
 */
import { BasicPlatform, Chart, type ChartConfiguration, type ChartType, type DefaultDataPoint } from 'chart.js';
import { Context } from 'svgcanvas';

const TEXT_ANCHOR: Record<string, string> = { left: 'start', right: 'end', center: 'middle', start: 'start', end: 'end' };
const BASELINE: Record<string, string> = { alphabetic: 'alphabetic', hanging: 'hanging', top: 'text-before-edge', bottom: 'text-after-edge', middle: 'central' };

/**
 * svgcanvas 2.6.0's text, without its inline style: it parses `ctx.font` by writing a `style` attribute on
 * a scratch <span>, which the webview's CSP refuses (a `style-src-attr` violation, and <text> elements with
 * no font). The same method, parsing the font through the CSSOM (`style.font = ...`), which the CSP allows.
 */
class CspSafeContext extends Context {
  protected override __applyText(text: string, x: number, y: number, action: 'fill' | 'stroke'): void {
    const font = this.__document.createElement('span').style;
    font.font = this.font;
    const parent = this.__closestGroupOrSvg();
    let element = this.__createElement(
      'text',
      {
        'font-family': font.fontFamily,
        'font-size': font.fontSize,
        'font-style': font.fontStyle,
        'font-weight': font.fontWeight,
        // (the library writes text-decoration="undefined" when there is none)
        ...(this.__fontUnderline ? { 'text-decoration': this.__fontUnderline } : {}),
        x,
        y,
        'text-anchor': TEXT_ANCHOR[this.textAlign] ?? 'start',
        'dominant-baseline': BASELINE[this.textBaseline] ?? 'alphabetic',
      },
      true,
    );
    element.appendChild(this.__document.createTextNode(text));
    this.__currentElement = element;
    this.__applyTransformation(element);
    this.__applyStyleToCurrentElement(action);
    if (this.__fontHref) {
      const a = this.__createElement('a');
      a.setAttributeNS('http://www.w3.org/1999/xlink', 'xlink:href', this.__fontHref);
      a.appendChild(element);
      element = a;
    }
    parent.appendChild(element);
  }
}

export function chartSvg<T extends ChartType, D = DefaultDataPoint<T>, L = unknown>(config: ChartConfiguration<T, D, L>, width: number, height: number): string {
  const w = Math.max(1, Math.round(width));
  const hgt = Math.max(1, Math.round(height));
  const ctx = new CspSafeContext({ width: w, height: hgt });
  // What Chart.js reads of a canvas: its size, its style (left alone once set) and getContext('2d'), whose
  // `canvas` must point back to it. BasicPlatform: no DOM events, no resize observer, no attributes.
  const canvas = { width: w, height: hgt, style: { width: `${w}px`, height: `${hgt}px` }, getContext: (kind: string) => (kind === '2d' ? ctx : null) };
  ctx.canvas = canvas;
  const chart = new Chart(canvas as unknown as HTMLCanvasElement, {
    ...config,
    platform: BasicPlatform,
    options: { ...config.options, responsive: false, animation: false, devicePixelRatio: 1 },
  } as ChartConfiguration<T, D, L>);
  try {
    return `<?xml version="1.0" encoding="UTF-8"?>\n${ctx.getSerializedSvg()}\n`;
  } finally {
    chart.destroy();
  }
}

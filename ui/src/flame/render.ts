// The flame graph widget: one Canvas 2D element (no DOM node per frame), a
// tooltip and a context menu. Geometry comes from layout.ts; this file only
// paints, sizes and handles input.
//
// Paint cost per frame: layoutFlame (visible bars only), a counting sort of
// the rectangles by colour, fillRects batched per colour (one fillStyle
// change each), then labels for bars wider than LABEL_MIN_PX. All per-frame
// buffers are reused.

import {
  lazyPackageColors,
  nodeColors,
  paletteCss,
  type LazyNodeColors,
  rgbCss,
  themeColors,
  diffChange,
  type ColorMode,
  type NodeColors,
  type Theme,
} from './color';
import { formatPercent, formatPointsChange, formatValue, sig3 } from './format';
import {
  CharWidths,
  fitText,
  hitTest,
  KIND_ANCESTOR,
  KIND_SLIVER,
  layoutFlame,
  RectList,
  searchModel,
  validFocus,
  type SearchResult,
} from './layout';
import type { FlameModel } from './model';

export interface FlameGraphOptions {
  units: string;
  sampleRate: number;
  theme?: Theme;
  /** Called when the user focuses a node or resets (click, Escape, menu). */
  onFocusChange?(nodeIndex: number | null): void;
  /** Called by the context menu's "Sandwich view". */
  onSandwich?(name: string): void;
  /** Row height in CSS pixels (default 18). */
  barHeight?: number;
}

const LABEL_MIN_PX = 30;
const LABEL_PAD = 3;
const FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
// Browser canvas limits: keep each side and the area well inside them.
const MAX_SIDE = 32000;
const MAX_AREA = 120e6;

/**
 * Copies text to the clipboard: the async Clipboard API, or a hidden
 * textarea and execCommand('copy') where that is missing or refused.
 */
export async function copyText(s: string): Promise<void> {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(s);
      return;
    }
  } catch {
    // not allowed (insecure context, no permission): fall back
  }
  const ta = document.createElement('textarea');
  ta.value = s;
  ta.setAttribute('readonly', '');
  ta.style.cssText = 'position:fixed;left:-9999px;top:0;opacity:0';
  document.body.appendChild(ta);
  ta.select();
  try {
    document.execCommand('copy');
  } finally {
    ta.remove();
  }
}

export class FlameGraph {
  /** Main-thread milliseconds of the last draw (layout + paint calls). */
  lastDrawMs = 0;
  /** Draws of a model so far (tests check that a load draws once). */
  modelDraws = 0;

  private readonly cv: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D | null;
  private readonly tip: HTMLDivElement;
  private readonly menu: HTMLDivElement;
  private readonly barHeight: number;
  private readonly ro: ResizeObserver | null = null;
  private readonly unlisten: (() => void)[] = [];

  private m: FlameModel | null = null;
  private focusNode: number | null = null;
  private mode: ColorMode = 'package';
  private theme: Theme;
  private colors: NodeColors | null = null;
  private palette: string[] = []; // normal colours, then dimmed, then sliver
  private bgCss = '#fff';
  private query = '';
  private match: Uint8Array | null = null;

  // Per-frame buffers.
  private rects = new RectList();
  private rectColor = new Int32Array(4096);
  private order = new Int32Array(4096);
  private bucket = new Int32Array(0);
  private cw: CharWidths;
  private nameWidth = new Float64Array(0); // full label width per name, -1 unknown

  private widthCss = 0;
  private heightCss = 0;
  private dpr = 1;
  private hoverNode: number | null = null;
  private menuNode = -1;
  private hovering = false;

  constructor(
    private readonly container: HTMLElement,
    private readonly options: FlameGraphOptions,
  ) {
    this.theme = options.theme ?? 'light';
    this.barHeight = options.barHeight ?? 18;
    // The tooltip and menu are placed inside the container. (Set inline, not
    // read from the computed style, which would force a layout of the page
    // while the view is being built.)
    if (!container.style.position) container.style.position = 'relative';

    this.cv = document.createElement('canvas');
    this.cv.className = 'flame-canvas';
    this.cv.style.display = 'block';
    this.cv.tabIndex = 0; // focusable, for Escape
    this.cv.style.outline = 'none';
    this.ctx = this.cv.getContext('2d', { alpha: false });
    this.cw = new CharWidths((s) => (this.ctx ? this.ctx.measureText(s).width : 7 * s.length));

    this.tip = document.createElement('div');
    this.tip.className = 'flame-tooltip';
    this.tip.style.cssText =
      'position:absolute;display:none;pointer-events:none;z-index:10;max-width:520px;' +
      'padding:6px 8px;border-radius:4px;font:12px system-ui,sans-serif;line-height:1.4;' +
      'box-shadow:0 2px 8px rgba(0,0,0,.25);overflow-wrap:anywhere;';

    this.menu = document.createElement('div');
    this.menu.className = 'flame-menu';
    this.menu.setAttribute('role', 'menu');
    this.menu.style.cssText =
      'position:absolute;display:none;z-index:11;padding:4px 0;border-radius:4px;' +
      'font:13px system-ui,sans-serif;box-shadow:0 2px 10px rgba(0,0,0,.3);min-width:170px;';
    const item = (label: string, act: (node: number) => void) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = label;
      b.setAttribute('role', 'menuitem');
      b.style.cssText =
        'display:block;width:100%;text-align:left;padding:5px 14px;border:0;' +
        'background:transparent;color:inherit;font:inherit;cursor:pointer;';
      b.addEventListener('mouseenter', () => (b.style.background = 'rgba(127,127,127,.2)'));
      b.addEventListener('mouseleave', () => (b.style.background = 'transparent'));
      b.addEventListener('click', () => {
        const n = this.menuNode;
        this.hideMenu();
        if (this.m && n >= 0 && n < this.m.count) act(n);
      });
      this.menu.appendChild(b);
    };
    item('Copy function name', (n) => void copyText(this.nodeName(n)).catch(() => undefined));
    item('Sandwich view', (n) => this.options.onSandwich?.(this.nodeName(n)));
    item('Focus', (n) => this.userFocus(n));

    container.append(this.cv, this.tip, this.menu);
    this.applyTheme();

    this.on(this.cv, 'mousemove', (e) => this.onMove(e as MouseEvent));
    this.on(this.cv, 'mouseleave', () => {
      this.hovering = false;
      this.hideTip();
    });
    this.on(this.cv, 'mouseenter', () => (this.hovering = true));
    this.on(this.cv, 'click', (e) => this.onClick(e as MouseEvent));
    this.on(this.cv, 'contextmenu', (e) => this.onContextMenu(e as MouseEvent));
    this.on(window, 'keydown', (e) => this.onKey(e as KeyboardEvent));
    this.on(document, 'mousedown', (e) => {
      if (!this.menu.contains(e.target as Node)) this.hideMenu();
    });
    this.on(container, 'scroll', () => this.hideMenu());

    if (typeof ResizeObserver !== 'undefined') {
      this.ro = new ResizeObserver(() => {
        if (this.applySize()) this.draw();
      });
      this.ro.observe(container);
    } else {
      this.applySize();
    }
    // (With a ResizeObserver the first size comes from its first report,
    // after layout: reading the width here would force a layout of the page
    // while the view is still being built.)
  }

  /** The drawing surface (e.g. for custom exports). */
  get canvas(): HTMLCanvasElement {
    return this.cv;
  }

  get model(): FlameModel | null {
    return this.m;
  }

  /** The focused node, or null. */
  get focused(): number | null {
    return this.focusNode;
  }

  setModel(model: FlameModel): void {
    this.m = model;
    this.focusNode = null;
    this.hoverNode = null;
    this.hideTip();
    this.hideMenu();
    this.nameWidth = new Float64Array(model.names.length).fill(-1);
    this.match = this.query ? searchModel(model, this.query).nodeMatch : null;
    this.recolor();
    this.applySize();
    this.draw();
    this.warmColors();
  }

  /** Units of the values, for tooltips (they come with each response). */
  setUnits(units: string, sampleRate: number): void {
    this.options.units = units;
    this.options.sampleRate = sampleRate;
  }

  /** Highlights nodes whose name contains query (case-insensitive). */
  setSearch(query: string): SearchResult {
    this.query = query.trim();
    if (!this.m) return { matches: 0, value: 0, share: 0 };
    const r = searchModel(this.m, this.query);
    this.match = r.nodeMatch;
    this.draw();
    return { matches: r.matches, value: r.value, share: r.share };
  }

  /** Zooms to node (null resets). Does not call onFocusChange. */
  focus(node: number | null): void {
    this.focusNode = this.m && validFocus(this.m, node) ? node : null;
    this.draw();
  }

  resetFocus(): void {
    this.focus(null);
  }

  /** 'diff' applies to double-format models only; others use 'package'. */
  setColorMode(mode: ColorMode): void {
    this.mode = mode;
    this.recolor();
    this.draw();
  }

  setTheme(t: Theme): void {
    this.theme = t;
    this.applyTheme();
    if (this.colors) this.rebuildPalette(); // ids do not depend on the theme
    else this.recolor();
    this.draw();
  }

  redraw(): void {
    this.applySize();
    this.draw();
  }

  /** The node under (x, y), CSS pixels relative to the canvas. */
  hitTest(x: number, y: number): number | null {
    if (!this.m) return null;
    return hitTest(this.m, this.focusNode, this.widthCss, this.barHeight, x, y);
  }

  toPNG(): Promise<Blob> {
    return new Promise((resolve, reject) =>
      this.cv.toBlob((b) => (b ? resolve(b) : reject(new Error('canvas export failed'))), 'image/png'),
    );
  }

  destroy(): void {
    this.ro?.disconnect();
    for (const u of this.unlisten) u();
    this.unlisten.length = 0;
    this.cv.remove();
    this.tip.remove();
    this.menu.remove();
    this.m = null;
    this.colors = null;
  }

  // ---- drawing ----

  /** After the first frame, the colours of the bars not drawn yet are
   * resolved in small idle slices, so that a later zoom does not pay for
   * them. A new colouring cancels the slices of the old one. */
  private warmColors(): void {
    const colors = this.colors, m = this.m;
    if (!colors || !m || !('resolve' in colors)) return;
    const lazy = colors as LazyNodeColors;
    let next = 0;
    const slice = () => {
      if (this.colors !== colors) return;
      const end = Math.min(m.count, next + 20000);
      for (; next < end; next++) if (lazy.ids[next] < 0) lazy.resolve(next);
      if (next < m.count) setTimeout(slice, 0);
    };
    const raf = globalThis.requestAnimationFrame ?? ((f: () => void) => setTimeout(f, 16));
    raf(() => setTimeout(slice, 0));
  }

  private recolor(): void {
    if (!this.m) return;
    // Diff buckets are cheap arithmetic; package colours are resolved for
    // the bars drawn (draw() grows the palette as packages appear).
    this.colors = this.mode === 'diff' && this.m.format === 'double' ? nodeColors(this.m, 'diff') : lazyPackageColors(this.m);
    this.rebuildPalette();
  }

  private rebuildPalette(): void {
    if (!this.colors) return;
    const p = paletteCss(this.colors.entries, this.theme);
    this.palette = [...p.normal, ...p.dimmed, themeColors(this.theme).sliver];
    this.bucket = new Int32Array(this.palette.length + 1);
  }

  /** Sizes the canvas to the container width and the model depth. */
  private applySize(): boolean {
    const w = Math.max(0, Math.floor(this.container.clientWidth));
    const h = this.m ? (this.m.maxLevel + 1) * this.barHeight : 0;
    let dpr = window.devicePixelRatio || 1;
    dpr = Math.min(dpr, MAX_SIDE / Math.max(1, h), MAX_SIDE / Math.max(1, w));
    if (w * h * dpr * dpr > MAX_AREA) dpr = Math.sqrt(MAX_AREA / (w * h));
    const pw = Math.round(w * dpr), ph = Math.round(h * dpr);
    const changed = w !== this.widthCss || h !== this.heightCss || dpr !== this.dpr;
    this.widthCss = w;
    this.heightCss = h;
    this.dpr = dpr;
    if (this.cv.width !== pw) this.cv.width = pw;
    if (this.cv.height !== ph) this.cv.height = ph;
    this.cv.style.width = w + 'px';
    this.cv.style.height = h + 'px';
    return changed;
  }

  private draw(): void {
    const t0 = performance.now();
    const ctx = this.ctx;
    if (!ctx) return;
    const th = themeColors(this.theme);
    const w = this.widthCss, bh = this.barHeight;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.fillStyle = this.bgCss;
    ctx.fillRect(0, 0, w, this.heightCss);
    const m = this.m, colors = this.colors;
    if (!m || !colors || w <= 0) {
      this.lastDrawMs = performance.now() - t0;
      return;
    }
    this.modelDraws++;
    const r = layoutFlame(m, { width: w, focus: this.focusNode }, this.rects);
    const n = r.n;
    if (this.order.length < n) {
      this.order = new Int32Array(n * 2);
      this.rectColor = new Int32Array(n * 2);
    }

    // Colours of the bars about to be drawn, then the palette if new
    // packages appeared.
    if ('resolve' in colors) {
      const lazy = colors as LazyNodeColors;
      for (let k = 0; k < n; k++) {
        if (r.kind[k] !== KIND_SLIVER && lazy.ids[r.node[k]] < 0) lazy.resolve(r.node[k]);
      }
      if (2 * colors.entries.length + 1 !== this.palette.length) this.rebuildPalette();
    }

    // Counting sort of rectangles by colour id.
    const pn = colors.entries.length;
    const sliverColor = 2 * pn;
    const ids = colors.ids, match = this.match;
    const bucket = this.bucket, rc = this.rectColor, order = this.order;
    bucket.fill(0);
    for (let k = 0; k < n; k++) {
      let c: number;
      if (r.kind[k] === KIND_SLIVER) c = sliverColor;
      else {
        const node = r.node[k];
        c = ids[node];
        if (r.kind[k] === KIND_ANCESTOR || (match !== null && !match[node])) c += pn;
      }
      rc[k] = c;
      bucket[c + 1]++;
    }
    for (let c = 0; c < sliverColor + 1; c++) bucket[c + 1] += bucket[c];
    for (let k = 0; k < n; k++) order[bucket[rc[k]]++] = k;
    // bucket[c] is now the end of colour c's run (and the start of c + 1).

    // fillStyle set once per colour, then plain fillRects (the fastest
    // primitive in software rasterisers), snapped to device pixels: crisp
    // edges, no anti-aliasing work, and thin slivers stay >= 1 device px.
    // A 1 px gap separates rows and bars wide enough to afford it.
    const d = this.dpr;
    let at = 0;
    for (let c = 0; c <= sliverColor; c++) {
      const endAt = bucket[c];
      if (endAt === at) continue;
      ctx.fillStyle = this.palette[c];
      for (; at < endAt; at++) {
        const k = order[at];
        const rx = r.x[k], rw = r.w[k], top = r.level[k] * bh;
        const x0 = Math.round(rx * d) / d;
        let x1 = Math.round((rx + (rw >= 3 && c !== sliverColor ? rw - 1 : rw)) * d) / d;
        if (x1 <= x0) x1 = x0 + 1 / d;
        const y0 = Math.round(top * d) / d;
        ctx.fillRect(x0, y0, x1 - x0, Math.round((top + bh - 1) * d) / d - y0);
      }
    }

    // Labels: normal ones first, then those of dimmed bars.
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    for (let pass = 0; pass < 2; pass++) {
      ctx.fillStyle = pass === 0 ? th.text : th.textDim;
      for (let k = 0; k < n; k++) {
        if (r.w[k] < LABEL_MIN_PX || r.kind[k] === KIND_SLIVER) continue;
        if ((rc[k] >= pn ? 1 : 0) !== pass) continue;
        const label = this.label(m.name[r.node[k]], r.w[k] - 2 * LABEL_PAD);
        if (label) ctx.fillText(label, r.x[k] + LABEL_PAD, r.level[k] * bh + (bh - 1) / 2);
      }
    }
    this.lastDrawMs = performance.now() - t0;
  }

  /** The name, or a truncated prefix, fitting in maxWidth px. */
  private label(nameIdx: number, maxWidth: number): string {
    const name = this.m!.names[nameIdx] ?? '';
    let full = this.nameWidth[nameIdx];
    if (full === undefined) return fitText(name, maxWidth, this.cw);
    if (full < 0) full = this.nameWidth[nameIdx] = this.cw.text(name);
    return full <= maxWidth ? name : fitText(name, maxWidth, this.cw);
  }

  private applyTheme(): void {
    this.bgCss = rgbCss(themeColors(this.theme).background);
    const dark = this.theme === 'dark';
    const bg = dark ? '#25272d' : '#ffffff';
    const fg = dark ? '#ececec' : '#1d1d1f';
    const border = dark ? '#3c3f46' : '#d0d0d0';
    for (const el of [this.tip, this.menu]) {
      el.style.background = bg;
      el.style.color = fg;
      el.style.border = `1px solid ${border}`;
    }
  }

  // ---- interaction ----

  private on(t: EventTarget, type: string, fn: (e: Event) => void): void {
    t.addEventListener(type, fn);
    this.unlisten.push(() => t.removeEventListener(type, fn));
  }

  private nodeName(n: number): string {
    return this.m ? (this.m.names[this.m.name[n]] ?? '') : '';
  }

  /** Focus change caused by the user: notifies onFocusChange. */
  private userFocus(node: number | null): void {
    const before = this.focusNode;
    this.focus(node);
    if (this.focusNode !== before) this.options.onFocusChange?.(this.focusNode);
  }

  private onClick(e: MouseEvent): void {
    if (!this.m || e.button !== 0) return;
    const n = this.hitTest(e.offsetX, e.offsetY);
    this.hideMenu();
    if (n === null || this.m.level[n] === 0) this.userFocus(null);
    else if (n !== this.focusNode) this.userFocus(n);
  }

  private onKey(e: KeyboardEvent): void {
    if (e.key !== 'Escape') return;
    if (this.menu.style.display !== 'none') {
      this.hideMenu();
      return;
    }
    const active = document.activeElement;
    if (this.hovering || (active && this.container.contains(active))) this.userFocus(null);
  }

  private onContextMenu(e: MouseEvent): void {
    const n = this.hitTest(e.offsetX, e.offsetY);
    if (n === null) {
      this.hideMenu();
      return;
    }
    e.preventDefault();
    this.hideTip();
    this.menuNode = n;
    this.menu.style.display = 'block';
    this.place(this.menu, e.offsetX, e.offsetY, 2);
  }

  private hideMenu(): void {
    this.menu.style.display = 'none';
    this.menuNode = -1;
  }

  private hideTip(): void {
    this.tip.style.display = 'none';
    this.hoverNode = null;
  }

  private onMove(e: MouseEvent): void {
    this.hovering = true;
    if (!this.m || this.menu.style.display !== 'none') return;
    const n = this.hitTest(e.offsetX, e.offsetY);
    if (n === null) {
      this.hideTip();
      return;
    }
    if (n !== this.hoverNode) {
      this.hoverNode = n;
      this.fillTip(n);
      this.tip.style.display = 'block';
    }
    this.place(this.tip, e.offsetX, e.offsetY, 14);
  }

  /** Positions el near canvas point (x, y), kept inside the visible area. */
  private place(el: HTMLElement, x: number, y: number, gap: number): void {
    const c = this.container;
    const left0 = this.cv.offsetLeft + x, top0 = this.cv.offsetTop + y;
    const ew = el.offsetWidth, eh = el.offsetHeight;
    let left = left0 + gap;
    if (left + ew > c.scrollLeft + c.clientWidth) left = Math.max(c.scrollLeft, left0 - gap - ew);
    let top = top0 + gap;
    if (top + eh > c.scrollTop + c.clientHeight) top = Math.max(c.scrollTop, top0 - gap - eh);
    el.style.left = left + 'px';
    el.style.top = top + 'px';
  }

  private fillTip(n: number): void {
    const m = this.m!;
    const { units, sampleRate } = this.options;
    const fmt = (v: number) => formatValue(v, units, sampleRate);
    const rows: [string, string][] = [];
    if (m.format === 'double' && m.leftTotal && m.rightTotal && m.leftSelf && m.rightSelf) {
      const lt = m.leftTotal[n], rt = m.rightTotal[n];
      rows.push(['Baseline', `${fmt(lt)} (${formatPercent(lt, m.leftTicks)}), self ${fmt(m.leftSelf[n])}`]);
      rows.push(['Comparison', `${fmt(rt)} (${formatPercent(rt, m.rightTicks)}), self ${fmt(m.rightSelf[n])}`]);
      const ls = m.leftTicks > 0 ? lt / m.leftTicks : 0;
      const rs = m.rightTicks > 0 ? rt / m.rightTicks : 0;
      let rel: string;
      if (ls === 0) rel = rs === 0 ? 'unchanged' : 'new';
      else if (rs === 0) rel = 'removed';
      else rel = (rs >= ls ? '+' : '') + sig3(((rs - ls) / ls) * 100) + '%';
      const d = diffChange(lt, m.leftTicks, rt, m.rightTicks);
      rows.push(['Change', `${formatPointsChange((rs - ls) * 100)} (${rel})${d > 0 ? ' ▲' : d < 0 ? ' ▼' : ''}`]);
    } else {
      rows.push(['Total', `${fmt(m.total[n])} (${formatPercent(m.total[n], m.numTicks)})`]);
      rows.push(['Self', `${fmt(m.self[n])} (${formatPercent(m.self[n], m.numTicks)})`]);
    }
    const title = document.createElement('div');
    title.style.fontWeight = '600';
    title.style.marginBottom = '2px';
    title.textContent = this.nodeName(n);
    const parts: HTMLElement[] = [title];
    for (const [k, v] of rows) {
      const row = document.createElement('div');
      const key = document.createElement('span');
      key.style.opacity = '0.7';
      key.textContent = k + ': ';
      row.append(key, v);
      parts.push(row);
    }
    this.tip.replaceChildren(...parts);
  }
}

// Pure, DOM-free flame graph geometry: which bars are visible for a width
// and a focus, where they go, what is under the pointer, search matching and
// label truncation. FlameGraph (render.ts) only paints what this returns.
//
// Coordinates: x in CSS pixels from the left edge, rows by level (the root
// on top, row L at y = L * barHeight).

import { layoutLevelsCore } from '../wasm/flamecore';
import { rootTotal, type FlameModel } from './model';

/** A bar of a node. */
export const KIND_BAR = 0;
/** An ancestor of the focused node, drawn full width and dimmed. */
export const KIND_ANCESTOR = 1;
/** A merged run of bars too thin to draw (node = -1). */
export const KIND_SLIVER = 2;

/** Growable struct-of-arrays list of rectangles, reused across frames. */
export class RectList {
  n = 0;
  x: Float64Array;
  w: Float64Array;
  level: Int32Array;
  /** Node index, -1 for slivers. */
  node: Int32Array;
  kind: Uint8Array;

  constructor(capacity = 4096) {
    this.x = new Float64Array(capacity);
    this.w = new Float64Array(capacity);
    this.level = new Int32Array(capacity);
    this.node = new Int32Array(capacity);
    this.kind = new Uint8Array(capacity);
  }

  clear(): void {
    this.n = 0;
  }

  push(x: number, w: number, level: number, node: number, kind: number): void {
    if (this.n === this.x.length) this.grow();
    const k = this.n++;
    this.x[k] = x;
    this.w[k] = w;
    this.level[k] = level;
    this.node[k] = node;
    this.kind[k] = kind;
  }

  /** Room for at least `capacity` rectangles. */
  reserve(capacity: number): void {
    while (this.x.length < capacity) this.grow();
  }

  private grow(): void {
    const c = this.x.length * 2;
    const g = <T extends Float64Array | Int32Array | Uint8Array>(a: T, b: T): T => (b.set(a), b);
    this.x = g(this.x, new Float64Array(c));
    this.w = g(this.w, new Float64Array(c));
    this.level = g(this.level, new Int32Array(c));
    this.node = g(this.node, new Int32Array(c));
    this.kind = g(this.kind, new Uint8Array(c));
  }
}

/** The tick window [start, start + span) that spans the full width. */
export interface ViewWindow {
  start: number;
  span: number;
}

export function validFocus(m: FlameModel, focus: number | null): focus is number {
  return focus !== null && focus >= 0 && focus < m.count && m.total[focus] > 0;
}

export function viewWindow(m: FlameModel, focus: number | null): ViewWindow {
  if (validFocus(m, focus)) return { start: m.x[focus], span: m.total[focus] };
  let end = 0;
  const e = m.maxLevel >= 0 ? m.levelStart[1] : 0;
  for (let i = 0; i < e; i++) end = Math.max(end, m.x[i] + m.total[i]);
  return { start: 0, span: Math.max(m.numTicks, end, rootTotal(m)) };
}

/** First index in [lo, hi) whose bar ends after tick t (bars are disjoint). */
export function firstEndingAfter(m: FlameModel, lo: number, hi: number, t: number): number {
  const x = m.x, total = m.total;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x[mid] + total[mid] > t) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** First index in [lo, hi) whose bar starts at or after tick t. */
export function firstStartingAt(m: FlameModel, lo: number, hi: number, t: number): number {
  const x = m.x;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x[mid] >= t) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export interface LayoutOptions {
  /** Drawing width in CSS pixels. */
  width: number;
  focus: number | null;
  /** Bars narrower than this (px) are merged into slivers. Default 0.5. */
  minWidth?: number;
  /** Inclusive level range to lay out (default: all). */
  levelFrom?: number;
  levelTo?: number;
}

/**
 * Fills `out` with the rectangles to draw, level by level, each level sorted
 * by x. Only visible nodes are touched: per level a binary search finds the
 * first bar in the view window, and a run of thin bars is skipped with
 * another binary search (to the first bar starting a pixel further) and
 * drawn as one grey sliver, so the cost is O(visible bars * log n), not
 * O(nodes). With a focus, its ancestors and itself span the full width and
 * deeper levels show the focused node's tick window.
 */
export function layoutFlame(m: FlameModel, opt: LayoutOptions, out: RectList): RectList {
  out.clear();
  const width = opt.width;
  const { start, span } = viewWindow(m, opt.focus);
  if (!(span > 0) || !(width > 0) || m.maxLevel < 0) return out;
  const scale = width / span;
  const end = start + span;
  const minW = opt.minWidth ?? 0.5;
  const pxTicks = span / width;
  let from = Math.max(0, opt.levelFrom ?? 0);
  const to = Math.min(m.maxLevel, opt.levelTo ?? m.maxLevel);
  const { x, total, levelStart } = m;

  if (validFocus(m, opt.focus)) {
    const f = opt.focus;
    const fl = m.level[f];
    // Ancestors are pushed bottom-up; reverse them so levels ascend.
    const first = out.n;
    for (let a = f; a >= 0; a = m.parent[a]) {
      const l = m.level[a];
      if (l >= from && l <= to) out.push(0, width, l, a, a === f ? KIND_BAR : KIND_ANCESTOR);
    }
    reverseRange(out, first, out.n);
    from = Math.max(from, fl + 1);
  }

  // The per-level loop, compiled (flamecore.c), when the module is ready.
  if (layoutLevelsCore(m, { from, to, start, span, width, minW, scale, pxTicks }, out)) return out;
  for (let l = from; l <= to; l++) {
    const e = levelStart[l + 1];
    let i = firstEndingAfter(m, levelStart[l], e, start);
    let sliver = -1; // index in out of this level's last sliver
    while (i < e) {
      const xi = x[i];
      if (xi >= end) break;
      const ti = total[i];
      if (ti * scale >= minW) {
        const px0 = Math.max(0, (xi - start) * scale);
        const px1 = Math.min(width, (xi + ti - start) * scale);
        out.push(px0, px1 - px0, l, i, KIND_BAR);
        i++;
        continue;
      }
      // A run of thin bars: all bars starting within a pixel of this one,
      // except a last one wide enough to stand on its own.
      let j = firstStartingAt(m, i + 1, e, xi + pxTicks);
      if (j - 1 > i && total[j - 1] * scale >= minW) j--;
      const px0 = Math.max(0, (xi - start) * scale);
      const px1 = Math.min(width, (x[j - 1] + total[j - 1] - start) * scale);
      if (px1 > px0) {
        if (sliver === out.n - 1 && sliver >= 0 && out.x[sliver] + out.w[sliver] + 1 >= px0) {
          out.w[sliver] = px1 - out.x[sliver];
        } else {
          sliver = out.n;
          out.push(px0, px1 - px0, l, -1, KIND_SLIVER);
        }
      }
      i = j;
    }
  }
  return out;
}

function reverseRange(r: RectList, a: number, b: number): void {
  for (b--; a < b; a++, b--) {
    // Ancestors all have x = 0 and w = width: only level, node, kind differ.
    const l = r.level[a], n = r.node[a], k = r.kind[a];
    r.level[a] = r.level[b]; r.node[a] = r.node[b]; r.kind[a] = r.kind[b];
    r.level[b] = l; r.node[b] = n; r.kind[b] = k;
  }
}

/**
 * The node under (px, py) in CSS pixels, or null: a focused node's
 * ancestors on their rows, otherwise the bar of that row covering the tick
 * under px (even if it is drawn inside a sliver).
 */
export function hitTest(
  m: FlameModel,
  focus: number | null,
  width: number,
  barHeight: number,
  px: number,
  py: number,
): number | null {
  if (!(px >= 0 && px < width && py >= 0)) return null;
  const l = Math.floor(py / barHeight);
  if (l > m.maxLevel) return null;
  if (validFocus(m, focus) && l <= m.level[focus]) {
    let a = focus;
    while (a >= 0 && m.level[a] > l) a = m.parent[a];
    return a >= 0 && m.level[a] === l ? a : null;
  }
  const { start, span } = viewWindow(m, focus);
  const t = start + (px / width) * span;
  const e = m.levelStart[l + 1];
  const i = firstEndingAfter(m, m.levelStart[l], e, t);
  return i < e && m.x[i] <= t ? i : null;
}

export interface SearchResult {
  /** Number of matching nodes. */
  matches: number;
  /** Total value of the matches, nested matches counted once. */
  value: number;
  /** value / numTicks. */
  share: number;
}

/** Lower-cased names per names array, so repeated searches skip the work. */
const lowerNames = new WeakMap<string[], string[]>();

/**
 * Case-insensitive substring search over node names. nodeMatch[i] is 1 for
 * matching nodes; null for an empty query. A match below another match is
 * already inside that match's total, so only outermost matches add value.
 */
export function searchModel(m: FlameModel, query: string): SearchResult & { nodeMatch: Uint8Array | null } {
  const q = query.trim().toLowerCase();
  if (q === '') return { matches: 0, value: 0, share: 0, nodeMatch: null };
  let lower = lowerNames.get(m.names);
  if (!lower) lowerNames.set(m.names, (lower = m.names.map((s) => s.toLowerCase())));
  const nameMatch = new Uint8Array(lower.length);
  for (let k = 0; k < lower.length; k++) if (lower[k].includes(q)) nameMatch[k] = 1;
  const nodeMatch = new Uint8Array(m.count);
  // covered[i]: some ancestor of i matches. Parents precede children.
  const covered = new Uint8Array(m.count);
  let matches = 0, value = 0;
  for (let i = 0; i < m.count; i++) {
    const p = m.parent[i];
    if (p >= 0 && (covered[p] || nodeMatch[p])) covered[i] = 1;
    if (nameMatch[m.name[i]]) {
      nodeMatch[i] = 1;
      matches++;
      if (!covered[i]) value += m.total[i];
    }
  }
  const whole = m.numTicks > 0 ? m.numTicks : rootTotal(m);
  return { matches, value, share: whole > 0 ? value / whole : 0, nodeMatch };
}

/**
 * Width of text by summing cached per-character widths (measured once per
 * character with `measure`); kerning is ignored, which labels can afford.
 */
export class CharWidths {
  private ascii = new Float64Array(256).fill(-1);
  private other = new Map<number, number>();

  constructor(private measure: (s: string) => number) {}

  char(code: number): number {
    if (code < 256) {
      let w = this.ascii[code];
      if (w < 0) w = this.ascii[code] = this.measure(String.fromCharCode(code));
      return w;
    }
    let w = this.other.get(code);
    if (w === undefined) {
      w = this.measure(String.fromCharCode(code));
      this.other.set(code, w);
    }
    return w;
  }

  text(s: string): number {
    let w = 0;
    for (let i = 0; i < s.length; i++) w += this.char(s.charCodeAt(i));
    return w;
  }
}

export const ELLIPSIS = '…';

/**
 * The longest prefix of `text` that fits in maxWidth, with an ellipsis when
 * cut; '' when not even one character and the ellipsis fit.
 */
export function fitText(text: string, maxWidth: number, cw: CharWidths): string {
  const ell = cw.char(ELLIPSIS.charCodeAt(0));
  let w = 0;
  let fits = 0; // prefix length that still fits with an ellipsis
  for (let i = 0; i < text.length; i++) {
    w += cw.char(text.charCodeAt(i));
    if (w > maxWidth) return fits > 0 ? text.slice(0, fits) + ELLIPSIS : '';
    // Never cut between the halves of a surrogate pair.
    if (w + ell <= maxWidth && !isHighSurrogate(text.charCodeAt(i))) fits = i + 1;
  }
  return text;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

// Bar colours. Package mode: every frame is coloured by the package (or
// library, namespace, module) it belongs to, hashed to a stable warm hue.
// Diff mode: red for growth, green for shrinkage, grey when unchanged.

import type { FlameModel } from './model';

export type Theme = 'light' | 'dark';
export type ColorMode = 'package' | 'diff';
export type RGB = [number, number, number];

/** Key of the neutral colour ("total", "other"). */
export const NEUTRAL_KEY = '';

const LIB_HINT = /\.(?:so|dll|dylib)/i;
const SRC_EXT = /\.(?:py|rb|js|mjs|cjs|ts|php)(?=$|[:)\s])/;
const SRC_FILE = /([\w.\-/\\]+)\.(?:py|rb|js|mjs|cjs|ts|php)(?=$|[:)\s])/;

/**
 * The package part of a frame name:
 *   Go    "net/http.(*conn).serve" -> "net/http", "runtime.mallocgc" -> "runtime"
 *   C++   "std::vector<int>::push_back" -> "std" (also Rust "core::ptr::...")
 *   Java  "com.foo.Bar.baz" -> "com.foo", "java/lang/Thread.run" -> "java/lang"
 *   other "module.func" -> "module"
 *   libs  "libc.so.6", "/usr/lib/libc.so.6" -> "libc"; sources "app/x.py:f" -> "app/x"
 * "total" and "other" map to NEUTRAL_KEY; names without structure to themselves.
 */
export function packageKey(name: string): string {
  const s = name.trim();
  if (s === 'total' || s === 'other' || s === '') return NEUTRAL_KEY;
  const c0 = s.charCodeAt(0);
  if (c0 === 91 /* [ */) {
    const br = /^\[(.+)\]$/.exec(s); // perf's "[kernel.kallsyms]", "[unknown]"
    if (br) return br[1] === 'kernel.kallsyms' ? 'kernel' : br[1];
  }
  if (c0 === 48 /* 0 */ && /^0x[0-9a-f]+$/i.test(s)) return '0x'; // unsymbolised addresses
  // The library pattern backtracks on every start position: run it only on
  // names with a library suffix somewhere.
  if (LIB_HINT.test(s)) {
    const lib = /(?:^|[/\\])([^/\\\s()]+?)(?:\.so(?:\.[\d.]+)?|\.dll|\.dylib)$/i.exec(s);
    if (lib) return lib[1];
  }
  // Source files: a cheap anchored test first, the capture only on a hit
  // (the capture alone backtracks quadratically on long dotted names).
  if (SRC_EXT.test(s)) {
    const src = SRC_FILE.exec(s);
    if (src) return src[1];
  }

  const cc = s.indexOf('::');
  if (cc >= 0) {
    if (cc === 0) return packageKey(s.slice(2)); // "::foo" (global namespace)
    let p = s.slice(0, cc).replace(/^[<&*]+/, '');
    const angle = p.search(/[<(]/); // first "::" sits inside template args
    if (angle > 0 && !p.startsWith('(')) p = p.slice(0, angle);
    if (!p.startsWith('(')) p = p.slice(p.lastIndexOf(' ') + 1); // return type
    return p || s;
  }

  const slash = s.lastIndexOf('/');
  if (slash > 0) {
    const tail = s.slice(slash + 1);
    if (/^[A-Z]/.test(tail)) return s.slice(0, slash); // Java internal form
    const dot = tail.indexOf('.');
    return dot > 0 ? s.slice(0, slash + 1 + dot) : s.slice(0, slash);
  }

  // Dotted: up to the first segment that starts with a capital (a class),
  // else the first segment; a Go method receiver "(" ends the search.
  const first = s.indexOf('.');
  if (first <= 0) return s;
  for (let i = first + 1; ; ) {
    const c = s.charCodeAt(i);
    if (c === 40 /* ( */) break;
    if (c >= 65 && c <= 90) return s.slice(0, i - 1);
    const next = s.indexOf('.', i);
    if (next < 0) break;
    i = next + 1;
  }
  return s.slice(0, first);
}

/** FNV-1a with a murmur3 finaliser: well-spread stable 32-bit hashes. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** h in degrees, s and l in [0, 1]. */
export function hslToRgb(h: number, s: number, l: number): RGB {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

export function rgbCss(c: RGB): string {
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/** a + (b - a) * t per channel. */
export function mix(a: RGB, b: RGB, t: number): RGB {
  return [
    Math.round(a[0] + (b[0] - a[0]) * t),
    Math.round(a[1] + (b[1] - a[1]) * t),
    Math.round(a[2] + (b[2] - a[2]) * t),
  ];
}

export interface ThemeColors {
  background: RGB;
  text: string;
  /** Labels on dimmed bars. */
  textDim: string;
  /** Merged runs of sub-pixel bars. */
  sliver: string;
  /** "total", "other", unchanged diff nodes. */
  neutral: RGB;
  grew: RGB;
  shrank: RGB;
}

const THEMES: Record<Theme, ThemeColors> = {
  light: {
    background: [255, 255, 255],
    text: '#1d1d1f',
    textDim: '#9a9a9a',
    sliver: 'rgb(175,175,175)',
    neutral: [196, 196, 196],
    grew: [226, 54, 44],
    shrank: [46, 163, 78],
  },
  dark: {
    background: [24, 26, 31],
    text: '#f2f2f2',
    textDim: '#7a7a7a',
    sliver: 'rgb(95,95,100)',
    neutral: [98, 98, 104],
    grew: [206, 50, 44],
    shrank: [40, 150, 72],
  },
};

export function themeColors(theme: Theme): ThemeColors {
  return THEMES[theme];
}

/** Stable warm colour (red..yellow) of a package key. */
export function packageColor(key: string, theme: Theme): RGB {
  if (key === NEUTRAL_KEY) return THEMES[theme].neutral;
  const h = hashString(key);
  const hue = 4 + (h % 52); // 4..55 degrees
  const sat = ((h >>> 8) % 26) / 100; // 0..0.25
  const lum = ((h >>> 16) % 15) / 100; // 0..0.14
  return theme === 'light'
    ? hslToRgb(hue, 0.62 + sat, 0.58 + lum)
    : hslToRgb(hue, 0.5 + sat, 0.38 + lum);
}

/**
 * Normalised change of a diff node. Each side's value is first turned into a
 * share of its own profile (l = left/leftTicks, r = right/rightTicks), so
 * profiles of different sizes compare fairly; the change is then relative to
 * the larger share:  d = (r - l) / max(l, r),  in [-1, 1].
 * d = 1: only in the right profile; -1: only in the left; 0: same share;
 * 0.5: the share doubled; -0.5: it halved.
 */
export function diffChange(left: number, leftTicks: number, right: number, rightTicks: number): number {
  const l = leftTicks > 0 ? left / leftTicks : 0;
  const r = rightTicks > 0 ? right / rightTicks : 0;
  const m = Math.max(l, r);
  return m > 0 ? (r - l) / m : 0;
}

/** Number of colour steps per direction. */
export const DIFF_STEPS = 10;
/** |d| below this counts as unchanged. */
export const DIFF_DEAD_ZONE = 0.02;

/** d quantised to -DIFF_STEPS..DIFF_STEPS (0 = unchanged). */
export function diffBucket(d: number): number {
  const a = Math.abs(d);
  if (!(a >= DIFF_DEAD_ZONE)) return 0;
  const b = Math.min(DIFF_STEPS, Math.max(1, Math.ceil(a * DIFF_STEPS)));
  return d < 0 ? -b : b;
}

/** Colour of a diff bucket: grey blended towards red/green by magnitude. */
export function diffColor(bucket: number, theme: Theme): RGB {
  const t = THEMES[theme];
  if (bucket === 0) return t.neutral;
  const k = Math.min(1, Math.abs(bucket) / DIFF_STEPS);
  return mix(t.neutral, bucket > 0 ? t.grew : t.shrank, 0.25 + 0.75 * k);
}

/** A palette slot: a package key or a diff bucket. */
export type PaletteEntry = { pkg: string } | { bucket: number };

/** Per-node palette ids and the entries they refer to (theme independent). */
export interface NodeColors {
  ids: Int32Array;
  entries: PaletteEntry[];
}

/** Assigns every node a palette id for the colour mode. */
export function nodeColors(m: FlameModel, mode: ColorMode): NodeColors {
  if (mode === 'diff' && m.leftTotal && m.rightTotal) {
    const ids = new Int32Array(m.count);
    const entries: PaletteEntry[] = [];
    for (let b = -DIFF_STEPS; b <= DIFF_STEPS; b++) entries.push({ bucket: b });
    const lt = m.leftTotal, rt = m.rightTotal, lT = m.leftTicks, rT = m.rightTicks;
    for (let i = 0; i < m.count; i++) {
      ids[i] = diffBucket(diffChange(lt[i], lT, rt[i], rT)) + DIFF_STEPS;
    }
    return { ids, entries };
  }
  // One entry per distinct package, every node resolved now.
  const lazy = lazyPackageColors(m);
  for (let i = 0; i < m.count; i++) lazy.resolve(i);
  return { ids: lazy.ids, entries: lazy.entries };
}

/**
 * Package colours resolved on demand, for the renderer: ids start at -1 and
 * resolve(node) fills them, so that the first frame of a big profile looks
 * only at the names it shows (entries grow as packages are met).
 */
export interface LazyNodeColors extends NodeColors {
  resolve(node: number): number;
}

export function lazyPackageColors(m: FlameModel): LazyNodeColors {
  const ids = new Int32Array(m.count).fill(-1);
  const nameIds = new Int32Array(m.names.length).fill(-1);
  const entries: PaletteEntry[] = [{ pkg: NEUTRAL_KEY }];
  const byKey = new Map<string, number>([[NEUTRAL_KEY, 0]]);
  return {
    ids,
    entries,
    resolve(node: number): number {
      const n = m.name[node];
      let id = n === undefined || n < 0 || n >= nameIds.length ? 0 : nameIds[n];
      if (id < 0) {
        const key = packageKey(m.names[n]);
        const known = byKey.get(key);
        if (known === undefined) {
          id = entries.length;
          entries.push({ pkg: key });
          byKey.set(key, id);
        } else {
          id = known;
        }
        nameIds[n] = id;
      }
      ids[node] = id;
      return id;
    },
  };
}

/** CSS colours of the entries: normal, and dimmed (mostly background). */
export function paletteCss(entries: PaletteEntry[], theme: Theme): { normal: string[]; dimmed: string[] } {
  const bg = THEMES[theme].background;
  const normal: string[] = [];
  const dimmed: string[] = [];
  for (const e of entries) {
    const c = 'pkg' in e ? packageColor(e.pkg, theme) : diffColor(e.bucket, theme);
    normal.push(rgbCss(c));
    dimmed.push(rgbCss(mix(c, bg, 0.62)));
  }
  return { normal, dimmed };
}

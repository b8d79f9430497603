// The WebAssembly build of flamecore.c and its JavaScript side: the module
// is compiled as soon as this file is loaded (asynchronously; it takes well
// under a millisecond), and each entry point returns null, so that the
// caller runs its JavaScript version, while it is not ready, where
// WebAssembly is missing, or for input the C code leaves to JavaScript.
import wasmBase64 from 'virtual:flamecore-wasm';

interface CoreExports {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  decode_single(
    b: number, end: number, unit: number, levels: number, bound: number,
    x: number, total: number, self: number, name: number, parent: number, level: number,
    levelStart: number, result: number,
  ): number;
  layout_levels(
    x: number, total: number, levelStart: number, from: number, to: number,
    start: number, span: number, width: number, minW: number, scale: number, pxTicks: number,
    ox: number, ow: number, olevel: number, onode: number, okind: number, n: number, cap: number,
  ): number;
}

let core: CoreExports | null = null;
let heapBase = 0;

/** Resolves when the module is ready (or failed to load: then null stays). */
export const coreReady: Promise<void> = (async () => {
  try {
    if (typeof WebAssembly === 'undefined') return;
    const bin = atob(wasmBase64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const { instance } = await WebAssembly.instantiate(bytes);
    const e = instance.exports as unknown as CoreExports;
    heapBase = Number(e.__heap_base.value);
    core = e;
  } catch {
    core = null;
  }
})();

/** For tests: run the JavaScript versions even when the module is ready. */
let disabled = false;
export function setCoreDisabled(v: boolean): void {
  disabled = v;
}

/** Whether the WebAssembly versions run. */
export function coreActive(): boolean {
  return core !== null && !disabled;
}

/** Bump allocation in the module's memory, reset per call. */
class Arena {
  at: number;
  constructor(private readonly c: CoreExports) {
    this.at = heapBase;
  }
  take(bytes: number): number {
    const p = (this.at + 7) & ~7;
    this.at = p + bytes;
    return p;
  }
  /** Grows the memory to hold everything taken; false if it cannot. */
  fit(): boolean {
    const have = this.c.memory.buffer.byteLength;
    if (this.at <= have) return true;
    try {
      this.c.memory.grow(Math.ceil((this.at - have) / 65536));
      return true;
    } catch {
      return false;
    }
  }
}

export interface DecodedSingle {
  count: number;
  x: Float64Array;
  total: Float64Array;
  self: Float64Array;
  name: Int32Array;
  parent: Int32Array;
  level: Int32Array;
  /** levels + 1 entries. */
  levelStart: Int32Array;
  maxSelf: number;
  /** Levels up to the last one with a bar. */
  used: number;
}

/**
 * decode_single over the levels in `levels` (see flamecore.c); null if the
 * module is not active or leaves this input to JavaScript.
 */
export function decodeSingleCore(levels: Uint8Array, unit: number, levelCount: number, bound: number): DecodedSingle | null {
  const c = core;
  // Every level takes at least a byte (more levels: malformed, for JavaScript to report).
  if (!c || disabled || levelCount > levels.length) return null;
  resident = null; // its arrays are about to be overwritten
  const a = new Arena(c);
  const inAt = a.take(levels.length);
  const xAt = a.take(bound * 8), totalAt = a.take(bound * 8), selfAt = a.take(bound * 8);
  const nameAt = a.take(bound * 4), parentAt = a.take(bound * 4), levelAt = a.take(bound * 4);
  const lsAt = a.take((levelCount + 1) * 4);
  const resAt = a.take(16);
  if (!a.fit()) return null;
  const buf = c.memory.buffer;
  new Uint8Array(buf, inAt, levels.length).set(levels);
  const k = c.decode_single(inAt, levels.length, unit, levelCount, bound, xAt, totalAt, selfAt, nameAt, parentAt, levelAt, lsAt, resAt);
  if (k < 0) return null;
  const res = new Float64Array(buf, resAt, 2);
  return {
    count: k,
    x: new Float64Array(buf, xAt, k).slice(),
    total: new Float64Array(buf, totalAt, k).slice(),
    self: new Float64Array(buf, selfAt, k).slice(),
    name: new Int32Array(buf, nameAt, k).slice(),
    parent: new Int32Array(buf, parentAt, k).slice(),
    level: new Int32Array(buf, levelAt, k).slice(),
    levelStart: new Int32Array(buf, lsAt, levelCount + 1).slice(),
    maxSelf: res[0],
    used: res[1],
  };
}

/** The model arrays layout_levels reads, and the model they were copied from. */
let resident: { x: Float64Array; total: Float64Array; levelStart: Int32Array } | null = null;

export interface LevelLayout {
  from: number;
  to: number;
  start: number;
  span: number;
  width: number;
  minW: number;
  scale: number;
  pxTicks: number;
}

/** Rectangles as layoutFlame's RectList holds them. */
export interface RectArrays {
  n: number;
  x: Float64Array;
  w: Float64Array;
  level: Int32Array;
  node: Int32Array;
  kind: Uint8Array;
}

/**
 * layout_levels of a model's levels [from, to], appended to `out` (whose
 * first out.n rectangles are kept); false if the module is not active.
 */
export function layoutLevelsCore(
  m: { x: Float64Array; total: Float64Array; levelStart: Int32Array; count: number },
  o: LevelLayout,
  out: RectArrays,
  grow: (capacity: number) => void,
): boolean {
  const c = core;
  if (!c || disabled || o.from > o.to) return false;
  const a = new Arena(c);
  const n0 = out.n;
  // Each rectangle stands for at least one node of the levels laid out.
  const cap = n0 + Math.max(0, m.levelStart[o.to + 1] - m.levelStart[o.from]);
  const xAt = a.take(m.count * 8), totalAt = a.take(m.count * 8), lsAt = a.take(m.levelStart.length * 4);
  const oxAt = a.take(cap * 8), owAt = a.take(cap * 8), olAt = a.take(cap * 4), onAt = a.take(cap * 4), okAt = a.take(cap);
  if (!a.fit()) return false;
  let buf = c.memory.buffer;
  if (!resident || resident.x !== m.x || resident.total !== m.total || resident.levelStart !== m.levelStart) {
    new Float64Array(buf, xAt, m.count).set(m.x.subarray(0, m.count));
    new Float64Array(buf, totalAt, m.count).set(m.total.subarray(0, m.count));
    new Int32Array(buf, lsAt, m.levelStart.length).set(m.levelStart);
    resident = { x: m.x, total: m.total, levelStart: m.levelStart };
  }
  if (n0 > 0) {
    new Float64Array(buf, oxAt, n0).set(out.x.subarray(0, n0));
    new Float64Array(buf, owAt, n0).set(out.w.subarray(0, n0));
    new Int32Array(buf, olAt, n0).set(out.level.subarray(0, n0));
    new Int32Array(buf, onAt, n0).set(out.node.subarray(0, n0));
    new Uint8Array(buf, okAt, n0).set(out.kind.subarray(0, n0));
  }
  const n = c.layout_levels(xAt, totalAt, lsAt, o.from, o.to, o.start, o.span, o.width, o.minW, o.scale, o.pxTicks,
    oxAt, owAt, olAt, onAt, okAt, n0, cap);
  if (n < 0) return false;
  buf = c.memory.buffer;
  if (out.x.length < n) grow(n);
  out.x.set(new Float64Array(buf, oxAt, n));
  out.w.set(new Float64Array(buf, owAt, n));
  out.level.set(new Int32Array(buf, olAt, n));
  out.node.set(new Int32Array(buf, onAt, n));
  out.kind.set(new Uint8Array(buf, okAt, n));
  out.n = n;
  return true;
}

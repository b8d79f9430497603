// The WebAssembly build of flamecore.c and its JavaScript side: the module
// is compiled as soon as this file is loaded (it takes well under a
// millisecond), and each entry point declines (null or false), so that the
// caller runs its JavaScript version, while it is not ready, where
// WebAssembly is missing, or for input the C code leaves to JavaScript.
import wasmBase64 from 'virtual:flamecore-wasm';

interface CoreExports {
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

let compiled: WebAssembly.Module | null = null;

function bytesOf(base64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(base64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/**
 * Resolves when the module is compiled (or failed to: then it stays off).
 * It is small, so it is compiled synchronously first (the data it is for
 * may already be waiting); a browser that refuses that on its main thread
 * compiles it in the background.
 */
export const coreReady: Promise<void> = (() => {
  if (typeof WebAssembly === 'undefined') return Promise.resolve();
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = bytesOf(wasmBase64);
    compiled = new WebAssembly.Module(bytes);
    return Promise.resolve();
  } catch {
    compiled = null;
  }
  return WebAssembly.compile(bytes!).then(
    (m) => {
      compiled = m;
    },
    () => undefined,
  );
})();

/** For tests: run the JavaScript versions even when the module is ready. */
let disabled = false;
export function setCoreDisabled(v: boolean): void {
  disabled = v;
}

/** Whether the WebAssembly versions run. */
export function coreActive(): boolean {
  return compiled !== null && !disabled;
}

const PAGE = 65536;

/** An instance of the module with its own memory of `bytes` (null if refused). */
function instantiate(bytes: number): { e: CoreExports; memory: WebAssembly.Memory } | null {
  const pages = Math.ceil(bytes / PAGE);
  if (!compiled || disabled || pages > 65536) return null;
  try {
    const memory = new WebAssembly.Memory({ initial: pages });
    const instance = new WebAssembly.Instance(compiled, { env: { memory } });
    const e = instance.exports as unknown as CoreExports;
    // Our buffers start at HEAP_BASE: past the module's stack and data.
    if (Number(e.__heap_base.value) > HEAP_BASE) return null;
    return { e, memory };
  } catch {
    return null;
  }
}

/** Bump allocation from the module's heap base. */
class Layout {
  at: number;
  constructor(heapBase: number) {
    this.at = heapBase;
  }
  take(bytes: number): number {
    const p = (this.at + 7) & ~7;
    this.at = p + bytes;
    return p;
  }
}

/**
 * A decoded model's instance: its arrays are views of the instance's memory
 * (which is never grown, so they stay valid, and is freed with them), and
 * room for the rectangles of its layouts follows them.
 */
interface ModelCore {
  e: CoreExports;
  rectAt: number;
  rectCap: number;
}
const modelCores = new WeakMap<ArrayBufferLike, ModelCore>();

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
 * module is not active or leaves this input to JavaScript. The arrays are
 * views of a memory of their own (no copies: fresh memory costs page faults).
 */
export function decodeSingleCore(levels: Uint8Array, unit: number, levelCount: number, bound: number): DecodedSingle | null {
  // Every level takes at least a byte (more levels: malformed, for JavaScript to report).
  if (!coreActive() || levelCount > levels.length) return null;
  const l = new Layout(HEAP_BASE);
  const xAt = l.take(bound * 8), totalAt = l.take(bound * 8), selfAt = l.take(bound * 8);
  const nameAt = l.take(bound * 4), parentAt = l.take(bound * 4), levelAt = l.take(bound * 4);
  const lsAt = l.take((levelCount + 1) * 4);
  const resAt = l.take(16);
  const rectCap = bound + levelCount + 1;
  const rectAt = l.take(rectCap * RECT_BYTES);
  const inAt = l.take(levels.length);
  const inst = instantiate(l.at);
  if (!inst) return null;
  const buf = inst.memory.buffer;
  new Uint8Array(buf, inAt, levels.length).set(levels);
  const k = inst.e.decode_single(inAt, levels.length, unit, levelCount, bound, xAt, totalAt, selfAt, nameAt, parentAt, levelAt, lsAt, resAt);
  if (k < 0) return null;
  modelCores.set(buf, { e: inst.e, rectAt, rectCap });
  const res = new Float64Array(buf, resAt, 2);
  return {
    count: k,
    x: new Float64Array(buf, xAt, k),
    total: new Float64Array(buf, totalAt, k),
    self: new Float64Array(buf, selfAt, k),
    name: new Int32Array(buf, nameAt, k),
    parent: new Int32Array(buf, parentAt, k),
    level: new Int32Array(buf, levelAt, k),
    levelStart: new Int32Array(buf, lsAt, levelCount + 1),
    maxSelf: res[0],
    used: res[1],
  };
}

/** x, w (f64), level, node (i32), kind (u8). */
const RECT_BYTES = 25;
/** Where our buffers start: past the module's stack (64 KiB, first) and data. */
const HEAP_BASE = 2 * PAGE;

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
  /** Room for at least `capacity` rectangles. */
  reserve(capacity: number): void;
}

/** The instance laying out models JavaScript built (their arrays copied in), and what it holds. */
let scratch: { e: CoreExports; memory: WebAssembly.Memory } | null = null;
let resident: { x: Float64Array; total: Float64Array; levelStart: Int32Array } | null = null;

/**
 * layout_levels of a model's levels [from, to], appended to `out` (whose
 * first out.n rectangles are kept); false if the module is not active.
 */
export function layoutLevelsCore(
  m: { x: Float64Array; total: Float64Array; levelStart: Int32Array; count: number },
  o: LevelLayout,
  out: RectArrays,
): boolean {
  if (!coreActive() || o.from > o.to) return false;
  const n0 = out.n;
  // Each rectangle stands for at least one node of the levels laid out.
  const cap = n0 + Math.max(0, m.levelStart[o.to + 1] - m.levelStart[o.from]);
  let e: CoreExports, buf: ArrayBufferLike, xAt: number, totalAt: number, lsAt: number, rectAt: number;
  const own = modelCores.get(m.x.buffer);
  if (own && m.total.buffer === m.x.buffer && m.levelStart.buffer === m.x.buffer && cap <= own.rectCap) {
    e = own.e;
    buf = m.x.buffer;
    xAt = m.x.byteOffset;
    totalAt = m.total.byteOffset;
    lsAt = m.levelStart.byteOffset;
    rectAt = own.rectAt;
  } else {
    const l = new Layout(HEAP_BASE);
    xAt = l.take(m.count * 8);
    totalAt = l.take(m.count * 8);
    lsAt = l.take(m.levelStart.length * 4);
    rectAt = l.take(cap * RECT_BYTES);
    if (!scratch || scratch.memory.buffer.byteLength < l.at) {
      scratch = null;
      resident = null;
      // Grown by half again, so that growing models do not instantiate often.
      scratch = instantiate(l.at + (l.at >> 1));
      if (!scratch) return false;
    }
    e = scratch.e;
    buf = scratch.memory.buffer;
    if (!resident || resident.x !== m.x || resident.total !== m.total || resident.levelStart !== m.levelStart) {
      new Float64Array(buf, xAt, m.count).set(m.x.subarray(0, m.count));
      new Float64Array(buf, totalAt, m.count).set(m.total.subarray(0, m.count));
      new Int32Array(buf, lsAt, m.levelStart.length).set(m.levelStart);
      resident = { x: m.x, total: m.total, levelStart: m.levelStart };
    }
  }
  const oxAt = rectAt, owAt = oxAt + cap * 8, olAt = owAt + cap * 8, onAt = olAt + cap * 4, okAt = onAt + cap * 4;
  if (n0 > 0) {
    new Float64Array(buf, oxAt, n0).set(out.x.subarray(0, n0));
    new Float64Array(buf, owAt, n0).set(out.w.subarray(0, n0));
    new Int32Array(buf, olAt, n0).set(out.level.subarray(0, n0));
    new Int32Array(buf, onAt, n0).set(out.node.subarray(0, n0));
    new Uint8Array(buf, okAt, n0).set(out.kind.subarray(0, n0));
  }
  const n = e.layout_levels(xAt, totalAt, lsAt, o.from, o.to, o.start, o.span, o.width, o.minW, o.scale, o.pxTicks,
    oxAt, owAt, olAt, onAt, okAt, n0, cap);
  if (n < 0) return false;
  out.reserve(n);
  out.x.set(new Float64Array(buf, oxAt, n));
  out.w.set(new Float64Array(buf, owAt, n));
  out.level.set(new Int32Array(buf, olAt, n));
  out.node.set(new Int32Array(buf, onAt, n));
  out.kind.set(new Uint8Array(buf, okAt, n));
  out.n = n;
  return true;
}

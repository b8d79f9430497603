// Decoder of the server's compact render response (`format=binary`, see
// docs/server.md): "SHFB", version 1, uint32 LE JSON length, the JSON
// response with empty levels, a uvarint unit, then uvarint level count and
// per level a uvarint count and zigzag varints (values divided by the unit;
// the last int of each bar, the name index, as is). A "single" response is
// decoded straight into the flame graph's model (`response.model`); its
// levels, and a "double" response's, become Float64Arrays (values reach
// 2^53 ns), which fromFlamebearer reads like arrays.
import type { RenderResponse } from './api';
import { allocModel, rootTotal, type FlameModel } from './flame/model';
import { decodeSingleCore, type DecodedSingle } from './wasm/flamecore';

function truncated(): never {
  throw new Error('truncated binary render response');
}

export function decodeBinaryRender(buf: ArrayBuffer): RenderResponse {
  const b = new Uint8Array(buf);
  if (b.length < 9 || b[0] !== 0x53 || b[1] !== 0x48 || b[2] !== 0x46 || b[3] !== 0x42) {
    throw new Error('not a Stackhouse binary render response');
  }
  if (b[4] !== 1) throw new Error(`unsupported binary render version ${b[4]}`);
  const len = b[5] | (b[6] << 8) | (b[7] << 16) | (b[8] * 16777216);
  if (9 + len > b.length) truncated();
  const res = JSON.parse(new TextDecoder().decode(b.subarray(9, 9 + len))) as RenderResponse;
  const stride = res.metadata?.format === 'double' ? 7 : 4;
  let pos = 9 + len;
  const next = (): number => {
    const v = decodeVarint(b, pos);
    pos = varintEnd;
    return v;
  };
  const unit = next();
  const numLevels = next();
  const levelsFrom = pos;
  // The levels as the JSON form has them (Float64Arrays).
  const decodeLevels = (): Float64Array[] => {
    pos = levelsFrom;
    const levels: Float64Array[] = new Array(numLevels);
    for (let l = 0; l < numLevels; l++) {
      const n = next();
      const level = new Float64Array(n);
      for (let k = 0, s = 0; k < n; k++) {
        const z = next();
        const v = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
        level[k] = ++s === stride ? ((s = 0), v) : v * unit;
      }
      levels[l] = level;
    }
    return levels;
  };
  if (stride !== 4) {
    res.flamebearer.levels = decodeLevels() as unknown as number[][];
    return res;
  }
  // "single": straight into the flame graph's model (as fromFlamebearer
  // builds it from the levels); the levels themselves are decoded only if
  // something asks for them (the flamebearer JSON export).
  const bound = Math.floor((b.length - pos) / 4); // every bar takes at least 4 bytes
  const core = decodeSingleCore(b.subarray(pos), unit, numLevels, bound);
  res.model = singleModel(core ?? decodeSingleLevels(b, pos, unit, numLevels, bound), res);
  res.decoder = core ? 'wasm' : 'js';
  let levels: Float64Array[] | null = null;
  Object.defineProperty(res.flamebearer, 'levels', {
    enumerable: true,
    configurable: true,
    get: () => (levels ??= decodeLevels()),
    set: (v: Float64Array[]) => {
      levels = v;
    },
  });
  return res;
}

// The end of the varint decodeVarint last read.
let varintEnd = 0;

/** The varint at b[at] (any length); sets varintEnd. */
function decodeVarint(b: Uint8Array, at: number): number {
  let v = 0;
  let mul = 1;
  for (;;) {
    if (at >= b.length) truncated();
    const c = b[at++];
    v += (c & 0x7f) * mul;
    if (c < 0x80) break;
    mul *= 128;
  }
  varintEnd = at;
  return v;
}

/** The flame graph's model of decoded "single" levels (as fromFlamebearer builds it). */
function singleModel(d: DecodedSingle, r: RenderResponse): FlameModel {
  const out: FlameModel = {
    ...allocModel('single', r.flamebearer.names, 0, 0),
    count: d.count,
    level: d.level,
    x: d.x,
    total: d.total,
    self: d.self,
    name: d.name,
    parent: d.parent,
    maxLevel: d.used - 1,
    levelStart: d.levelStart.subarray(0, d.used + 1),
  };
  out.maxSelf = Math.max(d.maxSelf, r.flamebearer.maxSelf || 0);
  out.numTicks = r.flamebearer.numTicks > 0 ? r.flamebearer.numTicks : rootTotal(out);
  return out;
}

/**
 * The "single" levels from b[start] (after the unit and level count), as
 * flamecore.c's decode_single gives them; the fallback where WebAssembly
 * is missing and the reporter of malformed input. Written for a JIT that has
 * not warmed up: each hot loop is its own small function (so that one
 * optimised loop is not thrown away when the next, still unseen, one runs),
 * locals only, one-byte varints inline.
 */
function decodeSingleLevels(b: Uint8Array, start: number, unit: number, levelCount: number, bound: number): DecodedSingle {
  const end = b.length;
  const m = allocModel('single', [], bound, levelCount);
  const { level, x, total, self, name, parent, levelStart } = m;
  let pos = start;
  let k = 0;
  let maxSelf = 0;
  let used = 0; // levels up to the last one with a bar
  for (let l = 0; l < levelCount; l++) {
    const count = decodeVarint(b, pos);
    pos = varintEnd;
    const bars = Math.floor(count / 4);
    if (k + bars > bound) truncated();
    const first = k;
    levelStart[l] = first;
    pos = decodeBars(b, pos, bars, unit, first, x, total, self, name);
    k = first + bars;
    if (barsMaxSelf > maxSelf) maxSelf = barsMaxSelf;
    for (let j = bars * 4; j < count; j++) {
      // A partial bar (malformed): skipped.
      decodeVarint(b, pos);
      pos = varintEnd;
    }
    level.fill(l, first, k);
    if (l === 0 || levelStart[l - 1] === first) parent.fill(-1, first, k);
    else linkParents(x, parent, levelStart[l - 1], first, k);
    if (bars > 0) used = l + 1;
  }
  if (pos !== end) truncated();
  levelStart[levelCount] = k;
  return {
    count: k,
    level: level.subarray(0, k),
    x: x.subarray(0, k),
    total: total.subarray(0, k),
    self: self.subarray(0, k),
    name: name.subarray(0, k),
    parent: parent.subarray(0, k),
    levelStart,
    maxSelf,
    used,
  };
}

// The largest self decodeBars last saw.
let barsMaxSelf = 0;

/** Decodes `bars` bars at b[pos] into nodes first..; returns the end. */
function decodeBars(
  b: Uint8Array, pos: number, bars: number, unit: number, first: number,
  x: Float64Array, total: Float64Array, self: Float64Array, name: Int32Array,
): number {
  const end = b.length;
  let endX = 0;
  let maxSelf = 0;
  for (let j = 0, k = first; j < bars; j++, k++) {
    if (pos + 4 > end) truncated();
    let z = b[pos++];
    if (z >= 0x80) {
      z = decodeVarint(b, pos - 1);
      pos = varintEnd;
    }
    const xs = endX + (z % 2 === 0 ? z / 2 : -(z + 1) / 2) * unit;
    z = b[pos++];
    if (z >= 0x80) {
      z = decodeVarint(b, pos - 1);
      pos = varintEnd;
    }
    const tot = (z % 2 === 0 ? z / 2 : -(z + 1) / 2) * unit;
    z = b[pos++];
    if (z >= 0x80) {
      z = decodeVarint(b, pos - 1);
      pos = varintEnd;
    }
    const sf = (z % 2 === 0 ? z / 2 : -(z + 1) / 2) * unit;
    if (pos >= end) truncated();
    z = b[pos++];
    if (z >= 0x80) {
      z = decodeVarint(b, pos - 1);
      pos = varintEnd;
    }
    x[k] = xs;
    total[k] = tot;
    self[k] = sf;
    name[k] = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    endX = xs + tot;
    if (sf > maxSelf) maxSelf = sf;
  }
  barsMaxSelf = maxSelf;
  return pos;
}

/** Parents of nodes first..end: merge-walk against the level above at prev.. (both x-sorted). */
function linkParents(x: Float64Array, parent: Int32Array, prev: number, first: number, end: number): void {
  let p = prev;
  for (let i = first; i < end; i++) {
    const xs = x[i];
    while (p + 1 < first && x[p + 1] <= xs) p++;
    parent[i] = p;
  }
}

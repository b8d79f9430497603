// Decoder of the server's compact render response (`format=binary`, see
// docs/server.md): "SHFB", version 1, uint32 LE JSON length, the JSON
// response with empty levels, a uvarint unit, then uvarint level count and
// per level a uvarint count and zigzag varints (values divided by the unit;
// the last int of each bar, the name index, as is). Levels become
// Float64Arrays (values reach 2^53 ns), which fromFlamebearer reads like
// arrays.
import type { RenderResponse } from './api';

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
  const end = b.length;
  let pos = 9 + len;
  // uvarint: the common one- and two-byte cases with integer ops, longer
  // ones with float arithmetic (values may exceed 2^32).
  const next = (): number => {
    if (pos >= end) truncated();
    const c0 = b[pos++];
    if (c0 < 0x80) return c0;
    if (pos >= end) truncated();
    const c1 = b[pos++];
    if (c1 < 0x80) return (c0 & 0x7f) | (c1 << 7);
    let v = (c0 & 0x7f) | ((c1 & 0x7f) << 7);
    let mul = 16384;
    for (;;) {
      if (pos >= end) truncated();
      const c = b[pos++];
      v += (c & 0x7f) * mul;
      if (c < 0x80) return v;
      mul *= 128;
    }
  };
  const unit = next();
  const numLevels = next();
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
  res.flamebearer.levels = levels as unknown as number[][];
  return res;
}

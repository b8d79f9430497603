// Decoder of the server's compact render response (`format=binary`, see
// docs/server.md): "SHFB", version 1, uint32 LE JSON length, the JSON
// response with empty levels, then uvarint level count and per level a
// uvarint count and zigzag varints. The levels become Float64Arrays (values
// reach 2^53 ns), which fromFlamebearer reads like arrays.
import type { RenderResponse } from './api';

export function decodeBinaryRender(buf: ArrayBuffer): RenderResponse {
  const b = new Uint8Array(buf);
  if (b.length < 9 || b[0] !== 0x53 || b[1] !== 0x48 || b[2] !== 0x46 || b[3] !== 0x42) {
    throw new Error('not a Stackhouse binary render response');
  }
  if (b[4] !== 1) throw new Error(`unsupported binary render version ${b[4]}`);
  const len = b[5] | (b[6] << 8) | (b[7] << 16) | (b[8] * 16777216);
  if (9 + len > b.length) throw new Error('truncated binary render response');
  const res = JSON.parse(new TextDecoder().decode(b.subarray(9, 9 + len))) as RenderResponse;
  let pos = 9 + len;
  const uvarint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (pos >= b.length) throw new Error('truncated binary render response');
      const c = b[pos++];
      v += (c & 0x7f) * mul;
      if (c < 0x80) return v;
      mul *= 128;
    }
  };
  const numLevels = uvarint();
  const levels: Float64Array[] = new Array(numLevels);
  for (let l = 0; l < numLevels; l++) {
    const n = uvarint();
    const level = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const z = uvarint();
      level[k] = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    }
    levels[l] = level;
  }
  res.flamebearer.levels = levels as unknown as number[][];
  return res;
}

import { describe, expect, it } from 'vitest';
import { decodeBinaryRender } from './binary';

function encode(header: object, levels: number[][], unit = 1): ArrayBuffer {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out: number[] = [0x53, 0x48, 0x46, 0x42, 1, json.length & 255, (json.length >> 8) & 255, (json.length >> 16) & 255, json.length >>> 24];
  out.push(...json);
  const uv = (v: number) => {
    while (v >= 128) {
      out.push((v % 128) | 128);
      v = Math.floor(v / 128);
    }
    out.push(v);
  };
  uv(unit);
  uv(levels.length);
  for (const l of levels) {
    uv(l.length);
    l.forEach((x, k) => {
      const v = k % 4 === 3 ? x : x / unit;
      uv(v >= 0 ? v * 2 : -v * 2 - 1);
    });
  }
  return new Uint8Array(out).buffer;
}

describe('decodeBinaryRender', () => {
  it('restores the JSON and the levels, large and negative values included', () => {
    const header = { flamebearer: { names: ['total', 'a'], levels: [], numTicks: 6286940000000, maxSelf: 5 }, metadata: { format: 'single' } };
    const levels = [[0, 6286940000000, 0, 0], [0, 6286940000000, 6286940000000, 1], [-3, 300, 0, 1]];
    const r = decodeBinaryRender(encode(header, levels));
    // With a unit: values scaled back, name indexes as they are.
    const scaled = decodeBinaryRender(encode(header, [[0, 6e12, 0, 0], [2e7, 3e9, -1e7, 1]], 1e7));
    expect(scaled.flamebearer.levels.map((l) => Array.from(l))).toEqual([[0, 6e12, 0, 0], [2e7, 3e9, -1e7, 1]]);
    expect(r.flamebearer.numTicks).toBe(6286940000000);
    expect(r.flamebearer.levels.map((l) => Array.from(l))).toEqual(levels);
    expect(r.metadata.format).toBe('single');
  });
  it('rejects other bytes and truncation', () => {
    expect(() => decodeBinaryRender(new TextEncoder().encode('{"a":1}').buffer)).toThrow(/not a Stackhouse/);
    const good = new Uint8Array(encode({ flamebearer: { names: [], levels: [] } }, [[1, 2, 3, 4]]));
    expect(() => decodeBinaryRender(good.slice(0, good.length - 1).buffer)).toThrow(/truncated/);
  });
});

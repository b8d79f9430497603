import { describe, expect, it } from 'vitest';
import { decodeBinaryRender } from './binary';
import { encodeBinaryRender } from './binary_testutil';
import { fromFlamebearer, type FlameModel } from './flame/model';

const encode = encodeBinaryRender;

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
  it('builds the single-format model directly, as fromFlamebearer does from the levels', () => {
    const plain = (m: FlameModel) => ({
      count: m.count, numTicks: m.numTicks, maxSelf: m.maxSelf, maxLevel: m.maxLevel,
      level: Array.from(m.level), x: Array.from(m.x), total: Array.from(m.total), self: Array.from(m.self),
      name: Array.from(m.name), parent: Array.from(m.parent), levelStart: Array.from(m.levelStart),
    });
    const header = (numTicks: number) => ({ flamebearer: { names: ['total', 'a', 'b', 'c'], levels: [], numTicks, maxSelf: 0 }, metadata: { format: 'single' } });
    const cases: [number, number[][], number][] = [
      // root; two children (the second after a gap of self); grandchildren.
      [100, [[0, 100, 10, 0], [0, 60, 20, 1, 10, 30, 30, 2], [5, 20, 20, 3, 0, 20, 20, 1]], 1],
      // In units of a period; a trailing partial bar and empty trailing levels.
      [3e9, [[0, 3e9, 0, 0], [0, 2e9, 2e9, 1, 0, 1e9, 1e9, 2, 7e7], [], [1e7]], 1e7],
      // An empty level in the middle; numTicks 0 falls back to the root's total.
      [0, [[0, 50, 0, 0], [], [0, 50, 50, 1]], 1],
      // Nothing at all.
      [0, [], 1],
    ];
    for (const [ticks, levels, unit] of cases) {
      const r = decodeBinaryRender(encode(header(ticks), levels, unit));
      expect(r.model).toBeDefined();
      const viaLevels = fromFlamebearer({ ...r.flamebearer, levels }, 'single');
      expect(plain(r.model!)).toEqual(plain(viaLevels));
      // The levels themselves on demand (the JSON export reads them).
      expect(r.flamebearer.levels.map((l) => Array.from(l))).toEqual(levels);
      expect({ ...r.flamebearer }.levels.length).toBe(levels.length); // as export.ts copies it
    }
  });
  it('rejects other bytes and truncation', () => {
    expect(() => decodeBinaryRender(new TextEncoder().encode('{"a":1}').buffer)).toThrow(/not a Stackhouse/);
    const good = new Uint8Array(encode({ flamebearer: { names: [], levels: [] } }, [[1, 2, 3, 4]]));
    expect(() => decodeBinaryRender(good.slice(0, good.length - 1).buffer)).toThrow(/truncated/);
  });
});

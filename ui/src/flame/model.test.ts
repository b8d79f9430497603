import { describe, expect, it } from 'vitest';
import { childIndex, fromFlamebearer, fromFolded, type Flamebearer } from './model';
import { doubleFb, singleFb } from './testdata';
import { toFolded } from './export';

describe('fromFlamebearer single', () => {
  const m = fromFlamebearer(singleFb, 'single');
  it('decodes delta offsets, gaps and levels', () => {
    expect(m.count).toBe(7);
    expect(m.maxLevel).toBe(3);
    expect([...m.levelStart]).toEqual([0, 1, 3, 6, 7]);
    expect([...m.x]).toEqual([0, 0, 8, 1, 4, 9, 6]);
    expect([...m.total]).toEqual([10, 8, 2, 3, 4, 1, 2]);
    expect([...m.self]).toEqual([0, 1, 1, 3, 2, 1, 2]);
    expect([...m.level]).toEqual([0, 1, 1, 2, 2, 2, 3]);
    expect([...m.name].map((k) => m.names[k])).toEqual(['total', 'main', 'gc', 'a', 'b', 'a', 'a']);
    expect(m.numTicks).toBe(10);
    expect(m.maxSelf).toBe(3);
    expect(m.leftTotal).toBeNull();
  });
  it('links parents by containment', () => {
    expect([...m.parent]).toEqual([-1, 0, 0, 1, 1, 2, 4]);
  });
  it('builds x-sorted child lists', () => {
    const { start, list } = childIndex(m);
    const kids = (i: number) => [...list.subarray(start[i], start[i + 1])];
    expect(kids(0)).toEqual([1, 2]);
    expect(kids(1)).toEqual([3, 4]);
    expect(kids(4)).toEqual([6]);
    expect(kids(6)).toEqual([]);
  });
});

describe('fromFlamebearer double', () => {
  const m = fromFlamebearer(doubleFb, 'double', 10, 20);
  it('combines left and right coordinates', () => {
    expect(m.count).toBe(5);
    expect([...m.x]).toEqual([0, 0, 2, 12, 26]);
    expect([...m.total]).toEqual([30, 30, 10, 14, 4]);
    expect([...m.self]).toEqual([0, 2, 10, 14, 4]);
    expect([...m.leftTotal!]).toEqual([10, 10, 6, 4, 0]);
    expect([...m.rightTotal!]).toEqual([20, 20, 4, 10, 4]);
    expect([...m.leftSelf!]).toEqual([0, 0, 6, 4, 0]);
    expect([...m.rightSelf!]).toEqual([0, 2, 4, 10, 4]);
    expect([...m.parent]).toEqual([-1, 0, 1, 1, 1]);
    expect(m.numTicks).toBe(30);
    expect(m.leftTicks).toBe(10);
    expect(m.rightTicks).toBe(20);
    expect(m.maxSelf).toBe(10);
  });
  it('derives side ticks from the root when not given', () => {
    const d = fromFlamebearer(doubleFb, 'double');
    expect([d.leftTicks, d.rightTicks, d.numTicks]).toEqual([10, 20, 30]);
    const z = fromFlamebearer(doubleFb, 'double', 0, 0);
    expect([z.leftTicks, z.rightTicks]).toEqual([10, 20]);
  });
});

describe('fromFlamebearer edge cases', () => {
  it('handles empty input and trailing empty levels', () => {
    const e = fromFlamebearer({ names: ['total'], levels: [], numTicks: 0, maxSelf: 0 }, 'single');
    expect(e.count).toBe(0);
    expect(e.maxLevel).toBe(-1);
    const t = fromFlamebearer({ names: ['total'], levels: [[0, 5, 5, 0], []], numTicks: 5, maxSelf: 5 }, 'single');
    expect(t.maxLevel).toBe(0);
    expect(t.count).toBe(1);
  });
  it('keeps "other" as a normal node', () => {
    const m = fromFlamebearer(
      { names: ['total', 'other'], levels: [[0, 5, 0, 0], [0, 5, 5, 1]], numTicks: 5, maxSelf: 5 },
      'single',
    );
    expect(m.names[m.name[1]]).toBe('other');
    expect(m.parent[1]).toBe(0);
  });
});

describe('fromFolded', () => {
  it('builds a merged, name-sorted tree with self first', () => {
    const m = fromFolded('a;b 3\na;c 2\nd 5\na 1\n\nbad line\na;b 1\n');
    expect(m.numTicks).toBe(12);
    const desc = [...Array(m.count).keys()].map(
      (i) => `${m.level[i]}:${m.names[m.name[i]]}@${m.x[i]}+${m.total[i]}/${m.self[i]}^${m.parent[i]}`,
    );
    expect(desc).toEqual(['0:total@0+12/0^-1', '1:a@0+7/1^0', '1:d@7+5/5^0', '2:b@1+4/4^1', '2:c@5+2/2^1']);
  });
  it('round-trips through toFolded', () => {
    const text = 'main;f;g 5\nmain;f;h 3\nmain;k 2\nother 1\nstd::vector<int>::push_back 7\n';
    const m = fromFolded(text);
    expect(toFolded(m)).toBe(text.split('\n').filter(Boolean).sort().join('\n') + '\n');
    expect(toFolded(fromFolded(toFolded(m)))).toBe(toFolded(m));
  });
  it('matches the decoded flamebearer', () => {
    const fb = fromFlamebearer(singleFb, 'single');
    const again = fromFolded(toFolded(fb));
    expect(toFolded(again)).toBe(toFolded(fb));
    expect(again.count).toBe(fb.count);
    expect(again.numTicks).toBe(fb.numTicks);
    // fromFolded orders siblings by name: gc now comes before main.
    expect([...again.name].map((k) => again.names[k])).toEqual(['total', 'gc', 'main', 'a', 'a', 'b', 'a']);
    expect([...again.x]).toEqual([0, 0, 2, 1, 3, 6, 8]);
  });
});

/** root + P parents (self 1 first, then C leaves of 1) = 1 + P + P*C nodes. */
function bigFlamebearer(P: number, C: number): Flamebearer {
  const l1: number[] = [];
  const l2: number[] = [];
  for (let p = 0; p < P; p++) {
    l1.push(0, C + 1, 1, 1);
    for (let c = 0; c < C; c++) l2.push(c === 0 ? 1 : 0, 1, 1, 2 + (c % 7));
  }
  return {
    names: ['total', 'parent', 'l0', 'l1', 'l2', 'l3', 'l4', 'l5', 'l6'],
    levels: [[0, P * (C + 1), 0, 0], l1, l2],
    numTicks: P * (C + 1),
    maxSelf: 1,
  };
}

describe('1,000,000 nodes', () => {
  it('decodes quickly and correctly', () => {
    const P = 999, C = 1000;
    const fb = bigFlamebearer(P, C);
    const t0 = performance.now();
    const m = fromFlamebearer(fb, 'single');
    const cold = performance.now() - t0;
    const t1 = performance.now();
    fromFlamebearer(fb, 'single');
    const warm = performance.now() - t1;
    console.log(`fromFlamebearer: ${m.count} nodes in ${cold.toFixed(1)} ms (first call), ${warm.toFixed(1)} ms (second)`);
    expect(m.count).toBe(1_000_000);
    expect(m.maxLevel).toBe(2);
    expect(m.numTicks).toBe(999_999);
    let selfSum = 0;
    for (let i = 0; i < m.count; i++) selfSum += m.self[i];
    expect(selfSum).toBe(m.numTicks);
    // Leaf c of parent p sits at p*(C+1) + 1 + c, under node 1 + p.
    for (const [p, c] of [[0, 0], [0, 999], [500, 3], [998, 999]]) {
      const k = 1 + P + p * C + c;
      expect(m.x[k]).toBe(p * (C + 1) + 1 + c);
      expect(m.parent[k]).toBe(1 + p);
      expect(m.total[1 + p]).toBe(C + 1);
      expect(m.x[1 + p]).toBe(p * (C + 1));
    }
    // Every parent's children sum to its total minus self.
    const { start } = childIndex(m);
    for (let p = 1; p <= P; p++) expect(start[p + 1] - start[p]).toBe(C);
  });
});

import { describe, expect, it } from 'vitest';
import { biggestChanges, topTable } from './top';
import { fromFlamebearer, fromFolded } from './model';
import { doubleFb } from './testdata';

describe('topTable', () => {
  it('sums self and counts recursive totals once', () => {
    const m = fromFolded('main;f;g;f;h 5\nmain;f;x 3\nmain;g;f 2\nmain;y 4\nf 1\nmain;g;g 6\n');
    const rows = topTable(m);
    expect(rows.map((r) => [r.name, r.self, r.total])).toEqual([
      ['g', 6, 13], // main;f;g (5) + main;g (2 + 6); the inner g is not added again
      ['h', 5, 5],
      ['y', 4, 4],
      ['f', 3, 11], // main;f (8) + main;g;f (2) + f (1)
      ['x', 3, 3],
      ['main', 0, 20],
    ]);
    expect(rows.find((r) => r.name === 'total')).toBeUndefined();
    expect(rows[0].leftSelf).toBeUndefined();
  });

  it('reports both sides of a diff', () => {
    const d = fromFlamebearer(doubleFb, 'double', 10, 20);
    const b = topTable(d).find((r) => r.name === 'b')!;
    expect(b).toEqual({ name: 'b', self: 14, total: 14, leftSelf: 4, rightSelf: 10, leftTotal: 4, rightTotal: 10 });
    const main = topTable(d).find((r) => r.name === 'main')!;
    expect([main.leftTotal, main.rightTotal, main.leftSelf, main.rightSelf]).toEqual([10, 20, 0, 2]);
  });
});

describe('biggestChanges', () => {
  const d = fromFlamebearer(doubleFb, 'double', 10, 20);
  it('sorts by |normalised self change|', () => {
    // self shares left -> right: a .6 -> .2, b .4 -> .5, c 0 -> .2, main 0 -> .1
    const top = biggestChanges(d, 2);
    expect(top.map((r) => r.name)).toEqual(['a', 'c']);
    expect(top[0].change).toBeCloseTo(-0.4);
    expect(top[1].change).toBeCloseTo(0.2);
    const all = biggestChanges(d, 10);
    expect(all).toHaveLength(4);
    expect(all.slice(2).map((r) => r.change)).toEqual([expect.closeTo(0.1), expect.closeTo(0.1)]);
  });
  it('can rank by total', () => {
    // total shares: main 1 -> 1 (0), a .6 -> .2, b .4 -> .5, c 0 -> .2
    const t = biggestChanges(d, 10, 'total');
    expect(t.map((r) => r.name)).toEqual(['a', 'c', 'b', 'main']);
    expect(t[3].change).toBeCloseTo(0);
  });
  it('is empty for single models', () => {
    expect(biggestChanges(fromFolded('a 1\n'), 5)).toEqual([]);
  });
});

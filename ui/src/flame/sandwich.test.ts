import { describe, expect, it } from 'vitest';
import { sandwich, outermostOccurrences } from './sandwich';
import { fromFlamebearer, fromFolded } from './model';
import { toFolded } from './export';
import { doubleFb } from './testdata';

// f is recursive (main;f;g;f), called from two places and also a root.
const text = 'main;f;g;f;h 5\nmain;f;x 3\nmain;g;f 2\nmain;y 4\nf 1\n';

describe('sandwich', () => {
  const m = fromFolded(text);

  it('finds outermost occurrences only', () => {
    const occ = outermostOccurrences(m, 'f');
    expect(occ.map((i) => m.total[i]).sort((a, b) => a - b)).toEqual([1, 2, 8]);
    expect(outermostOccurrences(m, 'nope')).toEqual([]);
  });

  it('merges callees without double counting recursion', () => {
    const { callees } = sandwich(m, 'f');
    expect(callees.names[callees.name[0]]).toBe('f');
    expect(callees.numTicks).toBe(11);
    expect(callees.total[0]).toBe(11);
    expect(callees.self[0]).toBe(3);
    expect(toFolded(callees)).toBe('f 3\nf;g;f;h 5\nf;x 3\n');
  });

  it('inverts callers with the occurrence totals', () => {
    const { callers } = sandwich(m, 'f');
    expect(callers.numTicks).toBe(11);
    expect(callers.self[0]).toBe(1); // the root-level f has no caller
    expect(toFolded(callers)).toBe('f 1\nf;g;main 2\nf;main 8\n');
    // Each level's totals never exceed the root's.
    for (let i = 1; i < callers.count; i++) expect(callers.total[i]).toBeLessThanOrEqual(11);
  });

  it('handles a leaf function and an unknown one', () => {
    const { callers, callees } = sandwich(m, 'h');
    expect(toFolded(callees)).toBe('h 5\n');
    expect(toFolded(callers)).toBe('h;f;g;f;main 5\n');
    const none = sandwich(m, 'missing');
    expect(none.callers.numTicks).toBe(0);
    expect(none.callees.count).toBe(1);
  });

  it('uses combined values of diff models', () => {
    const d = fromFlamebearer(doubleFb, 'double', 10, 20);
    const { callers, callees } = sandwich(d, 'b');
    expect(callees.numTicks).toBe(14);
    expect(toFolded(callers)).toBe('b;main 14\n');
  });
});

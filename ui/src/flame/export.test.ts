import { describe, expect, it } from 'vitest';
import { toFolded, toSpeedscope } from './export';
import { fromFlamebearer, fromFolded } from './model';
import { doubleFb } from './testdata';

describe('toFolded', () => {
  it('writes sorted root-first self stacks without the root', () => {
    const m = fromFolded('b;c 2\na 1\nb 3\n');
    expect(toFolded(m)).toBe('a 1\nb 3\nb;c 2\n');
    expect(toFolded(fromFolded(''))).toBe('');
  });
  it('exports combined values of a diff', () => {
    expect(toFolded(fromFlamebearer(doubleFb, 'double'))).toBe('main 2\nmain;a 10\nmain;b 14\nmain;c 4\n');
  });
});

describe('toSpeedscope', () => {
  const m = fromFolded('main;f 3\nmain;g 1\nmain 2\n');
  it('converts CPU samples to nanoseconds', () => {
    const s = toSpeedscope(m, 'cpu', 'samples', 100);
    expect(s.$schema).toBe('https://www.speedscope.app/file-format-schema.json');
    expect(s.shared.frames).toEqual([{ name: 'main' }, { name: 'f' }, { name: 'g' }]);
    const p = s.profiles[0];
    expect(p.type).toBe('sampled');
    expect(p.unit).toBe('nanoseconds');
    expect(p.samples).toEqual([[0], [0, 1], [0, 2]]);
    expect(p.weights).toEqual([2e7, 3e7, 1e7]);
    expect(p.startValue).toBe(0);
    expect(p.endValue).toBe(6e7);
    expect(s.name).toBe('cpu');
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });
  it('keeps bytes and plain counts', () => {
    expect(toSpeedscope(m, 'mem', 'bytes', 0).profiles[0]).toMatchObject({ unit: 'bytes', weights: [2, 3, 1], endValue: 6 });
    expect(toSpeedscope(m, 'obj', 'objects', 0).profiles[0].unit).toBe('none');
    expect(toSpeedscope(m, 'lock', 'lock_nanoseconds', 0).profiles[0].weights).toEqual([2, 3, 1]);
  });
});

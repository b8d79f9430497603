import { describe, expect, it } from 'vitest';
import { formatPercent, formatPointsChange, formatValue, sig3, toSeconds, unitKind } from './format';

describe('formatValue', () => {
  const cases: [number, string, number, string][] = [
    // CPU samples at 100 Hz: value / 100 seconds.
    [123, 'samples', 100, '1.23 s'],
    [456, 'samples', 100, '4.56 s'],
    [1, 'samples', 100, '10 ms'],
    [12600, 'samples', 100, '2.1 min'],
    [540000, 'samples', 100, '1.5 h'],
    [100 * 86400 * 3, 'samples', 100, '3 d'],
    [5996, 'samples', 100, '1 min'], // 59.96 s rounds up into minutes
    [99.996, 'samples', 100, '1 s'], // 999.96 ms
    [0, 'samples', 100, '0 s'],
    // nanosecond samples (sampleRate 1e9)
    [12_300_000, 'samples', 1e9, '12.3 ms'],
    [12_345, 'samples', 1e9, '12.3 µs'],
    [5, 'samples', 1e9, '5 ns'],
    [1500, 'lock_nanoseconds', 0, '1.5 µs'],
    [2.5e9, 'lock_nanoseconds', 0, '2.5 s'],
    // bytes, 1024-based
    [0, 'bytes', 0, '0 B'],
    [512, 'bytes', 0, '512 B'],
    [1023, 'bytes', 0, '1023 B'],
    [1024, 'bytes', 0, '1 KiB'],
    [1536, 'bytes', 0, '1.5 KiB'],
    [10 * 1024 ** 2, 'bytes', 0, '10 MiB'],
    [3.5 * 1024 ** 3, 'bytes', 0, '3.5 GiB'],
    [1.25 * 1024 ** 4, 'bytes', 0, '1.25 TiB'],
    // counts
    [999, 'objects', 0, '999'],
    [1234, 'objects', 0, '1.23 K'],
    [1_234_567, 'goroutines', 0, '1.23 M'],
    [999_999, 'lock_samples', 0, '1 M'],
    [1500, 'samples', 0, '1.5 K'], // no sample rate: a count
    [2.5e9, 'whatever', 0, '2.5 G'],
    [7e12, 'objects', 0, '7 T'],
    [-1234, 'objects', 0, '-1.23 K'],
  ];
  for (const [v, u, r, want] of cases) {
    it(`${v} ${u} @${r} -> ${want}`, () => expect(formatValue(v, u, r)).toBe(want));
  }
});

describe('helpers', () => {
  it('sig3', () => {
    expect([sig3(0), sig3(1), sig3(1.5), sig3(12.34), sig3(123.4), sig3(0.01234), sig3(-2.5)]).toEqual([
      '0', '1', '1.5', '12.3', '123', '0.0123', '-2.5',
    ]);
  });
  it('unit kinds', () => {
    expect(unitKind('samples', 100)).toBe('time');
    expect(unitKind('samples', 0)).toBe('count');
    expect(unitKind('lock_nanoseconds', 0)).toBe('time');
    expect(unitKind('bytes', 0)).toBe('bytes');
    expect(unitKind('objects', 100)).toBe('count');
    expect(toSeconds(250, 'samples', 100)).toBe(2.5);
    expect(toSeconds(3e9, 'lock_nanoseconds', 0)).toBe(3);
    expect(toSeconds(3, 'objects', 0)).toBeNaN();
  });
  it('formatPercent', () => {
    expect(formatPercent(1, 3)).toBe('33.3%');
    expect(formatPercent(1, 8)).toBe('12.5%');
    expect(formatPercent(1, 1)).toBe('100%');
    expect(formatPercent(1, 2000)).toBe('0.05%');
    expect(formatPercent(1, 1e6)).toBe('<0.01%');
    expect(formatPercent(0, 5)).toBe('0%');
    expect(formatPercent(5, 0)).toBe('0%');
    expect(formatPercent(2, 3)).toBe('66.7%');
  });
  it('formatPointsChange', () => {
    expect(formatPointsChange(1.234)).toBe('+1.23 pp');
    expect(formatPointsChange(-0.5)).toBe('-0.5 pp');
    expect(formatPointsChange(0)).toBe('0 pp');
  });
});

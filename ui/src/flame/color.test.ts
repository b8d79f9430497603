import { describe, expect, it } from 'vitest';
import {
  DIFF_STEPS,
  diffBucket,
  diffChange,
  diffColor,
  hashString,
  lazyPackageColors,
  NEUTRAL_KEY,
  nodeColors,
  packageColor,
  packageKey,
  paletteCss,
  themeColors,
  type PaletteEntry,
} from './color';
import { fromFlamebearer, fromFolded } from './model';
import { doubleFb } from './testdata';

describe('packageKey', () => {
  const cases: [string, string][] = [
    ['net/http.(*conn).serve', 'net/http'],
    ['github.com/grafana/pyroscope/pkg/model.(*Tree).Merge', 'github.com/grafana/pyroscope/pkg/model'],
    ['runtime.mallocgc', 'runtime'],
    ['sync.(*Mutex).Lock', 'sync'],
    ['runtime.gcBgMarkWorker.func1', 'runtime'],
    ['main.main', 'main'],
    ['std::vector<int>::push_back', 'std'],
    ['std::__1::basic_string<char>::append(char const*)', 'std'],
    ['stackhouse::profile::Builder::Add(int)', 'stackhouse'],
    ['(anonymous namespace)::Worker::Run()', '(anonymous namespace)'],
    ['void ns::f()', 'ns'],
    ['<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop', 'alloc'],
    ['com.foo.Bar.baz', 'com.foo'],
    ['java.lang.Thread.run', 'java.lang'],
    ['java/lang/Thread.run', 'java/lang'],
    ['module.func', 'module'],
    ['requests.sessions.Session.send', 'requests.sessions'],
    ['libc.so.6', 'libc'],
    ['/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30', 'libstdc++'],
    ['libSystem.B.dylib', 'libSystem.B'],
    ['app/handlers/user.py:get_user', 'app/handlers/user'],
    ['[kernel.kallsyms]', 'kernel'],
    ['0x7f3a12', '0x'],
    ['malloc', 'malloc'],
    ['total', NEUTRAL_KEY],
    ['other', NEUTRAL_KEY],
  ];
  for (const [name, want] of cases) it(name, () => expect(packageKey(name)).toBe(want));
});

describe('package colours', () => {
  it('are stable, per package, warm, and themed', () => {
    expect(hashString('net/http')).toBe(hashString('net/http'));
    expect(packageColor('std', 'light')).toEqual(packageColor('std', 'light'));
    expect(packageColor('std', 'light')).not.toEqual(packageColor('std', 'dark'));
    // Functions of one package share a colour; distinct packages mostly differ.
    const k1 = packageKey('net/http.(*conn).serve'), k2 = packageKey('net/http.HandlerFunc.ServeHTTP');
    expect(packageColor(k1, 'light')).toEqual(packageColor(k2, 'light'));
    const keys = ['std', 'runtime', 'net/http', 'libc', 'com.foo', 'main', 'sync', 'io'];
    const distinct = new Set(keys.map((k) => packageColor(k, 'light').join(',')));
    expect(distinct.size).toBeGreaterThanOrEqual(7);
    // Warm: red dominates blue.
    for (const k of keys) {
      const [r, , b] = packageColor(k, 'light');
      expect(r).toBeGreaterThan(b);
    }
    expect(packageColor(NEUTRAL_KEY, 'dark')).toEqual(themeColors('dark').neutral);
  });
});

describe('diff colours', () => {
  it('normalises each side by its ticks', () => {
    expect(diffChange(10, 100, 20, 200)).toBe(0); // same share
    expect(diffChange(10, 100, 40, 200)).toBeCloseTo(0.5); // 10% -> 20%
    expect(diffChange(20, 100, 20, 200)).toBeCloseTo(-0.5); // 20% -> 10%
    expect(diffChange(0, 100, 5, 200)).toBe(1);
    expect(diffChange(5, 100, 0, 200)).toBe(-1);
    expect(diffChange(0, 100, 0, 200)).toBe(0);
  });
  it('quantises with a dead zone', () => {
    expect(diffBucket(0.01)).toBe(0);
    expect(diffBucket(0.05)).toBe(1);
    expect(diffBucket(-0.5)).toBe(-5);
    expect(diffBucket(1)).toBe(DIFF_STEPS);
    expect(diffBucket(-1)).toBe(-DIFF_STEPS);
    expect(diffColor(0, 'light')).toEqual(themeColors('light').neutral);
    expect(diffColor(DIFF_STEPS, 'light')).toEqual(themeColors('light').grew);
    expect(diffColor(-DIFF_STEPS, 'dark')).toEqual(themeColors('dark').shrank);
    const weak = diffColor(2, 'light'), strong = diffColor(8, 'light');
    expect(strong[0] - strong[1]).toBeGreaterThan(weak[0] - weak[1]); // redder
  });
  it('colours nodes of a diff model', () => {
    // a 60% -> 20% (shrank), b 40% -> 50% (grew), c new.
    const d = fromFlamebearer(doubleFb, 'double', 10, 20);
    const { ids, entries } = nodeColors(d, 'diff');
    const bucketOf = (i: number) => (entries[ids[i]] as { bucket: number }).bucket;
    expect([0, 1, 2, 3, 4].map(bucketOf)).toEqual([0, 0, -7, 2, DIFF_STEPS]);
    const css = paletteCss(entries, 'light');
    expect(css.normal).toHaveLength(2 * DIFF_STEPS + 1);
    expect(css.dimmed[0]).not.toBe(css.normal[0]);
  });
  it('resolves package colours on demand, as the eager ones', () => {
    const m = fromFolded('net/http.a;net/http.b 1\nstd::x 1\nstd::y;libc.so.6 1\n');
    const eager = nodeColors(m, 'package');
    const lazy = lazyPackageColors(m);
    expect([...lazy.ids].every((id) => id === -1)).toBe(true);
    expect(lazy.entries).toHaveLength(1); // only the neutral entry so far
    const keyOf = (c: { entries: PaletteEntry[]; ids: Int32Array }, i: number) => (c.entries[c.ids[i]] as { pkg: string }).pkg;
    const last = m.count - 1;
    lazy.resolve(last);
    expect(lazy.entries).toHaveLength(2);
    expect(keyOf(lazy, last)).toBe(keyOf(eager, last));
    for (let i = 0; i < m.count; i++) lazy.resolve(i);
    expect([...Array(m.count).keys()].map((i) => keyOf(lazy, i))).toEqual([...Array(m.count).keys()].map((i) => keyOf(eager, i)));
    expect(new Set(lazy.entries.map((e) => (e as { pkg: string }).pkg))).toEqual(new Set(eager.entries.map((e) => (e as { pkg: string }).pkg)));
  });
  it('colours a single model by package', () => {
    const m = fromFolded('net/http.a;net/http.b 1\nstd::x 1\n');
    const { ids, entries } = nodeColors(m, 'diff'); // falls back to packages
    const keyOf = (i: number) => (entries[ids[i]] as { pkg: string }).pkg;
    expect([...Array(m.count).keys()].map(keyOf)).toEqual([NEUTRAL_KEY, 'net/http', 'std', 'net/http']);
  });
});

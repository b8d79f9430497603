import { describe, expect, it } from 'vitest';
import {
  CharWidths,
  fitText,
  hitTest,
  KIND_ANCESTOR,
  KIND_BAR,
  KIND_SLIVER,
  layoutFlame,
  RectList,
  searchModel,
  viewWindow,
} from './layout';
import { fromFlamebearer, fromFolded, type Flamebearer, type FlameModel } from './model';

const nameOf = (m: FlameModel, i: number) => m.names[m.name[i]];

function rectsOf(m: FlameModel, r: RectList) {
  const out: { name: string | null; level: number; x: number; w: number; kind: number }[] = [];
  for (let k = 0; k < r.n; k++) {
    out.push({
      name: r.node[k] >= 0 ? nameOf(m, r.node[k]) : null,
      level: r.level[k],
      x: +r.x[k].toFixed(3),
      w: +r.w[k].toFixed(3),
      kind: r.kind[k],
    });
  }
  return out;
}

// total 100: main 80 (self 0): a 50 (self 30): b 20 ; c 30 ;  idle 20
const m = fromFolded('main;a 30\nmain;a;b 20\nmain;c 30\nidle 20\n');
const find = (name: string) => [...Array(m.count).keys()].find((i) => nameOf(m, i) === name)!;

describe('layoutFlame', () => {
  it('maps ticks to pixels without focus', () => {
    const r = layoutFlame(m, { width: 1000, focus: null }, new RectList(2));
    expect(rectsOf(m, r)).toEqual([
      { name: 'total', level: 0, x: 0, w: 1000, kind: KIND_BAR },
      { name: 'idle', level: 1, x: 0, w: 200, kind: KIND_BAR },
      { name: 'main', level: 1, x: 200, w: 800, kind: KIND_BAR },
      { name: 'a', level: 2, x: 200, w: 500, kind: KIND_BAR },
      { name: 'c', level: 2, x: 700, w: 300, kind: KIND_BAR },
      { name: 'b', level: 3, x: 500, w: 200, kind: KIND_BAR },
    ]);
  });

  it('zooms to the focus and shows ancestors full width', () => {
    const r = layoutFlame(m, { width: 1000, focus: find('a') }, new RectList());
    expect(rectsOf(m, r)).toEqual([
      { name: 'total', level: 0, x: 0, w: 1000, kind: KIND_ANCESTOR },
      { name: 'main', level: 1, x: 0, w: 1000, kind: KIND_ANCESTOR },
      { name: 'a', level: 2, x: 0, w: 1000, kind: KIND_BAR },
      { name: 'b', level: 3, x: 600, w: 400, kind: KIND_BAR },
    ]);
    expect(viewWindow(m, find('a'))).toEqual({ start: 20 + 0, span: 50 });
  });

  it('restricts to a level range', () => {
    const r = layoutFlame(m, { width: 100, focus: null, levelFrom: 2, levelTo: 2 }, new RectList());
    expect(rectsOf(m, r).map((q) => q.name)).toEqual(['a', 'c']);
  });

  it('merges runs of thin bars into one sliver that keeps their mass', () => {
    // big 1000 ticks, then 1000 bars of 1 tick: at 100 px each is 0.05 px.
    let text = 'big 1000\n';
    for (let i = 0; i < 1000; i++) text += `small${String(i).padStart(4, '0')} 1\n`;
    const t = fromFolded(text);
    const r = layoutFlame(t, { width: 100, focus: null }, new RectList());
    const lvl1 = rectsOf(t, r).filter((q) => q.level === 1);
    expect(lvl1).toHaveLength(2);
    expect(lvl1[0]).toEqual({ name: 'big', level: 1, x: 0, w: 50, kind: KIND_BAR });
    expect(lvl1[1].kind).toBe(KIND_SLIVER);
    expect(lvl1[1].name).toBeNull();
    expect(lvl1[1].x).toBeCloseTo(50, 6);
    expect(lvl1[1].w).toBeCloseTo(50, 6);
    // A thin bar next to wide ones stays a sliver of its own width.
    const u = fromFolded('a 1000\nb 1\nc 1000\n');
    const ur = rectsOf(u, layoutFlame(u, { width: 200, focus: null }, new RectList()));
    expect(ur.filter((q) => q.level === 1).map((q) => [q.name, q.kind])).toEqual([
      ['a', KIND_BAR],
      [null, KIND_SLIVER],
      ['c', KIND_BAR],
    ]);
  });

  it('touches only visible bars (focus hides siblings)', () => {
    const r = layoutFlame(m, { width: 1000, focus: find('c') }, new RectList());
    expect(rectsOf(m, r).map((q) => q.name)).toEqual(['total', 'main', 'c']);
  });

  it('returns nothing for zero width or empty models', () => {
    expect(layoutFlame(m, { width: 0, focus: null }, new RectList()).n).toBe(0);
    const e = fromFlamebearer({ names: [], levels: [], numTicks: 0, maxSelf: 0 }, 'single');
    expect(layoutFlame(e, { width: 100, focus: null }, new RectList()).n).toBe(0);
  });
});

describe('hitTest', () => {
  it('finds bars by row and x', () => {
    expect(hitTest(m, null, 1000, 18, 10, 5)).toBe(find('total'));
    expect(hitTest(m, null, 1000, 18, 199, 20)).toBe(find('idle'));
    expect(hitTest(m, null, 1000, 18, 200, 20)).toBe(find('main'));
    expect(hitTest(m, null, 1000, 18, 600, 18 * 3 + 1)).toBe(find('b'));
    expect(hitTest(m, null, 1000, 18, 300, 18 * 3 + 1)).toBeNull(); // a's self
    expect(hitTest(m, null, 1000, 18, 300, 18 * 9)).toBeNull(); // below
    expect(hitTest(m, null, 1000, 18, 1000, 5)).toBeNull(); // right of the canvas
  });
  it('follows the focus', () => {
    const a = find('a');
    expect(hitTest(m, a, 1000, 18, 900, 1)).toBe(find('total'));
    expect(hitTest(m, a, 1000, 18, 5, 19)).toBe(find('main'));
    expect(hitTest(m, a, 1000, 18, 5, 37)).toBe(a);
    expect(hitTest(m, a, 1000, 18, 700, 55)).toBe(find('b'));
    expect(hitTest(m, a, 1000, 18, 100, 55)).toBeNull();
  });
});

describe('searchModel', () => {
  it('counts nested matches once', () => {
    // f under f: the inner one is inside the outer's total.
    const s = fromFolded('main;f;g;f 4\nmain;f 1\nmain;xf 5\nmain;y 10\n');
    const r = searchModel(s, ' F ');
    expect(r.matches).toBe(3);
    expect(r.value).toBe(10); // outer f (5) + xf (5)
    expect(r.share).toBeCloseTo(0.5);
    expect(r.nodeMatch!.reduce((a, b) => a + b, 0)).toBe(3);
    expect(searchModel(s, '').nodeMatch).toBeNull();
    expect(searchModel(s, 'nothing').value).toBe(0);
  });
});

describe('fitText', () => {
  const cw = new CharWidths((s) => (s === '…' ? 5 : 7 * s.length));
  it('keeps text that fits and cuts the rest with an ellipsis', () => {
    expect(fitText('abcdef', 42, cw)).toBe('abcdef');
    expect(fitText('abcdef', 41, cw)).toBe('abcde…'); // 5*7 + 5 = 40
    expect(fitText('abcdef', 39, cw)).toBe('abcd…');
    expect(fitText('abcdef', 12, cw)).toBe('a…');
    expect(fitText('abcdef', 11, cw)).toBe('');
    expect(cw.text('abc')).toBe(21);
  });
});

/** A random-ish tree of about n nodes as a flamebearer (deterministic). */
function randomFlamebearer(n: number, seed = 1): Flamebearer {
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  // Build a tree: each node gets children until the budget is used.
  const kids: number[][] = [[]];
  const depth = [0];
  for (let i = 1; i < n; i++) {
    let p = Math.floor(rnd() ** 3 * i); // skewed towards early (shallow) nodes
    if (depth[p] > 60) p = 0;
    kids[p].push(i);
    kids.push([]);
    depth.push(depth[p] + 1);
  }
  const self = Array.from({ length: n }, () => 1 + Math.floor(rnd() * 5) + (rnd() < 0.05 ? 500 : 0));
  const total = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    total[i] += self[i];
    for (const c of kids[i]) total[i] += total[c];
  }
  // Lay out level by level: self first, then children.
  const levels: number[][] = [];
  const ends: number[] = [];
  let cur: { node: number; x: number }[] = [{ node: 0, x: 0 }];
  while (cur.length) {
    const lv: number[] = [];
    let end = 0;
    const next: { node: number; x: number }[] = [];
    for (const { node, x } of cur) {
      if (total[node] === 0) continue;
      lv.push(x - end, total[node], self[node], node % 500);
      end = x + total[node];
      let cx = x + self[node];
      for (const c of kids[node]) {
        next.push({ node: c, x: cx });
        cx += total[c];
      }
    }
    levels.push(lv);
    ends.push(end);
    cur = next;
  }
  const names = Array.from({ length: 500 }, (_, i) => (i === 0 ? 'total' : `pkg${i % 37}.fn${i}`));
  return { names, levels, numTicks: total[0], maxSelf: 0 };
}

describe('layout of 100k nodes', () => {
  it('stays proportional to what is visible', () => {
    const big = fromFlamebearer(randomFlamebearer(100_000), 'single');
    expect(big.count).toBeGreaterThan(90_000);
    const r = new RectList();
    layoutFlame(big, { width: 1500, focus: null }, r); // warm up
    const t0 = performance.now();
    const runs = 20;
    for (let i = 0; i < runs; i++) layoutFlame(big, { width: 1500, focus: null }, r);
    const ms = (performance.now() - t0) / runs;
    console.log(`layoutFlame: ${big.count} nodes, ${big.maxLevel + 1} levels -> ${r.n} rects in ${ms.toFixed(2)} ms`);
    // At most about one rect per pixel column per level.
    expect(r.n).toBeLessThan((big.maxLevel + 1) * 1500);
    expect(r.n).toBeGreaterThan(0);
    // The drawn width of each level never exceeds the canvas width.
    const perLevel = new Float64Array(big.maxLevel + 1);
    for (let k = 0; k < r.n; k++) perLevel[r.level[k]] += r.w[k];
    for (const w of perLevel) expect(w).toBeLessThanOrEqual(1500 + 1e-6);
    // Level 1 drawn width (bars + slivers) covers the children's mass.
    let l1 = 0;
    for (let i = big.levelStart[1]; i < big.levelStart[2]; i++) l1 += big.total[i];
    expect(perLevel[1]).toBeGreaterThan((l1 / big.numTicks) * 1500 - 1.5 * 2);
  });
});

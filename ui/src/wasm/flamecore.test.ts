import { beforeAll, describe, expect, it } from 'vitest';
import { decodeBinaryRender } from '../binary';
import { encodeBinaryRender } from '../binary_testutil';
import { layoutFlame, RectList } from '../flame/layout';
import type { FlameModel } from '../flame/model';
import { coreActive, coreReady, setCoreDisabled } from './flamecore';

// The WebAssembly loops must give exactly what the JavaScript ones give:
// both run on the same random profiles, malformed ones included.

function rng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 4294967296) * n);
  };
}

/** Random flamebearer levels (single): children inside their parents, gaps for self time. */
function randomLevels(r: (n: number) => number, unit: number): number[][] {
  const big = r(4) === 0;
  let bars = [{ x: 0, t: (big ? 2 ** 40 + r(2 ** 30) : 1 + r(100000)) }];
  const levels: number[][] = [];
  const depth = 1 + r(12);
  for (let l = 0; l < depth && bars.length > 0; l++) {
    const row: number[] = [];
    const next: { x: number; t: number }[] = [];
    let end = 0;
    for (const b of bars) {
      let at = b.x;
      const kids = r(5);
      let left = b.t;
      const before = next.length;
      for (let k = 0; k < kids && left > 1; k++) {
        const gap = r(3) === 0 ? r(Math.max(1, Math.floor(left / 4))) : 0;
        const t = 1 + r(Math.max(1, left - gap));
        if (gap + t > left) break;
        next.push({ x: at + gap, t });
        at += gap + t;
        left -= gap + t;
      }
      let self = b.t;
      for (let k = before; k < next.length; k++) self -= next[k].t;
      row.push((b.x - end) * unit, b.t * unit, self * unit, r(20));
      end = b.x + b.t;
    }
    levels.push(row);
    if (next.length > 300) break;
    // A wide level: many thin bars (slivers at most widths).
    bars = next.length > 0 && r(6) === 0 ? next.flatMap((c) => (c.t >= 64 ? Array.from({ length: 16 }, (_, i) => ({ x: c.x + i * Math.floor(c.t / 16), t: Math.floor(c.t / 16) })) : [c])) : next;
  }
  return levels;
}

const header = (numTicks: number) => ({
  flamebearer: { names: Array.from({ length: 20 }, (_, i) => `f${i}`), levels: [], numTicks, maxSelf: 0 },
  metadata: { format: 'single' },
});

function plain(m: FlameModel) {
  return {
    count: m.count, numTicks: m.numTicks, maxSelf: m.maxSelf, maxLevel: m.maxLevel,
    level: Array.from(m.level), x: Array.from(m.x), total: Array.from(m.total), self: Array.from(m.self),
    name: Array.from(m.name), parent: Array.from(m.parent), levelStart: Array.from(m.levelStart),
  };
}

/** decodeBinaryRender with the module and without: the model, or the error message. */
function bothWays(buf: ArrayBuffer): [unknown, unknown] {
  const run = (off: boolean) => {
    setCoreDisabled(off);
    try {
      return plain(decodeBinaryRender(buf.slice(0)).model!);
    } catch (e) {
      return { error: (e as Error).message };
    } finally {
      setCoreDisabled(false);
    }
  };
  return [run(false), run(true)];
}

function rects(r: RectList) {
  return { n: r.n, x: Array.from(r.x.subarray(0, r.n)), w: Array.from(r.w.subarray(0, r.n)),
    level: Array.from(r.level.subarray(0, r.n)), node: Array.from(r.node.subarray(0, r.n)), kind: Array.from(r.kind.subarray(0, r.n)) };
}

describe('flamecore (WebAssembly)', () => {
  beforeAll(async () => {
    await coreReady;
  });

  it('loads', () => {
    expect(coreActive()).toBe(true);
  });

  it('decodes binary render responses as the JavaScript does', () => {
    const r = rng(1);
    for (let i = 0; i < 300; i++) {
      const unit = r(3) === 0 ? 1e7 : 1;
      const levels = randomLevels(r, unit);
      const [wasm, js] = bothWays(encodeBinaryRender(header(r(2) ? 0 : 12345), levels, unit));
      expect(wasm).toEqual(js);
      expect(wasm).not.toHaveProperty('error');
    }
  });

  it('leaves malformed responses to the JavaScript, which reports them', () => {
    const r = rng(2);
    let errors = 0;
    for (let i = 0; i < 400; i++) {
      const b = new Uint8Array(encodeBinaryRender(header(0), randomLevels(r, 1)));
      const json = 9 + (b[5] | (b[6] << 8));
      let bad: Uint8Array;
      if (i % 3 === 0) bad = b.slice(0, json + r(b.length - json)); // truncated
      else {
        bad = b.slice();
        for (let k = 0; k < 1 + r(3); k++) bad[json + r(b.length - json)] = r(256); // bytes changed
      }
      const [wasm, js] = bothWays(bad.buffer as ArrayBuffer);
      expect(wasm).toEqual(js);
      if ((js as { error?: string }).error) errors++;
    }
    expect(errors).toBeGreaterThan(100);
    // Values of 2^53 and more (not exact in JavaScript) are the JavaScript's too.
    const [wasm, js] = bothWays(encodeBinaryRender(header(0), [[0, 2 ** 60, 0, 0]]));
    expect(wasm).toEqual(js);
  });

  it('lays out bars and slivers as the JavaScript does, with and without a focus', () => {
    const r = rng(3);
    let slivers = 0;
    let previous: FlameModel | null = null;
    for (let i = 0; i < 200; i++) {
      // Models the module decoded (laid out in their own memory) and models
      // JavaScript built (copied into a shared one); and an earlier model
      // again, after others were decoded.
      setCoreDisabled(i % 2 === 1);
      const fresh = decodeBinaryRender(encodeBinaryRender(header(0), randomLevels(r, 1))).model!;
      setCoreDisabled(false);
      const m = i % 5 === 4 && previous ? previous : fresh;
      previous = fresh;
      for (let j = 0; j < 4; j++) {
        const opt = {
          width: [1, 37, 800, 1280, 3000][r(5)],
          focus: r(3) === 0 || m.count === 0 ? null : r(m.count),
          minWidth: [0.5, 0.1, 3][r(3)],
          levelFrom: r(4) === 0 ? r(3) : undefined,
          levelTo: r(4) === 0 ? r(8) : undefined,
        };
        setCoreDisabled(true);
        const js = rects(layoutFlame(m, opt, new RectList(1)));
        setCoreDisabled(false);
        const wasm = rects(layoutFlame(m, opt, new RectList(1)));
        expect(wasm).toEqual(js);
        slivers += js.kind.filter((k) => k === 2).length;
      }
    }
    expect(slivers).toBeGreaterThan(100);
  });
});

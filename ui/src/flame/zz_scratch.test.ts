import { it } from 'vitest';
import { fromFlamebearer } from './model';
import { doubleFb, singleFb } from './testdata';
it('scratch', () => {
  const P = 999, C = 1000;
  const l1: number[] = [], l2: number[] = [];
  for (let p = 0; p < P; p++) { l1.push(0, C + 1, 1, 1); for (let c = 0; c < C; c++) l2.push(c === 0 ? 1 : 0, 1, 1, 2 + (c % 7)); }
  const fb = { names: ['total','parent','l0','l1','l2','l3','l4','l5','l6'], levels: [[0, P * (C + 1), 0, 0], l1, l2], numTicks: P * (C + 1), maxSelf: 1 };
  if (process.env.WARM) for (let i = 0; i < 3; i++) { fromFlamebearer(doubleFb, 'double'); fromFlamebearer(singleFb, 'single'); }
  const keep = [];
  for (let r = 0; r < 4; r++) {
    const t = performance.now(); keep.push(fromFlamebearer(fb, 'single')); const a = performance.now() - t;
    console.log('run', a.toFixed(1));
  }
});

// Exports of a model: folded stacks and speedscope's file format. Both walk
// self values (a node's self is the weight of the stack ending there); the
// synthetic "total" root is not a frame. Diff models export combined
// (left + right) values.

import { isSyntheticRoot, type FlameModel } from './model';
import { toSeconds, unitKind } from './format';

/** Stack (root first) of every node with self > 0, keyed by its folded path. */
function selfStacks(m: FlameModel): Map<string, { value: number; node: number }> {
  const paths: string[] = new Array(m.count);
  const acc = new Map<string, { value: number; node: number }>();
  for (let i = 0; i < m.count; i++) {
    if (isSyntheticRoot(m, i)) {
      paths[i] = '';
      continue;
    }
    const p = m.parent[i];
    const pp = p >= 0 ? paths[p] : '';
    const nm = m.names[m.name[i]] ?? '';
    paths[i] = pp ? pp + ';' + nm : nm;
    const v = m.self[i];
    if (v > 0) {
      const e = acc.get(paths[i]);
      if (e) e.value += v;
      else acc.set(paths[i], { value: v, node: i });
    }
  }
  return acc;
}

function sortedKeys(acc: Map<string, unknown>): string[] {
  return [...acc.keys()].sort();
}

/** "a;b;c value" lines (root first, self values), sorted, newline-terminated. */
export function toFolded(model: FlameModel): string {
  const acc = selfStacks(model);
  let out = '';
  for (const k of sortedKeys(acc)) out += k + ' ' + acc.get(k)!.value + '\n';
  return out;
}

export interface SpeedscopeFile {
  $schema: 'https://www.speedscope.app/file-format-schema.json';
  shared: { frames: { name: string }[] };
  profiles: {
    type: 'sampled';
    name: string;
    unit: 'nanoseconds' | 'bytes' | 'none';
    startValue: number;
    endValue: number;
    samples: number[][];
    weights: number[];
  }[];
  name: string;
  activeProfileIndex: number;
  exporter: string;
}

/**
 * A speedscope "sampled" profile: one sample per distinct stack, weighted by
 * its self value. Time units become nanoseconds (samples / sampleRate s,
 * lock_nanoseconds as is), bytes stay bytes, anything else is "none".
 */
export function toSpeedscope(model: FlameModel, name: string, units: string, sampleRate: number): SpeedscopeFile {
  const m = model;
  const kind = unitKind(units, sampleRate);
  const unit = kind === 'time' ? 'nanoseconds' : kind === 'bytes' ? 'bytes' : 'none';
  const weightOf = (v: number) => (kind === 'time' ? Math.round(toSeconds(v, units, sampleRate) * 1e9) : v);

  const frames: { name: string }[] = [];
  const frameOf = new Int32Array(m.names.length).fill(-1);
  const acc = selfStacks(m);
  const samples: number[][] = [];
  const weights: number[] = [];
  let endValue = 0;
  for (const k of sortedKeys(acc)) {
    const { value, node } = acc.get(k)!;
    const stack: number[] = [];
    for (let i = node; i >= 0 && !isSyntheticRoot(m, i); i = m.parent[i]) {
      const n = m.name[i];
      if (frameOf[n] < 0) {
        frameOf[n] = frames.length;
        frames.push({ name: m.names[n] ?? '' });
      }
      stack.push(frameOf[n]);
    }
    stack.reverse();
    const w = weightOf(value);
    samples.push(stack);
    weights.push(w);
    endValue += w;
  }
  return {
    $schema: 'https://www.speedscope.app/file-format-schema.json',
    shared: { frames },
    profiles: [{ type: 'sampled', name, unit, startValue: 0, endValue, samples, weights }],
    name,
    activeProfileIndex: 0,
    exporter: 'stackhouse',
  };
}

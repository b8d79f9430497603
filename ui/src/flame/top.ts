// The "top functions" table: per function name, self = sum of self over all
// its nodes; total = sum of totals over nodes with no ancestor of the same
// name (a recursive call's value is already inside its outer call's total).

import { childIndex, isSyntheticRoot, type FlameModel } from './model';

export interface TopRow {
  name: string;
  self: number;
  total: number;
  /** Diff models only. */
  leftSelf?: number;
  rightSelf?: number;
  leftTotal?: number;
  rightTotal?: number;
}

/**
 * One row per name, the synthetic "total" root excluded, sorted by self
 * then total (descending), then name.
 */
export function topTable(model: FlameModel): TopRow[] {
  const m = model;
  const nn = m.names.length;
  const diff = m.format === 'double' && !!m.leftTotal;
  const self = new Float64Array(nn), total = new Float64Array(nn);
  const lS = new Float64Array(diff ? nn : 0), rS = new Float64Array(diff ? nn : 0);
  const lT = new Float64Array(diff ? nn : 0), rT = new Float64Array(diff ? nn : 0);
  const seen = new Uint8Array(nn);
  const onPath = new Int32Array(nn); // occurrences of each name on the DFS path

  // Iterative DFS over the CSR children: a node is pushed as itself and
  // leaves a ~node marker to undo its onPath count after its subtree.
  const { start, list } = childIndex(m);
  const stack: number[] = [];
  const roots = m.maxLevel >= 0 ? m.levelStart[1] : 0;
  for (let r = roots - 1; r >= 0; r--) stack.push(r);
  while (stack.length) {
    const v = stack.pop()!;
    if (v < 0) {
      onPath[m.name[~v]]--;
      continue;
    }
    const k = m.name[v];
    const real = !isSyntheticRoot(m, v);
    if (real) {
      seen[k] = 1;
      self[k] += m.self[v];
      if (diff) {
        lS[k] += m.leftSelf![v];
        rS[k] += m.rightSelf![v];
      }
      if (onPath[k] === 0) {
        total[k] += m.total[v];
        if (diff) {
          lT[k] += m.leftTotal![v];
          rT[k] += m.rightTotal![v];
        }
      }
    }
    if (real) {
      onPath[k]++;
      stack.push(~v);
    }
    for (let c = start[v + 1] - 1; c >= start[v]; c--) stack.push(list[c]);
  }

  const rows: TopRow[] = [];
  for (let k = 0; k < nn; k++) {
    if (!seen[k]) continue;
    const row: TopRow = { name: m.names[k], self: self[k], total: total[k] };
    if (diff) {
      row.leftSelf = lS[k];
      row.rightSelf = rS[k];
      row.leftTotal = lT[k];
      row.rightTotal = rT[k];
    }
    rows.push(row);
  }
  rows.sort((a, b) => b.self - a.self || b.total - a.total || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return rows;
}

export interface ChangeRow {
  name: string;
  leftSelf: number;
  rightSelf: number;
  leftTotal: number;
  rightTotal: number;
  /**
   * Normalised change: right share minus left share, each side divided by
   * its own ticks (0.05 = five percentage points more of the profile).
   */
  change: number;
}

/**
 * The n functions of a diff model whose share changed most, by |change|,
 * measured on self (default: where the time itself is spent) or on total.
 * Single-format models have no sides and return [].
 */
export function biggestChanges(model: FlameModel, n: number, by: 'self' | 'total' = 'self'): ChangeRow[] {
  if (model.format !== 'double' || !model.leftTotal) return [];
  const lt = model.leftTicks, rt = model.rightTicks;
  const share = (v: number, t: number) => (t > 0 ? v / t : 0);
  const rows: ChangeRow[] = topTable(model).map((r) => {
    const l = by === 'self' ? r.leftSelf! : r.leftTotal!;
    const rr = by === 'self' ? r.rightSelf! : r.rightTotal!;
    return {
      name: r.name,
      leftSelf: r.leftSelf!,
      rightSelf: r.rightSelf!,
      leftTotal: r.leftTotal!,
      rightTotal: r.rightTotal!,
      change: share(rr, rt) - share(l, lt),
    };
  });
  rows.sort(
    (a, b) => Math.abs(b.change) - Math.abs(a.change) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  return rows.slice(0, Math.max(0, n));
}

// Sandwich view of one function: who calls it (callers, an inverted tree)
// and what it calls (callees), each as a single-format model rooted at the
// function. Recursion: only outermost occurrences (no ancestor of the same
// name) are used, because an inner occurrence's value is already inside the
// outer one's total; both trees' root totals are the function's total
// counted once. Diff models use combined (left + right) values.

import { childIndex, isSyntheticRoot, TreeBuilder, type FlameModel } from './model';

/** Nodes named `name` with no ancestor of that name (ascending index). */
export function outermostOccurrences(m: FlameModel, name: string): number[] {
  const id = m.names.indexOf(name);
  const out: number[] = [];
  if (id < 0) return out;
  // inside[i]: i or one of its ancestors is named `name`; parents come first.
  const inside = new Uint8Array(m.count);
  for (let i = 0; i < m.count; i++) {
    const p = m.parent[i];
    const above = p >= 0 && inside[p] === 1;
    if (m.name[i] === id) {
      inside[i] = 1;
      if (!above) out.push(i);
    } else if (above) {
      inside[i] = 1;
    }
  }
  return out;
}

export function sandwich(model: FlameModel, name: string): { callers: FlameModel; callees: FlameModel } {
  const occ = outermostOccurrences(model, name);
  const { start, list } = childIndex(model);

  // Callees: merge each occurrence's subtree under one root.
  const ce = new TreeBuilder(name);
  const idMap = new Int32Array(model.names.length).fill(-1);
  const nameIn = (b: TreeBuilder, k: number) => {
    if (idMap[k] < 0) idMap[k] = b.nameId(model.names[k]);
    return idMap[k];
  };
  const stackSrc: number[] = [];
  const stackDst: number[] = [];
  for (const o of occ) {
    stackSrc.push(o);
    stackDst.push(ce.root);
    while (stackSrc.length) {
      const s = stackSrc.pop()!, d = stackDst.pop()!;
      ce.addSelf(d, model.self[s]);
      for (let c = start[s]; c < start[s + 1]; c++) {
        const child = list[c];
        stackSrc.push(child);
        stackDst.push(ce.child(d, nameIn(ce, model.name[child])));
      }
    }
  }

  // Callers: walk up from each occurrence; the occurrence's total ends
  // (as self) at its outermost caller, the synthetic "total" root excluded.
  const cr = new TreeBuilder(name);
  idMap.fill(-1);
  for (const o of occ) {
    let d = cr.root;
    for (let p = model.parent[o]; p >= 0 && !isSyntheticRoot(model, p); p = model.parent[p]) {
      d = cr.child(d, nameIn(cr, model.name[p]));
    }
    cr.addSelf(d, model.total[o]);
  }
  return { callers: cr.build(), callees: ce.build() };
}

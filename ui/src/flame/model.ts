// The decoded flame graph: one flat typed array per node attribute, so a
// million nodes cost a few dozen MB and no per-node objects.
//
// Node order is level-major: the nodes of level L are the contiguous index
// range [levelStart[L], levelStart[L+1]), sorted by x, and never overlap
// (siblings and cousins on one level are disjoint intervals). A parent thus
// always has a smaller index than its children, so a single forward pass
// over the arrays visits parents before children.

export type FlameFormat = 'single' | 'double';

/** Pyroscope's flamebearer payload (the `flamebearer` member of /render). */
export interface Flamebearer {
  names: string[];
  /** Arrays or typed arrays (the binary render response decodes to Float64Arrays). */
  levels: ArrayLike<number>[];
  numTicks: number;
  maxSelf: number;
}

export interface FlameModel {
  format: FlameFormat;
  names: string[];
  /** Number of nodes. */
  count: number;
  level: Int32Array;
  /** Absolute start in ticks (combined left+right coordinates for diffs). */
  x: Float64Array;
  total: Float64Array;
  self: Float64Array;
  /** Index into `names`. */
  name: Int32Array;
  /** Parent node index, -1 for level-0 nodes. */
  parent: Int32Array;
  /** Per-side values; null for single-format models. */
  leftTotal: Float64Array | null;
  leftSelf: Float64Array | null;
  rightTotal: Float64Array | null;
  rightSelf: Float64Array | null;
  /** Width of the whole graph in ticks (leftTicks + rightTicks for diffs). */
  numTicks: number;
  maxSelf: number;
  /** Side totals of a diff; 0 for single-format models. */
  leftTicks: number;
  rightTicks: number;
  /** Deepest level index; -1 for an empty model. */
  maxLevel: number;
  /** Length maxLevel + 2: level L is [levelStart[L], levelStart[L + 1]). */
  levelStart: Int32Array;
}

/** A model of n nodes on `levels` levels, zeroed. */
export function allocModel(format: FlameFormat, names: string[], n: number, levels: number): FlameModel {
  const diff = format === 'double';
  return {
    format,
    names,
    count: n,
    level: new Int32Array(n),
    x: new Float64Array(n),
    total: new Float64Array(n),
    self: new Float64Array(n),
    name: new Int32Array(n),
    parent: new Int32Array(n),
    leftTotal: diff ? new Float64Array(n) : null,
    leftSelf: diff ? new Float64Array(n) : null,
    rightTotal: diff ? new Float64Array(n) : null,
    rightSelf: diff ? new Float64Array(n) : null,
    numTicks: 0,
    maxSelf: 0,
    leftTicks: 0,
    rightTicks: 0,
    maxLevel: levels - 1,
    levelStart: new Int32Array(levels + 1),
  };
}

/**
 * Decodes a flamebearer. "single": 4 ints per bar [xDelta, total, self, name];
 * "double": 7 ints [lxDelta, lTotal, lSelf, rxDelta, rTotal, rSelf, name],
 * each side delta-encoded against the end of the previous bar of the level on
 * that side. A node's parent is the bar of the level above whose
 * [x, x + total) holds the node's x (the last bar starting at or before x).
 * leftTicks/rightTicks default (when missing or 0) to the root's side totals.
 */
export function fromFlamebearer(
  fb: Flamebearer,
  format: FlameFormat,
  leftTicks?: number,
  rightTicks?: number,
): FlameModel {
  const diff = format === 'double';
  const stride = diff ? 7 : 4;
  const levels = fb.levels;
  // Trailing empty levels would only add blank rows.
  let numLevels = levels.length;
  while (numLevels > 0 && levels[numLevels - 1].length < stride) numLevels--;
  let n = 0;
  for (let l = 0; l < numLevels; l++) n += Math.floor(levels[l].length / stride);

  const m = allocModel(format, fb.names, n, numLevels);
  const { level, x, total, self, name, parent, levelStart } = m;
  let maxSelf = 0;
  let k = 0;
  for (let l = 0; l < numLevels; l++) {
    const v = levels[l];
    const len = v.length - (v.length % stride);
    levelStart[l] = k;
    // Two specialised loops keep the hot path free of format branches.
    if (diff) {
      const lt = m.leftTotal!, ls = m.leftSelf!, rt = m.rightTotal!, rs = m.rightSelf!;
      let lEnd = 0, rEnd = 0;
      for (let j = 0; j < len; j += 7, k++) {
        const lx = lEnd + v[j], ltot = v[j + 1], lself = v[j + 2];
        const rx = rEnd + v[j + 3], rtot = v[j + 4], rself = v[j + 5];
        lt[k] = ltot; ls[k] = lself; rt[k] = rtot; rs[k] = rself;
        lEnd = lx + ltot;
        rEnd = rx + rtot;
        x[k] = lx + rx;
        total[k] = ltot + rtot;
        self[k] = lself + rself;
        name[k] = v[j + 6];
        // Like Pyroscope, a diff's maxSelf is per side.
        if (lself > maxSelf) maxSelf = lself;
        if (rself > maxSelf) maxSelf = rself;
      }
    } else {
      let end = 0;
      for (let j = 0; j < len; j += 4, k++) {
        const xs = end + v[j], tot = v[j + 1], sf = v[j + 2];
        x[k] = xs;
        total[k] = tot;
        self[k] = sf;
        name[k] = v[j + 3];
        end = xs + tot;
        if (sf > maxSelf) maxSelf = sf;
      }
    }
    level.fill(l, levelStart[l], k);
    // Parents: merge-walk this level against the one above (both x-sorted).
    if (l === 0) {
      parent.fill(-1, 0, k);
    } else {
      const pe = levelStart[l];
      let p = levelStart[l - 1];
      if (p === pe) parent.fill(-1, pe, k); // empty level above (malformed)
      else {
        for (let i = pe; i < k; i++) {
          const xs = x[i];
          while (p + 1 < pe && x[p + 1] <= xs) p++;
          parent[i] = p;
        }
      }
    }
  }
  levelStart[numLevels] = k;

  m.maxSelf = Math.max(maxSelf, fb.maxSelf || 0);
  if (diff) {
    let rootL = 0, rootR = 0;
    for (let i = 0, e = numLevels > 0 ? levelStart[1] : 0; i < e; i++) {
      rootL += m.leftTotal![i];
      rootR += m.rightTotal![i];
    }
    // A missing (or 0) side total falls back to the root's side total.
    m.leftTicks = leftTicks || rootL;
    m.rightTicks = rightTicks || rootR;
    m.numTicks = m.leftTicks + m.rightTicks;
  } else {
    m.numTicks = fb.numTicks > 0 ? fb.numTicks : rootTotal(m);
  }
  return m;
}

/** Sum of the totals of the level-0 nodes (normally the single root). */
export function rootTotal(m: FlameModel): number {
  let s = 0;
  const e = m.maxLevel >= 0 ? m.levelStart[1] : 0;
  for (let i = 0; i < e; i++) s += m.total[i];
  return s;
}

/** True when node i is the synthetic "total" root, which exports skip. */
export function isSyntheticRoot(m: FlameModel, i: number): boolean {
  return m.level[i] === 0 && m.names[m.name[i]] === 'total';
}

/**
 * Children lists in CSR form: the children of node i are
 * list[start[i] .. start[i + 1]), sorted by x.
 */
export function childIndex(m: FlameModel): { start: Int32Array; list: Int32Array } {
  const n = m.count;
  const start = new Int32Array(n + 1);
  const parent = m.parent;
  for (let i = 0; i < n; i++) if (parent[i] >= 0) start[parent[i] + 1]++;
  for (let i = 0; i < n; i++) start[i + 1] += start[i];
  const fill = start.slice(0, n);
  const list = new Int32Array(start[n]);
  // Index order is level-major and x-sorted, so each list comes out sorted.
  for (let i = 0; i < n; i++) if (parent[i] >= 0) list[fill[parent[i]]++] = i;
  return { start, list };
}

/**
 * Builds a single-format model from a tree of named nodes, merging children
 * of the same name. Used by fromFolded and the sandwich view.
 */
export class TreeBuilder {
  readonly names: string[] = [];
  private nameIds = new Map<string, number>();
  private nodeName: number[] = [];
  private nodeParent: number[] = [];
  private nodeSelf: number[] = [];
  private kids: (Map<number, number> | undefined)[] = [];

  constructor(rootName = 'total') {
    this.add(this.nameId(rootName), -1);
  }

  /** The root is always node 0. */
  get root(): number {
    return 0;
  }

  nameId(s: string): number {
    let id = this.nameIds.get(s);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(s);
      this.nameIds.set(s, id);
    }
    return id;
  }

  private add(nameId: number, parent: number): number {
    const i = this.nodeName.length;
    this.nodeName.push(nameId);
    this.nodeParent.push(parent);
    this.nodeSelf.push(0);
    this.kids.push(undefined);
    return i;
  }

  /** The child of `node` named `nameId`, created if missing. */
  child(node: number, nameId: number): number {
    let m = this.kids[node];
    if (!m) this.kids[node] = m = new Map();
    let c = m.get(nameId);
    if (c === undefined) {
      c = this.add(nameId, node);
      m.set(nameId, c);
    }
    return c;
  }

  addSelf(node: number, v: number): void {
    this.nodeSelf[node] += v;
  }

  /**
   * Lays the tree out as Pyroscope does (a node's self first, then its
   * children in name order) and returns it as a model. Zero-total subtrees
   * other than the root are dropped.
   */
  build(): FlameModel {
    const cnt = this.nodeName.length;
    const tot = new Float64Array(cnt);
    // Children are created after their parents: a reverse pass sums totals.
    for (let i = cnt - 1; i >= 0; i--) {
      tot[i] += this.nodeSelf[i];
      if (i > 0) tot[this.nodeParent[i]] += tot[i];
    }
    const names = this.names;
    const bx = new Float64Array(cnt);
    const depth = new Int32Array(cnt);
    const order: number[] = []; // pre-order of kept nodes
    const stack = [0];
    let maxDepth = 0;
    while (stack.length) {
      const i = stack.pop()!;
      order.push(i);
      if (depth[i] > maxDepth) maxDepth = depth[i];
      const km = this.kids[i];
      if (!km) continue;
      const cs = [...km.values()].filter((c) => tot[c] > 0);
      cs.sort((a, b) => cmpStr(names[this.nodeName[a]], names[this.nodeName[b]]));
      let cx = bx[i] + this.nodeSelf[i];
      for (const c of cs) {
        bx[c] = cx;
        cx += tot[c];
        depth[c] = depth[i] + 1;
      }
      for (let j = cs.length - 1; j >= 0; j--) stack.push(cs[j]);
    }
    // Pre-order visits each level left to right: bucket by depth, stably.
    const n = order.length;
    const m = allocModel('single', names.slice(), n, maxDepth + 1);
    const ls = m.levelStart;
    for (const i of order) ls[depth[i] + 1]++;
    for (let l = 0; l <= maxDepth; l++) ls[l + 1] += ls[l];
    const fill = ls.slice(0, maxDepth + 1);
    const newIndex = new Int32Array(cnt);
    for (const i of order) newIndex[i] = fill[depth[i]]++;
    let maxSelf = 0;
    for (const i of order) {
      const k = newIndex[i];
      m.level[k] = depth[i];
      m.x[k] = bx[i];
      m.total[k] = tot[i];
      m.self[k] = this.nodeSelf[i];
      m.name[k] = this.nodeName[i];
      m.parent[k] = i === 0 ? -1 : newIndex[this.nodeParent[i]];
      if (this.nodeSelf[i] > maxSelf) maxSelf = this.nodeSelf[i];
    }
    m.maxSelf = maxSelf;
    m.numTicks = tot[0];
    return m;
  }
}

/** Code-unit string order (what Array.prototype.sort uses by default). */
export function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Parses folded stacks ("a;b;c 12" per line, root first; the value is the
 * last space-separated field) into a single-format model rooted at "total".
 * Lines without a numeric value are ignored; repeated stacks add up.
 */
export function fromFolded(text: string): FlameModel {
  const b = new TreeBuilder('total');
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const sp = line.lastIndexOf(' ');
    if (sp <= 0) continue;
    const v = Number(line.slice(sp + 1));
    if (!Number.isFinite(v) || v <= 0) continue;
    let node = b.root;
    for (const f of line.slice(0, sp).trimEnd().split(';')) {
      if (f !== '') node = b.child(node, b.nameId(f));
    }
    b.addSelf(node, v);
  }
  return b.build();
}

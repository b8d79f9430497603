// A node as a root-first path of frame names ("total" excluded), so that a
// focused frame survives in the URL and across reloads of the data.
import type { FlameModel } from '../flame';

export function nodePath(m: FlameModel, node: number): string {
  const parts: string[] = [];
  for (let n = node; n >= 0 && m.parent[n] >= 0; n = m.parent[n]) parts.push(m.names[m.name[n]]);
  return parts.reverse().join(';');
}

/** The node at a path, or null. The widest match wins among same-named siblings. */
export function findPath(m: FlameModel, path: string): number | null {
  if (!path) return null;
  const parts = path.split(';');
  // Start from the root (level 0, the "total" bar).
  let node = m.count > 0 ? 0 : -1;
  for (let depth = 0; depth < parts.length && node >= 0; depth++) {
    const level = depth + 1;
    if (level > m.maxLevel) return null;
    let best = -1;
    for (let i = m.levelStart[level]; i < m.levelStart[level + 1]; i++) {
      if (m.parent[i] === node && m.names[m.name[i]] === parts[depth] && (best < 0 || m.total[i] > m.total[best])) {
        best = i;
      }
    }
    node = best;
  }
  return node >= 0 ? node : null;
}

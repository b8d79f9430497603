import { describe, expect, it } from 'vitest';
import { fromFolded } from '../flame';
import { findPath, nodePath } from './paths';

describe('paths', () => {
  it('round-trips every node of a tree', () => {
    const m = fromFolded('main;serve;parse 3\nmain;serve;write 1\nmain;gc 2\nother;x 1\n');
    for (let i = 1; i < m.count; i++) {
      const p = nodePath(m, i);
      expect(findPath(m, p)).toBe(i);
    }
    expect(nodePath(m, 0)).toBe('');
    expect(findPath(m, 'main;nope')).toBeNull();
    expect(findPath(m, '')).toBeNull();
  });
});

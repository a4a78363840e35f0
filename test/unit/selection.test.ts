import { describe, expect, it } from 'vitest';
import { moveByKey, movedIndex, moveFor } from '../../src/store/selection.js';

describe('list selection', () => {
  it('maps navigation actions to moves and ignores the rest', () => {
    expect([moveFor('up'), moveFor('down'), moveFor('top'), moveFor('bottom'), moveFor('start')]).toEqual([-1, 1, 'top', 'bottom', null]);
  });

  it('clamps moves to the rows there are', () => {
    expect(movedIndex(0, 3, -1)).toBe(0);
    expect(movedIndex(2, 3, 1)).toBe(2);
    expect(movedIndex(1, 3, 'top')).toBe(0);
    expect(movedIndex(0, 3, 'bottom')).toBe(2);
    expect(movedIndex(-1, 3, 1)).toBe(1);
    expect(movedIndex(0, 0, 1)).toBe(-1);
  });

  it('moves a selection kept by key, from the first row when the key is gone', () => {
    expect(moveByKey(['a', 'b', 'c'], 'b', 1)).toBe('c');
    expect(moveByKey(['a', 'b', 'c'], 'gone', 1)).toBe('b');
    expect(moveByKey([], 'a', 1)).toBeNull();
  });
});

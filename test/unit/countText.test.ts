import { describe, expect, it } from 'vitest';
import type { PruneResult } from '../../src/jobs/prune.js';
import { countOf } from '../../src/model/countText.js';
import { pruneConfirmLines } from '../../src/store/backupsText.js';

describe('counts in sentences', () => {
  it('one is singular, any other number plural', () => {
    expect(countOf(1, 'key')).toBe('1 key');
    expect(countOf(0, 'key')).toBe('0 keys');
    expect(countOf(2, 'directory', 'directories')).toBe('2 directories');
  });
  it('the prune confirmation says "This directory is" for one, "These 2 directories are" for two', () => {
    const item = (name: string) => ({ guest: 'web', name, kind: 'run' as const, action: 'remove' as const, reason: 'retention' as const });
    const result = (names: string[]) => ({ dest: '/b', items: names.map(item), removed: [], dryRun: true }) as unknown as PruneResult;
    expect(pruneConfirmLines(result(['r1']))[0]).toBe('This directory is deleted from /b:');
    expect(pruneConfirmLines(result(['r1', 'r2']))[0]).toBe('These 2 directories are deleted from /b:');
  });
});

/** The domain XML before and after an edit, as the diff dialog shows it: unified, two lines of context. */
import { createTwoFilesPatch } from 'diff';

export function unifiedDiff(name: string, before: string, after: string): string[] {
  const patch = createTwoFilesPatch(`${name}.xml (now)`, `${name}.xml (new)`, before, after, undefined, undefined, { context: 2 });
  return patch
    .split('\n')
    .filter((l) => !l.startsWith('====='))
    .filter((l, i, all) => l !== '' || i < all.length - 1);
}

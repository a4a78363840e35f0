import { describe, expect, it } from 'vitest';
import { hasControlCharacters, shown, shownLines } from '../../src/model/shown.js';

describe('shown', () => {
  it.each([
    ['evil\u001b]2;owned\u0007name', 'evil\\x1b]2;owned\\x07name'],
    ['clip\u001b]52;c;aGk=\u001b\\', 'clip\\x1b]52;c;aGk=\\x1b\\'],
    ['csi\u009b31m', 'csi\\x9b31m'],
    ['del\u007f', 'del\\x7f'],
    ['nul\u0000tab\tcr\rlf\n', 'nul\\x00tab\\tcr\\rlf\\n'],
    ['bidi\u202eexe.txt', 'bidi\\u202eexe.txt'],
  ])('writes out the control characters of %j', (input, out) => {
    expect(shown(input)).toBe(out);
    expect(hasControlCharacters(input)).toBe(true);
    expect(hasControlCharacters(shown(input))).toBe(false);
  });

  it('leaves ordinary text, accents and wide characters alone', () => {
    for (const s of ['Windows Server 2019 Standard', 'Ubuntu 22.04.3 LTS', 'données été', '数据', '/srv/vm/a b.qcow2']) {
      expect(shown(s)).toBe(s);
      expect(hasControlCharacters(s)).toBe(false);
    }
  });

  it('keeps line breaks of multi-line text but no other control byte', () => {
    expect(shownLines('a\r\nb\u001b[2Jc\n')).toBe('a\nb\\x1b[2Jc\n');
  });
});

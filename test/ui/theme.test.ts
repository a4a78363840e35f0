import { describe, expect, test } from 'vitest';
import { chooseTheme, colorFor, effectiveLocale } from '../../src/ui/theme.js';

describe('chooseTheme', () => {
  test.each([
    [{ TERM: 'xterm-256color', LANG: 'en_US.UTF-8' }, false, true],
    [{ TERM: 'linux', LANG: 'en_US.UTF-8' }, true, true],
    [{ TERM: 'xterm', LANG: 'de_DE.ISO-8859-1' }, true, true],
    [{ TERM: 'xterm', LANG: 'en_US.UTF-8', LC_ALL: 'C' }, true, true],
    [{ TERM: 'xterm', LANG: 'C', LC_CTYPE: 'C.utf8' }, false, true],
    [{ TERM: 'xterm' }, true, true],
    [{ TERM: 'xterm', LANG: 'C.UTF-8', NO_COLOR: '1' }, false, false],
    [{ TERM: 'xterm', LANG: 'C.UTF-8', NO_COLOR: '' }, false, true],
    [{ TERM: 'linux', LANG: 'C', NO_COLOR: 'yes' }, true, false],
  ])('%j → ascii %s, colour %s', (env, ascii, color) => {
    const t = chooseTheme(env);
    expect(t.ascii).toBe(ascii);
    expect(t.color).toBe(color);
  });

  test('ASCII uses +-| and words for symbols', () => {
    const t = chooseTheme({ TERM: 'linux', LANG: 'C' });
    expect(t.borderStyle).toBe('classic');
    expect(Object.values(t.frame).join('')).toMatch(/^[+|-]+$/);
    expect(t.symbols.ok).toBe('[ok]');
    expect(t.symbols.warn).toBe('[!]');
    for (const s of Object.values(t.symbols)) expect(s).toMatch(/^[\x20-\x7e]*$/);
  });

  test('no colours at all under NO_COLOR', () => {
    const t = chooseTheme({ NO_COLOR: '1', LANG: 'C.UTF-8' });
    expect(colorFor(t, 'error')).toBeUndefined();
    expect(colorFor(chooseTheme({ LANG: 'C.UTF-8' }), 'error')).toBe('red');
  });

  test('LC_ALL wins over LC_CTYPE over LANG', () => {
    expect(effectiveLocale({ LANG: 'a', LC_CTYPE: 'b', LC_ALL: 'c' })).toBe('c');
    expect(effectiveLocale({ LANG: 'a', LC_CTYPE: 'b' })).toBe('b');
    expect(effectiveLocale({})).toBe('C');
  });
});

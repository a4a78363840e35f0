import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gfArgvWordProblem, gfLine, gfScript, gfWord, isPlainDevice } from '../../src/model/guestfishWords.js';
import { UserError } from '../../src/model/userError.js';

/** guestfish's parse_quoted_string (fish/fish.c), for a word gfWord wrote: the bytes guestfish passes on. */
function guestfishReads(word: string): string {
  expect(word.startsWith('"') && word.endsWith('"')).toBe(true);
  const body = word.slice(1, -1);
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    expect(c).not.toBe('"');
    if (c !== '\\') {
      bytes.push(c.charCodeAt(0));
      continue;
    }
    const e = body[++i];
    if (e === '\\') bytes.push(0x5c);
    else if (e === '"') bytes.push(0x22);
    else if (e === 'x') {
      bytes.push(Number.parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else throw new Error(`unexpected escape \\${e}`);
  }
  return Buffer.from(bytes).toString('utf8');
}

const HOSTILE = [
  'x | touch /root.owned',
  '|touch x',
  '"; !touch x; "',
  '<! cat /etc/shadow',
  '!reboot',
  'a\nrun\n!touch x',
  'a"b\\c',
  '~root/x',
  '$HOME $(id) `id`',
  'tab\there',
  'bell\u0007 esc\u001b]2;title\u0007',
  'del\u007f c1\u0085',
  'ünïcødé ☃ 𝄞',
  '\\',
  '\\x41',
  '',
  ':',
  '-',
];

describe('gfWord: one guestfish word, whatever the text', () => {
  it.each(HOSTILE)('%j is read back by guestfish exactly, from a line of printable ASCII', (text) => {
    const w = gfWord(text);
    expect(w).toMatch(/^"[\x20-\x7e]*"$/);
    expect(guestfishReads(w)).toBe(text);
  });

  it('any text without NUL: printable ASCII, no bare quote, read back unchanged', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }).filter((s) => !s.includes('\0')), (text) => {
        const w = gfWord(text);
        expect(w).toMatch(/^"[\x20-\x7e]*"$/);
        // A lone surrogate cannot be written in UTF-8; it reaches guestfish as U+FFFD.
        expect(guestfishReads(w)).toBe(Buffer.from(text, 'utf8').toString('utf8'));
      }),
    );
  });

  it('refuses a NUL (guestfish would cut the word there) with a UserError', () => {
    expect(() => gfWord('a\0b')).toThrow(UserError);
  });

  it('gfLine quotes every argument and only accepts command names virtdeck writes', () => {
    expect(gfLine('-inspect-get-type', 'btrfsvol:/dev/sda1/x | touch y')).toBe('-inspect-get-type "btrfsvol:/dev/sda1/x | touch y"');
    expect(gfScript([['run'], ['mount-ro', '/dev/sda1', '/']])).toBe('run\nmount-ro "/dev/sda1" "/"\n');
    expect(() => gfLine('!touch', 'x')).toThrow();
    expect(() => gfLine('<!', 'cat x')).toThrow();
    expect(() => gfLine('echo x | touch y')).toThrow();
  });
});

describe('guest names on a guestfish command line', () => {
  it('a lone ":" (the command separator) and NUL are named as problems; anything else is one argv word', () => {
    expect(gfArgvWordProblem(':')).toMatch(/another command/);
    expect(gfArgvWordProblem('/a\0b')).toMatch(/NUL/);
    expect(gfArgvWordProblem('/dev/vg/root')).toBeNull();
    expect(gfArgvWordProblem('/x | touch y\n!z')).toBeNull();
  });

  it.each(['/dev/sda1', '/dev/sdb12', '/dev/vg/root', '/dev/vg_sys-1/lv.root+x', '/dev/Vol00/Log_Vol01'])('%s is a device a grow passes on', (d) => {
    expect(isPlainDevice(d)).toBe(true);
  });

  it.each(['/dev/vg/x | touch y', '/dev/vg/:', ':', '/dev/vg/-rf', '/dev/-vg/root', '/dev/../etc/x', '/dev/vg/..', 'btrfsvol:/dev/sda1/x', '/dev/vg/root\n!x', '/dev/vg/a b', '/dev/a/b/c'])(
    '%j is refused',
    (d) => {
      expect(isPlainDevice(d)).toBe(false);
    },
  );
});

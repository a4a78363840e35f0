/**
 * The known-error catalog is matched against stderr of every failed command and every log line,
 * text a guest, an image or a remote host can shape (a file name inside a qemu-img message, a QEMU
 * log line). Whatever it is: an explanation or null, never a throw, and never slow (a pattern
 * that backtracks catastrophically would show as one input over the time limit).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { explain } from '../../src/host/errors.js';
import { explainKnown, KNOWN_ERROR_CATALOG, matchable, matchingEntries } from '../../src/model/knownErrors.js';
import { anyText, hostileWord, onlyTyped, runs } from '../helpers/fuzz.js';

const samples = KNOWN_ERROR_CATALOG.map((e) => e.sample);

/** A catalog sample cut, spliced with hostile words and repeated: close to a match, and long. */
const nearMiss = fc
  .tuple(fc.constantFrom(...samples), fc.nat(), fc.nat(), fc.array(fc.oneof(hostileWord, fc.constantFrom("'", ':', ' ', '\n', 'qemu-img: ', 'error: ', "Could not open '")), { maxLength: 6 }), fc.integer({ min: 1, max: 200 }))
  .map(([s, a, b, words, times]) => {
    const cut = s.slice(Math.min(a, b) % (s.length + 1), Math.max(a, b) % (s.length + 1));
    return (cut + words.join('')).repeat(times).slice(0, 20_000);
  });

const command = fc.array(fc.oneof(fc.constantFrom('virsh', 'qemu-img', '-c', '--domain', 'qemu+ssh://root@h/system', 'ssh', 'guestfish'), hostileWord), { maxLength: 6 });

describe('fuzz: known-error matcher', () => {
  it('explainKnown and explain on any stderr: an explanation or null, each under the time limit', () => {
    fc.assert(
      fc.property(fc.oneof(anyText(2000), nearMiss, fc.constantFrom(...samples)), command, fc.integer(), (text, argv, code) => {
        const known = onlyTyped(() => explainKnown(text, { command: argv, guest: argv[1] ?? null }), []);
        if (known) expect(typeof known.sentence === 'string' && typeof known.fix === 'string').toBe(true);
        onlyTyped(() => matchingEntries(text), []);
        onlyTyped(() => explain(argv, text, code), []);
      }),
      runs(400),
    );
  });

  it('every catalog pattern, on what the matcher lets through of 100 000 characters of its sample repeated, cut or padded', () => {
    const pads = ["'", 'x', ' ', ':', "domain '", "qemu-img: Could not open '", "Failed to resume domain 'a' "];
    for (const e of KNOWN_ERROR_CATALOG) {
      const half = e.sample.slice(0, e.sample.length >> 1);
      const texts = [e.sample.repeat(2_000), e.sample.slice(0, -1).repeat(2_000), ...pads.map((p) => `${half}${p.repeat(100_000 / p.length)}`), ...pads.map((p) => `${p.repeat(100_000 / p.length)}${e.sample}`)];
      for (const text of texts) onlyTyped(() => e.regex.test(matchable(text.slice(0, 100_000))), []);
    }
  });
});

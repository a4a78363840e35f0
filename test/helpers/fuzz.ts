/**
 * Shared pieces of the parser fuzz tests (test/security/fuzz*.test.ts): what a parser of outside
 * input may throw (its typed refusal, never a TypeError, RangeError or a zod error), and the
 * arbitraries every file uses for "anything at all".
 */
import fc from 'fast-check';
import { HostError } from '../../src/host/errors.js';
import { UserError } from '../../src/model/userError.js';

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Runs `fn`; a result or one of the `allowed` errors passes. Anything else is rethrown with its
 * class named, so fast-check shrinks to the input that produced it.
 */
export function onlyTyped<T>(fn: () => T, allowed: ErrorClass[] = [UserError]): T | undefined {
  const started = performance.now();
  try {
    return fn();
  } catch (e) {
    if (allowed.some((c) => e instanceof c)) return undefined;
    const name = e instanceof Error ? e.constructor.name : typeof e;
    throw new Error(`threw ${name} instead of ${allowed.map((c) => c.name).join(' or ')}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  } finally {
    tookTooLong(performance.now() - started);
  }
}

/**
 * Inputs here are a few KB at most: a parser that needs seconds for one is super-linear (a
 * backtracking regex, a quadratic loop), which a larger hostile file turns into a hang.
 */
export const SLOW_MS = 2_000;

function tookTooLong(ms: number): void {
  if (ms > SLOW_MS) throw new Error(`one input took ${Math.round(ms)} ms (limit ${SLOW_MS} ms)`);
}

export async function onlyTypedAsync<T>(fn: () => Promise<T>, allowed: ErrorClass[] = [UserError]): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    if (allowed.some((c) => e instanceof c)) return undefined;
    const name = e instanceof Error ? e.constructor.name : typeof e;
    throw new Error(`threw ${name} instead of ${allowed.map((c) => c.name).join(' or ')}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

export { HostError, UserError };

/** Any text: every code unit (lone surrogates too), as a file read as UTF-8 or a pipe can give. */
export const anyText = (maxLength = 400) => fc.string({ unit: 'binary', maxLength });

/** Arbitrary bytes decoded the two ways virtdeck reads files: UTF-8 (with U+FFFD) and latin1. */
export const anyBytesAsText = (maxLength = 400) =>
  fc.tuple(fc.uint8Array({ maxLength }), fc.boolean()).map(([b, utf8]) => Buffer.from(b).toString(utf8 ? 'utf8' : 'latin1'));

/** Short hostile words: quotes, escapes, control and bidi characters, separators, huge numbers. */
export const hostileWord = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '"',
    "'",
    '\\',
    '|',
    '|00',
    '|0a',
    '|22',
    '#',
    '=',
    '\u0000',
    '\u001b]2;owned\u0007',
    '\u009b',
    '\u202e',
    '\ud800',
    '\ufeff',
    '../../etc/shadow',
    '/etc/shadow',
    '-oProxyCommand=touch /tmp/x',
    '$(touch /tmp/x)',
    '`id`',
    '&amp;',
    '&#0;',
    '&#99999999;',
    '&#x110000;',
    '&bogus;',
    ']]>',
    '<!--',
    '<',
    '>',
    '%s%n',
    'NaN',
    'Infinity',
    '-1',
    '0',
    '1e309',
    '99999999999999999999999',
    '0x10',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
  ),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.nat().map(String),
);

/** fast-check settings: enough runs to find the classes of bugs, few enough that a file stays well under 10 s. */
export const runs = (numRuns: number) => ({ numRuns });

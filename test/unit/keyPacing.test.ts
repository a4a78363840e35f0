import { EventEmitter } from 'node:events';
import { describe, expect, test } from 'vitest';
import { ESCAPE_WAIT_MS, paceKeys, splitKeys } from '../../src/ui/keyPacing.js';

describe('splitKeys', () => {
  test.each([
    ['\r5', ['\r', '5'], false],
    ['/web\r', ['/', 'w', 'e', 'b', '\r'], false],
    ['\u001B[A\u001B[Bj', ['\u001B[A', '\u001B[B', 'j'], false],
    ['\u001B[1;5C\u001BOP', ['\u001B[1;5C', '\u001BOP'], false],
    ['\u001B[[A', ['\u001B[[A'], false], // the Linux console's F1
    ['\u001B\u001B[A', ['\u001B\u001B[A'], false], // Alt-Up
    ['\u001Bx', ['\u001Bx'], false], // Alt-x
    ['\u001B[3~\u007F', ['\u001B[3~', '\u007F'], false],
    ['é😀', ['é', '😀'], false],
    ['a\u001B', ['a', '\u001B'], true],
    ['a\u001B[1;', ['a', '\u001B[1;'], true],
  ])('%j', (chunk, keys, partial) => {
    expect(splitKeys(chunk)).toEqual({ keys, partial });
  });
});

/**
 * A stream like a tty in paused mode: chunks queue up; read() returns all that is queued; and,
 * as Node's streams do, it announces new data only once a read has found it empty.
 */
class FakeTty extends EventEmitter {
  private buffered: string[] = [];
  private needReadable = true;
  get readableLength(): number {
    return this.buffered.join('').length;
  }
  arrive(chunk: string) {
    this.buffered.push(chunk);
    if (this.needReadable) {
      this.needReadable = false;
      this.emit('readable');
    }
  }
  read(): string | null {
    if (this.buffered.length === 0) {
      this.needReadable = true;
      return null;
    }
    const all = this.buffered.join('');
    this.buffered = [];
    return all;
  }
}

/** Reads like Ink does: on each 'readable', read() until null; records what each turn got. */
function inkLikeReader(stream: FakeTty) {
  const turns: string[][] = [];
  stream.on('readable', () => {
    const got: string[] = [];
    for (let c = stream.read(); c !== null; c = stream.read()) got.push(c);
    if (got.length > 0) turns.push(got);
  });
  return turns;
}

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('paceKeys', () => {
  test('one key per turn, in order, none at once: each waits a timer turn', async () => {
    const tty = new FakeTty();
    const turns = inkLikeReader(tty);
    const restore = paceKeys(tty);
    tty.arrive('\r5\u001B[B');
    // Not in the event that brought it: a render scheduled just before must run first.
    expect(turns).toEqual([]);
    for (let i = 0; i < 5; i++) await tick();
    expect(turns).toEqual([['\r'], ['5'], ['\u001B[B']]);
    restore();
  });

  test('keys arriving while one is held wait their turn, none lost', async () => {
    const tty = new FakeTty();
    const turns = inkLikeReader(tty);
    const restore = paceKeys(tty);
    tty.arrive('ab');
    tty.arrive('c');
    await tick();
    // A key of its own read after the held one: the stream announces it only if it was drained.
    tty.arrive('d');
    await tick();
    tty.arrive('\u001B');
    for (let i = 0; i < 8; i++) await tick();
    expect(turns.flat().join('')).toBe('abcd\u001B');
    expect(turns.every((t) => t.length === 1)).toBe(true);
    restore();
  });

  test('a sequence split across reads is joined; a lone ESC is Escape after the wait', async () => {
    const tty = new FakeTty();
    const turns = inkLikeReader(tty);
    const restore = paceKeys(tty);
    tty.arrive('\u001B[');
    await tick(2);
    tty.arrive('A');
    await tick(ESCAPE_WAIT_MS + 10);
    expect(turns).toEqual([['\u001B[A']]);
    tty.arrive('\u001B');
    await tick(2);
    expect(turns).toHaveLength(1);
    await tick(ESCAPE_WAIT_MS + 10);
    expect(turns).toEqual([['\u001B[A'], ['\u001B']]);
    restore();
  });

  test('restore puts the original read back and drops waiting keys', async () => {
    const tty = new FakeTty();
    const own = tty.read;
    const turns = inkLikeReader(tty);
    const restore = paceKeys(tty);
    tty.arrive('xyz');
    restore();
    expect(tty.read).toBe(own);
    await tick();
    expect(turns).toEqual([]);
  });
});

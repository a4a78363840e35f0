import { EventEmitter } from 'node:events';
import { expect, test } from 'vitest';
import { UserError } from '../../src/model/userError.js';
import { assertInteractive, ENTER_ALT_SCREEN, fullScreen, handOffTerminal, LEAVE_ALT_SCREEN } from '../../src/ui/terminal.js';

function fakeIo() {
  const log: string[] = [];
  const stdin = Object.assign(new EventEmitter(), {
    isTTY: true,
    setRawMode: (on: boolean) => log.push(`raw:${on}`),
    pause: () => log.push('pause'),
  }) as unknown as NodeJS.ReadStream;
  const stdout = { write: (s: string) => log.push(JSON.stringify(s)) } as unknown as NodeJS.WriteStream;
  return { log, stdin, stdout };
}

test('hand-off leaves raw mode and the alternate screen, stops reading, and comes back', async () => {
  const io = fakeIo();
  const code = await handOffTerminal(io, async () => {
    io.log.push('child');
    return 0;
  });
  expect(code).toBe(0);
  const i = (s: string) => io.log.findIndex((l) => l.includes(JSON.stringify(s).slice(1, -1)) || l === s);
  expect(i('raw:false')).toBeLessThan(i('child'));
  expect(i('pause')).toBeLessThan(i('child'));
  expect(i(LEAVE_ALT_SCREEN)).toBeLessThan(i('child'));
  expect(i(ENTER_ALT_SCREEN)).toBeGreaterThan(i('child'));
});

test('hand-off restores the screen when the child fails', async () => {
  const io = fakeIo();
  await expect(handOffTerminal(io, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  expect(io.log.at(-1)).toContain('1049h');
});

test('no TTY: one sentence and the fix', () => {
  const stdin = { isTTY: false } as unknown as NodeJS.ReadStream;
  expect(() => assertInteractive(stdin)).toThrow(UserError);
  expect(() => assertInteractive(stdin)).toThrow(/not a TTY/);
});

test('leaving the full screen twice writes once', () => {
  const io = fakeIo();
  const screen = fullScreen(io.stdout);
  screen.enter();
  screen.leave();
  screen.leave();
  expect(io.log.filter((l) => l.includes('1049l'))).toHaveLength(1);
});

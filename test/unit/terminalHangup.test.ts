/**
 * A hang-up (SIGHUP, or SIGTERM) lets the job on screen settle before the terminal is restored and
 * virtdeck exits; a second signal, or SIGINT, leaves at once (issue 13 item 4).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { installRestoreHandlers } from '../../src/ui/terminal.js';

describe('installRestoreHandlers and a hang-up', () => {
  let uninstall: () => void = () => {};
  afterEach(() => uninstall());

  function install(settle?: () => Promise<unknown>) {
    const seen: string[] = [];
    uninstall = installRestoreHandlers(() => seen.push('restore'), { settle, exit: (code) => seen.push(`exit ${code}`) });
    return seen;
  }

  it('SIGHUP: settles first, then restores and exits 129', async () => {
    let release: () => void = () => {};
    const seen = install(() => {
      seen.push('settle');
      return new Promise<void>((r) => {
        release = r;
      });
    });
    process.emit('SIGHUP');
    expect(seen).toEqual(['settle']);
    release();
    await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual(['settle', 'restore', 'exit 129']);
  });

  it('a second signal while settling leaves at once', () => {
    const seen = install(() => new Promise(() => {}));
    process.emit('SIGTERM');
    process.emit('SIGHUP');
    expect(seen).toEqual(['restore', 'exit 129']);
  });

  it('SIGINT, and any signal without a settle, leave at once', () => {
    const seen = install(() => new Promise(() => {}));
    process.emit('SIGINT');
    expect(seen).toEqual(['restore', 'exit 130']);
    uninstall();
    const plain = install();
    process.emit('SIGHUP');
    expect(plain).toEqual(['restore', 'exit 129']);
  });
});

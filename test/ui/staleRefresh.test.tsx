import { cleanup } from 'ink-testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { renderApp } from './helpers.js';

/**
 * The tabs line says the minute of the last update while the data is fresh; when no refresh has
 * succeeded for a few poll intervals (a round that hangs fails nothing), it says so in words, with
 * the second the data froze at: with NO_COLOR and on a Linux console as well. Rounds are held here
 * at the one call a refresh makes.
 */
const gate = vi.hoisted(() => ({ held: false, release: [] as (() => void)[] }));

vi.mock('../../src/host/virsh.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/host/virsh.js')>();
  return {
    ...real,
    listGuestsWithStats: async (...args: Parameters<typeof real.listGuestsWithStats>) => {
      if (gate.held) await new Promise<void>((r) => gate.release.push(r));
      return real.listGuestsWithStats(...args);
    },
  };
});

afterEach(() => {
  gate.held = false;
  for (const r of gate.release.splice(0)) r();
  cleanup();
});

const POLL_MS = 40;
const stamp = (ms: number) => {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0'));
};

describe('a stale refresh', () => {
  // At 80 columns the ASCII mark is two characters wider, and the short form takes its place.
  for (const [label, env, said] of [
    ['colour', { LANG: 'C.UTF-8', TERM: 'xterm-256color' }, '⚠ no update since'],
    ['TERM=linux, NO_COLOR', { LANG: 'C', TERM: 'linux', NO_COLOR: '1' }, '[!] stale'],
  ] as const) {
    it(`is said in words on the tabs line, and goes when a round succeeds again (${label})`, async () => {
      const app = await renderApp(undefined, { env, store: { live: true, pollMs: POLL_MS, agentSettleMs: 3_600_000 } });
      const last = () => app.store.getState().lastRefresh as number;
      // 80x24: the meters stand in for the time while the data is fresh.
      await app.waitFor(/5 Jobs +(CPU|updated)/);
      expect(app.frame()).not.toMatch(/stale|no update/);

      gate.held = true;
      const f = await app.waitFor(/no update since|stale \d/, 2_000);
      expect(f.split('\n')[1]).toMatch(new RegExp(`5 Jobs +${said.replace(/[[\]]/g, '\\$&')} ${stamp(last()).join(':')} [│|]$`));
      expect(app.store.getState().refreshStale).toBe(true);

      gate.held = false;
      for (const r of gate.release.splice(0)) r();
      await app.waitFor((fr) => !/no update since|stale \d/.test(fr), 2_000);
      expect(app.store.getState().refreshStale).toBe(false);
      app.store.getState().dispose();
    });
  }
});

import { render } from 'ink-testing-library';
import { isValidElement, type ReactNode } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAppStore } from '../../src/store/appStore.js';
import { App } from '../../src/ui/App.js';
import { chooseTheme } from '../../src/ui/theme.js';
import { createFakeHost, type FakeGuest } from '../helpers/fakeHost.js';
import { demoGuests, frameWaiter } from './helpers.js';

/**
 * What an idle console draws per refresh (issue 16: its CPU within 2x of an idle htop). A refresh
 * that learnt nothing new renders nothing and Ink makes no frame: the tabs line says the minute of
 * the last update, not its second, so only a new minute draws it again (its status alone). Counted
 * at the console's one Text component, as in guestRowRenders.test.tsx; the wall clock is pinned so
 * the minute changes only when a test says so.
 */

const seen = vi.hoisted(() => ({ texts: [] as string[] }));

vi.mock('../../src/ui/components/Text.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/ui/components/Text.js')>();
  const flat = (children: ReactNode): string => {
    if (typeof children === 'string' || typeof children === 'number') return String(children);
    if (Array.isArray(children)) return children.map(flat).join('');
    if (isValidElement<{ children?: ReactNode }>(children)) return flat(children.props.children);
    return '';
  };
  return {
    ...real,
    Text: (props: Parameters<typeof real.Text>[0]) => {
      seen.texts.push(flat(props.children));
      return real.Text(props);
    },
  };
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The tabs line's pieces: "1 Guests", "   2 Disks"…, the gap, "updated 10:01". */
const TAB_PIECE = /^( {3})?\d [A-Z][a-z]+( \(.*\))?$|^ +$|^updated \d\d:\d\d$/;

/** 10:00:00 local time, as the tabs line shows it. */
const TEN = new Date(2026, 11, 8, 10, 0, 0).getTime();

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(TEN);
});
afterEach(() => {
  vi.useRealTimers();
});

async function console(guests: FakeGuest[], size = { columns: 120, rows: 30 }) {
  let now = 1_000_000;
  const fake = createFakeHost(guests);
  const store = createAppStore(fake.host, { size, live: false, clock: () => now, agentSettleMs: 3_600_000, detectAccel: async () => ({ accel: 'tcg', reason: 'no /dev/kvm' }) });
  let frames = 0;
  const r = render(<App store={store} host={fake.host} theme={chooseTheme({ LANG: 'C.UTF-8', TERM: 'xterm-256color' })} />);
  const waitFor = frameWaiter(() => r.lastFrame() ?? '');
  await waitFor('trinity-server');
  /** One poll round 2 s after the last (`stepMs` on the wall clock); what it rendered, and the frames Ink made of it. */
  const refresh = async (stepMs = 2_000) => {
    now += 2_000;
    vi.setSystemTime(Date.now() + stepMs);
    seen.texts.length = 0;
    const before = r.frames.length;
    await store.getState().refresh();
    await sleep(60);
    frames = r.frames.length - before;
    return { texts: [...seen.texts], frames };
  };
  return { fake, store, r, refresh, waitFor };
}

describe('an idle refresh', () => {
  it('renders nothing and makes no frame', async () => {
    const c = await console(demoGuests());
    // The usage columns and the history fill in over the first rounds.
    await c.refresh();
    await c.refresh();
    for (let i = 0; i < 3; i++) {
      const idle = await c.refresh();
      expect(idle.texts).toEqual([]);
      expect(idle.frames).toBe(0);
    }
    expect(c.r.lastFrame()).toMatch(/5 Jobs +updated 10:00\b/);
    c.r.unmount();
    c.store.getState().dispose();
  });

  it('in a new minute: the status of the tabs line and nothing else, in one frame', async () => {
    const c = await console(demoGuests());
    await c.refresh();
    await c.refresh();
    const turned = await c.refresh(60_000);
    expect(turned.texts.length).toBeGreaterThan(0);
    expect(turned.texts.filter((t) => !TAB_PIECE.test(t))).toEqual([]);
    expect(turned.texts).toContain('updated 10:01');
    expect(turned.frames).toBe(1);
    c.r.unmount();
    c.store.getState().dispose();
  });

  it("a guest whose use changed: its row and the selected guest's usage line and heading are drawn again, no other row", async () => {
    const guests = demoGuests();
    const web = guests[0] as FakeGuest;
    web.stats = { 'cpu.time': 0, 'vcpu.current': 1, 'balloon.rss': 200 * 1024 };
    const c = await console(guests);
    c.store.getState().select('demo-web');
    await c.refresh();
    await c.refresh();
    (web.stats as Record<string, number>)['cpu.time'] = 1_000_000_000;
    const busy = await c.refresh();
    const rows = busy.texts.filter((t) => /^.{0,2}(demo-web|demo-files|trinity-server) +(running|shut off|paused)/.test(t));
    expect(rows.map((t) => t.trim().split(/ +/)[0]?.replace(/^\W/, ''))).toEqual(['demo-web']);
    expect(busy.texts.some((t) => t.startsWith('use  CPU'))).toBe(true);
    expect(busy.texts.some((t) => /demo-web · cpu/.test(t))).toBe(true);
    c.r.unmount();
    c.store.getState().dispose();
  });
});

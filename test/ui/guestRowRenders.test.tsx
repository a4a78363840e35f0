import { render } from 'ink-testing-library';
import { isValidElement, type ReactNode } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { createAppStore } from '../../src/store/appStore.js';
import { App } from '../../src/ui/App.js';
import { chooseTheme } from '../../src/ui/theme.js';
import { createFakeHost } from '../helpers/fakeHost.js';
import { demoGuests, frameWaiter } from './helpers.js';

/**
 * A refresh builds new rows for every guest, most of which read as before: only the row whose
 * text changed is rendered again (GuestsPane's GuestLine memo), so an idle console on a big host
 * costs one row's work per changed guest, not the whole table's. Counted at the console's one Text.
 */

const seen = vi.hoisted(() => ({ rows: [] as string[] }));

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
      // A table row is one truncated line; its text is what it draws.
      if (props.wrap === 'truncate') seen.rows.push(flat(props.children));
      return real.Text(props);
    },
  };
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rowRenders(name: string): number {
  const row = new RegExp(`^.{0,2}${name} +(running|shut off|paused)`);
  return seen.rows.filter((t) => row.test(t)).length;
}

describe('guest rows on refresh', () => {
  it('a refresh that changes one guest renders only that row again', async () => {
    const fake = createFakeHost(demoGuests());
    const store = createAppStore(fake.host, { size: { columns: 120, rows: 30 }, live: false, detectAccel: async () => ({ accel: 'tcg', reason: 'no /dev/kvm' }) });
    const r = render(<App store={store} host={fake.host} theme={chooseTheme({ LANG: 'C.UTF-8', TERM: 'xterm-256color' })} />);
    const waitFor = frameWaiter(() => r.lastFrame() ?? '');
    await waitFor('trinity-server');
    // Two more rounds first: the usage columns fill in once there are two samples.
    await store.getState().refresh();
    await store.getState().refresh();
    await sleep(50);
    expect(rowRenders('demo-web')).toBeGreaterThan(0);

    seen.rows.length = 0;
    const trinity = fake.guests.find((g) => g.name === 'trinity-server');
    if (!trinity) throw new Error('no trinity-server');
    trinity.memoryMiB = 4096;
    await store.getState().refresh();
    await waitFor('4.0G');
    await sleep(50);
    expect(rowRenders('trinity-server')).toBeGreaterThan(0);
    expect(rowRenders('demo-web')).toBe(0);
    expect(rowRenders('demo-files')).toBe(0);

    // Moving the selection renders the two rows it leaves and reaches, not the third.
    seen.rows.length = 0;
    store.getState().pressKey({ name: 'down', input: '' });
    await sleep(50);
    expect(rowRenders('demo-files') + rowRenders('demo-web')).toBe(2);
    expect(rowRenders('trinity-server')).toBe(0);
    r.unmount();
  });
});

describe('rowParts', () => {
  it('puts the pointer and the columns before the state in one run, the state in its own, the rest in a third', async () => {
    const { rowParts } = await import('../../src/ui/panes/GuestsPane.js');
    expect(rowParts(['web1   ', 'running ', '  2', '1.0G'], 1, '>')).toEqual({ lead: '>web1   ', state: ' running ', rest: '   2 1.0G' });
    expect(rowParts(['running', 'web1'], 0, ' ')).toEqual({ lead: ' ', state: 'running', rest: ' web1' });
    expect(rowParts(['a', 'b'], -1, ' ')).toEqual({ lead: ' a b', state: '', rest: '' });
  });
});

import { describe, expect, it } from 'vitest';
import type { Executor } from '../../src/host/exec.js';
import { createAppStore } from '../../src/store/appStore.js';
import type { GuestsPaneController } from '../../src/store/guestsPane.js';
import { createFakeHost } from '../helpers/fakeHost.js';

const press = (name: string) => ({ name, input: name.length === 1 ? name : '' });
const settle = () => new Promise((r) => setTimeout(r, 20));

function setup() {
  const fake = createFakeHost([
    { name: 'web1', state: 'shut off', vcpus: 1, memoryMiB: 256 },
    { name: 'db1', state: 'shut off', vcpus: 1, memoryMiB: 256 },
  ]);
  // No other pane: the Guests pane is made all the same.
  const store = createAppStore(fake.host, { live: false, paneFactories: {}, detectAccel: async () => ({ accel: 'tcg', reason: '' }) });
  return { fake, store };
}

describe('the Guests pane is a pane controller like the others', () => {
  it('is registered, has no screen of its own, and its keys act through its dispatch', async () => {
    const { fake, store } = setup();
    await store.getState().refresh();
    const guests = store.getState().panes.guests as GuestsPaneController;
    expect(guests).toBeDefined();
    expect(store.getState().keyOwner()?.scopes()).toEqual(['pane:guests', 'panes', 'console']);
    const second = store.getState().guests[1]?.name;
    store.getState().pressKey(press('j'));
    expect(store.getState().selected).toBe(second);
    store.getState().pressKey(press('s'));
    await settle();
    expect(fake.calls.filter((a) => a.includes('start')).map((a) => a.at(-1))).toEqual([second]);
    // A key of another pane means nothing here.
    store.getState().pressKey(press('K'));
    expect(store.getState().dialogs).toEqual([]);
  });

  it('a guest command on another pane\'s : line is still the Guests pane\'s', async () => {
    const { fake, store } = setup();
    await store.getState().refresh();
    store.getState().setPane('jobs');
    store.getState().runCommand('start web1');
    await settle();
    expect(fake.calls.filter((a) => a.includes('start')).map((a) => a.at(-1))).toEqual(['web1']);
    store.getState().runCommand('details db1');
    expect(store.getState().dialogs.at(-1)).toMatchObject({ kind: 'text', title: 'db1' });
  });
});

describe('D: delete a guest with its disks', () => {
  it('names each file the box deletes, removes them after the undefine and says which', async () => {
    const disk = '/var/lib/libvirt/images/web1-vda.qcow2';
    const fake = createFakeHost([{ name: 'web1', state: 'shut off', vcpus: 1, memoryMiB: 256 }], { images: { [disk]: { format: 'qcow2', virtualSize: 1 << 30 } } });
    const store = createAppStore(fake.host, { live: false, paneFactories: {}, detectAccel: async () => ({ accel: 'tcg', reason: '' }) });
    await store.getState().refresh();
    store.getState().pressKey(press('D'));
    const dialog = store.getState().dialogs.at(-1);
    expect(dialog).toMatchObject({ kind: 'typeName' });
    expect(dialog && 'lines' in dialog ? dialog.lines : []).toContain(`The box also deletes ${disk}.`);
    for (const c of 'web1') store.getState().pressKey(press(c));
    store.getState().pressKey(press('tab'));
    store.getState().pressKey({ name: ' ', input: ' ' });
    store.getState().pressKey(press('enter'));
    await settle();
    const undefineAt = fake.calls.findIndex((a) => a.includes('undefine'));
    const rmAt = fake.calls.findIndex((a) => a[0] === 'rm' && a.includes(disk));
    expect(fake.calls[undefineAt]?.join(' ')).not.toContain('remove-all-storage');
    expect(undefineAt).toBeGreaterThanOrEqual(0);
    expect(rmAt).toBeGreaterThan(undefineAt);
    expect(store.getState().dialogs.at(-1)).toBeUndefined();
    expect(store.getState().message?.text).toBe(`web1 and its disks are deleted: ${disk}.`);
  });

  it('a file rm could not remove is named in an error, not reported as deleted', async () => {
    const disk = '/var/lib/libvirt/images/web1-vda.qcow2';
    const fake = createFakeHost([{ name: 'web1', state: 'shut off', vcpus: 1, memoryMiB: 256 }], { images: { [disk]: { format: 'qcow2', virtualSize: 1 << 30 } } });
    const inner = fake.host.sysExec;
    const sysExec: Executor = {
      label: inner.label,
      run: (argv, o) => (argv[0] === 'rm' ? Promise.reject(new Error('rm: cannot remove: Operation not permitted')) : inner.run(argv, o)),
      interactive: (argv, o) => inner.interactive(argv, o),
    };
    const store = createAppStore({ ...fake.host, sysExec }, { live: false, paneFactories: {}, detectAccel: async () => ({ accel: 'tcg', reason: '' }) });
    await store.getState().refresh();
    store.getState().pressKey(press('D'));
    for (const c of 'web1') store.getState().pressKey(press(c));
    store.getState().pressKey(press('tab'));
    store.getState().pressKey({ name: ' ', input: ' ' });
    store.getState().pressKey(press('enter'));
    await settle();
    const shown = store.getState().dialogs.at(-1);
    expect(shown).toMatchObject({ kind: 'error', title: 'web1 is deleted, not all its disks' });
    expect(shown?.kind === 'error' ? shown.error.sentence : '').toBe(`web1 is deleted; NOT deleted: ${disk} (rm: cannot remove: Operation not permitted).`);
  });
});


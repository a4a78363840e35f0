/**
 * The settings form (e) and a pane's small form driven through the app store's router, as the
 * console does: each key acts on the store as it arrives, nothing is rendered.
 */
import { describe, expect, it, vi } from 'vitest';
import { parseEditFlags } from '../../src/cli/commands/editFlags.js';
import { FieldRefusal, UserError } from '../../src/model/userError.js';
import { createAppStore } from '../../src/store/appStore.js';
import { createDisksPaneController } from '../../src/store/disksPane.js';
import { fieldValue, focused, makeForm } from '../../src/store/form.js';
import { keyPresses } from '../../src/store/keys/keyName.js';
import { hintLine } from '../../src/store/keys/router.js';
import type { FormDialog, SettingsDialog } from '../../src/store/types.js';
import { createFakeHost } from '../helpers/fakeHost.js';
import { demoGuests } from './helpers.js';

const key = (name: string) => ({ name, input: [...name].length === 1 ? name : '' });

async function setup() {
  const fake = createFakeHost(demoGuests());
  const store = createAppStore(fake.host, { size: { columns: 80, rows: 24 }, live: false, detectAccel: async () => ({ accel: 'tcg', reason: 'no /dev/kvm' }) });
  await store.getState().refresh();
  const press = (...names: string[]) => {
    for (const n of names) store.getState().pressKey(key(n));
  };
  const type = (text: string) => {
    for (const k of keyPresses(text, {})) store.getState().pressKey(k);
  };
  const top = () => store.getState().dialogs.at(-1);
  const settings = () => top() as SettingsDialog;
  const defines = () => fake.calls.filter((c) => c[0] === 'virsh' && c.includes('define'));
  return { fake, store, press, type, top, settings, defines };
}

describe('settings form through the router', () => {
  it('is owned by the router: its hints come from the table and it has a key owner', async () => {
    const t = await setup();
    await t.store.getState().openSettings('demo-web');
    expect(t.top()?.kind).toBe('settings');
    expect(t.store.getState().keyOwner()).not.toBeNull();
    const scopes = t.store.getState().keyOwner()?.scopes() ?? [];
    expect(scopes).toEqual(['form:text', 'form', 'dialog:settings', 'console']);
    expect(hintLine(scopes)).toBe('↑↓ field   Ctrl-S save   Esc cancel');
  });

  it('a burst of keys lands in the fields the keys move to', async () => {
    const t = await setup();
    await t.store.getState().openSettings('demo-web');
    // Down to vCPUs, erase, 2; Down to MAC 0, erase it, a new MAC; all in one go.
    t.press('down', 'backspace');
    t.type('2');
    t.press('down', 'ctrl-u');
    t.type('00:50:56:aa:bb:cc');
    const form = t.settings().form;
    expect(fieldValue(form, 'vcpus')).toBe('2');
    expect(fieldValue(form, 'mac:0')).toBe('00:50:56:aa:bb:cc');
    t.press('ctrl-s');
    const diff = t.top();
    expect(diff?.kind).toBe('diff');
    expect(diff?.kind === 'diff' && diff.summary[0]).toBe('vcpus 2 · nic 0 mac 00:50:56:aa:bb:cc');
  });

  it('a refusal is shown on its field and focuses it, with the CLI’s sentence for the same text', async () => {
    const t = await setup();
    await t.store.getState().openSettings('demo-web');
    t.press('ctrl-u');
    t.type('1024');
    // Away to the Autostart row, then save: the refusal brings the focus back to Memory.
    t.press('up', 'up');
    expect(focused(t.settings().form)?.id).toBe('autostart');
    t.press('ctrl-s');
    const { form } = t.settings();
    expect(focused(form)?.id).toBe('memory');
    let cli: unknown;
    try {
      parseEditFlags({ memory: '1024' });
    } catch (e) {
      cli = e;
    }
    expect(cli).toBeInstanceOf(UserError);
    expect(form.error).toEqual({ field: 'memory', sentence: (cli as UserError).sentence, fix: (cli as UserError).fix });
    expect(t.defines()).toHaveLength(0);
    // Typing in the field clears the refusal.
    t.press('backspace');
    expect(t.settings().form.error).toBeNull();
  });

  it('a refusal of the guest (port below 5900) names the VNC port field', async () => {
    const t = await setup();
    await t.store.getState().openSettings('demo-web');
    const portRow = t.settings().form.fields.findIndex((f) => f.id === 'vncPort');
    for (let i = 0; i < portRow; i++) t.press('down');
    t.press('ctrl-u');
    t.type('80');
    t.press('down', 'down');
    t.press('ctrl-s');
    expect(t.settings().form.error).toMatchObject({ field: 'vncPort', sentence: expect.stringMatching(/below 5900/) });
    expect(focused(t.settings().form)?.id).toBe('vncPort');
  });

  it('k and w on a generate row fill the MAC above; h/l cycle a choice; Enter moves on, and on Save shows the diff', async () => {
    const t = await setup();
    await t.store.getState().openSettings('demo-web');
    t.press('down', 'down', 'down');
    expect(focused(t.settings().form)?.id).toBe('macgen:0');
    expect(t.store.getState().keyOwner()?.scopes()[0]).toBe('form:macgen');
    t.press('k');
    expect(fieldValue(t.settings().form, 'mac:0')).toMatch(/^52:54:00:[0-9a-f:]{8}$/);
    t.press('w');
    expect(fieldValue(t.settings().form, 'mac:0')).toMatch(/^00:50:56:[0-3][0-9a-f]:/);
    // Enter moves to the next field like ↓.
    t.press('enter', 'enter', 'enter');
    expect(focused(t.settings().form)?.id).toBe('boot');
    expect(fieldValue(t.settings().form, 'boot')).toBe('hd');
    t.press('l');
    expect(fieldValue(t.settings().form, 'boot')).toBe('cdrom');
    t.press('h', 'h');
    expect(fieldValue(t.settings().form, 'boot')).toBe('cdrom,hd');
    // A text field takes l as a letter.
    t.press('up');
    t.press('l');
    expect(fieldValue(t.settings().form, 'vncListen')).toMatch(/l$/);
    // Enter on the last field moves to the Save row; Enter there saves.
    while (focused(t.settings().form)?.id !== 'autostart') t.press('down');
    t.press('enter');
    expect(focused(t.settings().form)?.id).toBe('save');
    expect(t.store.getState().keyOwner()?.scopes()[0]).toBe('dialog:settings-save');
    t.press('enter');
    expect(t.top()?.kind).toBe('diff');
  });

  it('Esc closes it and nothing is defined', async () => {
    const t = await setup();
    await t.store.getState().openSettings('demo-web');
    t.type('9');
    t.press('esc');
    expect(t.top()).toBeUndefined();
    expect(t.defines()).toHaveLength(0);
  });
});

describe('a pane’s small form through the router', () => {
  const push = (t: Awaited<ReturnType<typeof setup>>, onSubmit: FormDialog['onSubmit']) =>
    t.store.getState().pushDialog({
      kind: 'form',
      title: 'New disk image',
      lines: [],
      form: makeForm([
        { id: 'path', label: 'Path', kind: 'text', value: '/srv/a.qcow2' },
        { id: 'format', label: 'Format', kind: 'choice', value: 'qcow2', options: ['qcow2', 'raw'].map((v) => ({ value: v, label: v })) },
        { id: 'size', label: 'Size', kind: 'text', value: '10G' },
      ]),
      onSubmit,
    });

  it('typing, l on a choice and Enter submit the values; Esc cancels', async () => {
    const t = await setup();
    const got: Record<string, string>[] = [];
    push(t, (v) => {
      got.push(v);
    });
    expect(t.store.getState().keyOwner()?.scopes()).toEqual(['form:text', 'form', 'dialog:form', 'console']);
    expect(hintLine(t.store.getState().keyOwner()?.scopes() ?? [])).toBe('↑↓ field   Enter ok   Esc cancel');
    t.press(...Array(7).fill('backspace'));
    t.type('b.raw');
    t.press('tab', 'l', 'tab', 'ctrl-u');
    t.type('1G');
    t.press('enter');
    expect(got).toEqual([{ path: '/srv/b.raw', format: 'raw', size: '1G' }]);
    expect(t.top()).toBeUndefined();
    push(t, () => {
      throw new Error('not called');
    });
    t.press('esc');
    expect(t.top()).toBeUndefined();
  });

  it('a refusal naming a field comes back on the form, focused there', async () => {
    const t = await setup();
    push(t, () => {
      throw new FieldRefusal('size', '"10G" is too big for /srv.', 'Give a smaller size.');
    });
    t.press('enter');
    await new Promise((r) => setTimeout(r, 0));
    const d = t.top() as FormDialog;
    expect(d.kind).toBe('form');
    expect(d.form.error).toEqual({ field: 'size', sentence: '"10G" is too big for /srv.', fix: 'Give a smaller size.' });
    expect(focused(d.form)?.id).toBe('size');
  });
});

describe('the Disks pane’s new-image form', () => {
  it('a bad size comes back on the Size field, focused, and nothing is created', async () => {
    const fake = createFakeHost(demoGuests(), { images: { '/srv/vm/web.qcow2': { format: 'qcow2', virtualSize: 1024 ** 3 } } });
    const store = createAppStore(fake.host, {
      size: { columns: 80, rows: 24 },
      live: false,
      detectAccel: async () => ({ accel: 'tcg', reason: 'no /dev/kvm' }),
      paneFactories: { disks: (host, app) => createDisksPaneController(host, app, { imageDirs: ['/srv/vm'], cacheFile: null }) },
    });
    const press = (...names: string[]) => {
      for (const n of names) store.getState().pressKey(key(n));
    };
    press('2', 'N');
    const top = () => store.getState().dialogs.at(-1) as FormDialog;
    expect(top().kind).toBe('form');
    expect(focused(top().form)?.id).toBe('path');
    // To Size (Path, Format, Size), erase it, type a word, Enter.
    press('down', 'down', 'ctrl-u', 'l', 'o', 't', 's', 'up', 'enter');
    await vi.waitFor(() => expect(top()?.form?.error).toBeTruthy());
    expect(top().form.error).toMatchObject({ field: 'size', sentence: '"lots" is not a size.' });
    expect(focused(top().form)?.id).toBe('size');
    expect(fake.calls.some((c) => c[0] === 'qemu-img' && c[1] === 'create')).toBe(false);
  });
});

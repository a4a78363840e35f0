import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
import { type Field, type Form, fieldValue, fieldWindow, formKey, formScopes, makeForm } from '../../src/store/form.js';
import type { KeyOwner } from '../../src/store/keys/owners.js';
import { pressKey } from '../../src/store/keys/owners.js';
import type { Scope } from '../../src/store/keys/table.js';
import { FormView } from '../../src/ui/components/FormView.js';
import { KeyRoot } from '../../src/ui/keyInput.js';
import { chooseTheme } from '../../src/ui/theme.js';

const theme = chooseTheme({ TERM: 'xterm-256color', LANG: 'C.UTF-8', NO_COLOR: '1' });
const tick = () => new Promise((r) => setTimeout(r, 30));

/** A form in a store with an owner that submits on Enter, as a dialog or wizard step has. */
function formStore(fields: Field[]) {
  const submitted: Record<string, string>[] = [];
  const store = createStore<{ form: Form }>()(() => ({ form: makeForm(fields) }));
  const owner: KeyOwner = {
    scopes: () => [...formScopes(store.getState().form), 'dialog:form'] as Scope[],
    perform: (intent) => {
      if (intent.action === 'submit') submitted.push(Object.fromEntries(store.getState().form.fields.map((f) => [f.id, f.value])));
      else store.setState({ form: formKey(store.getState().form, intent) });
    },
  };
  return { store, submitted, ui: render(<FormHarness store={store} owner={owner} />) };
}

function FormHarness({ store, owner }: { store: StoreApi<{ form: Form }>; owner: KeyOwner }) {
  const form = useStore(store, (s) => s.form);
  return (
    <KeyRoot onKey={(k) => pressKey(owner, k)}>
      <FormView form={form} theme={theme} />
    </KeyRoot>
  );
}

describe('a text field of the form model (was TextField)', () => {
  it('keeps every key even when they arrive before React renders', async () => {
    const { store, submitted, ui } = formStore([{ id: 'name', label: 'Name', kind: 'text', value: '', placeholder: 'name' }]);
    await tick();
    // No waiting between keys, and then the same keys in one write.
    for (const ch of 'web-01') ui.stdin.write(ch);
    ui.stdin.write('\u007f');
    ui.stdin.write('2');
    await tick();
    expect(ui.lastFrame()).toContain('web-02');
    ui.stdin.write('\r');
    await tick();
    expect(submitted.at(-1)?.name).toBe('web-02');
    ui.stdin.write('\u0015x\u007fweb-03\r');
    await tick();
    expect(fieldValue(store.getState().form, 'name')).toBe('web-03');
    expect(submitted.at(-1)?.name).toBe('web-03');
    ui.unmount();
  });

  it('moves the cursor and inserts in the middle; Ctrl-U clears to the start', async () => {
    const { ui } = formStore([{ id: 'name', label: 'Name', kind: 'text', value: '' }]);
    await tick();
    for (const ch of 'ac') ui.stdin.write(ch);
    ui.stdin.write('\u001B[D');
    ui.stdin.write('b');
    await tick();
    expect(ui.lastFrame()).toContain('abc');
    ui.stdin.write('\u0015');
    await tick();
    expect(ui.lastFrame()).not.toContain('ab');
    ui.unmount();
  });
});

describe('choice fields of the form model (was FieldList)', () => {
  const options = ['ide', 'sata', 'scsi', 'virtio'].map((v) => ({ value: v, label: v }));
  it('keeps every Tab and → that arrives before React renders', async () => {
    const { ui } = formStore((['a', 'b', 'c'] as const).map((k) => ({ id: k, label: k, kind: 'choice', value: 'ide', options })));
    await tick();
    // Two Tabs then two → with no render in between: focus on c, c moved two options.
    ui.stdin.write('\t');
    ui.stdin.write('\t');
    ui.stdin.write('\u001B[C');
    ui.stdin.write('\u001B[C');
    await tick();
    const frame = ui.lastFrame() ?? '';
    const line = (k: string) => frame.split('\n').find((l) => new RegExp(`\\b${k}\\s{2,}`).test(l)) ?? '';
    expect(line('c')).toContain('scsi');
    expect(line('a')).toContain('ide');
    expect(line('b')).toContain('ide');
    ui.unmount();
  });
});

describe('long values and placeholders (issue 12 item 13)', () => {
  const long = `/srv/${'abcdefghij'.repeat(19)}.qcow2`;

  it('a 200-character value scrolls inside its field: the label stays, the cursor stays in view', async () => {
    const { ui } = formStore([
      { id: 'path', label: 'Path', kind: 'text', value: '' },
      { id: 'size', label: 'Size', kind: 'text', value: '10G', hint: 'e.g. 20G' },
    ]);
    await tick();
    ui.stdin.write(long);
    await tick();
    const lines = (ui.lastFrame() ?? '').split('\n');
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(76);
    // The label and the end of the value (where the cursor is) on one row, cut at the left.
    expect(lines[0]).toMatch(/^▶ Path +<.*j\.qcow2 \]$/);
    expect(lines[1]).toMatch(/^ {2}Size +\[10G\] +e\.g\. 20G$/);
    // Ctrl-A: the start shows, cut at the right.
    ui.stdin.write('\u0001');
    await tick();
    expect((ui.lastFrame() ?? '').split('\n')[0]).toMatch(/^▶ Path +\[\/srv\/abcdefghij.*>$/);
    ui.unmount();
  });

  it('a placeholder is drawn as an example after an empty field, never as its value', async () => {
    const { ui } = formStore([
      { id: 'size', label: 'New size', kind: 'text', value: '', placeholder: '35G', hint: 'absolute, or +15G' },
      { id: 'dev', label: 'Disk', kind: 'text', value: '', placeholder: '/dev/sdb' },
    ]);
    await tick();
    const f = ui.lastFrame() ?? '';
    expect(f).toMatch(/New size +\[ \] +\(e\.g\. 35G\) +absolute, or \+15G/);
    expect(f).toMatch(/Disk +\[ \] +\(e\.g\. \/dev\/sdb\)/);
    expect(f).not.toContain('[35G');
    ui.stdin.write('4');
    await tick();
    expect(ui.lastFrame()).toMatch(/New size +\[4 \] +absolute, or \+15G/);
    expect(ui.lastFrame()).not.toContain('e.g. 35G');
    ui.unmount();
  });
});

describe('fieldWindow', () => {
  it('shows all of a value that fits, else a window holding the cursor', () => {
    expect(fieldWindow('abc', 3, 10, true)).toEqual({ start: 0, text: 'abc', cutLeft: false, cutRight: false });
    expect(fieldWindow('abcdefghij', 10, 5, true)).toEqual({ start: 6, text: 'ghij', cutLeft: true, cutRight: false });
    expect(fieldWindow('abcdefghij', 0, 5, true)).toEqual({ start: 0, text: 'abcde', cutLeft: false, cutRight: true });
    expect(fieldWindow('abcdefghij', 7, 5, true)).toEqual({ start: 3, text: 'defgh', cutLeft: true, cutRight: true });
    expect(fieldWindow('abcdefghij', 10, 5, false)).toEqual({ start: 0, text: 'abcde', cutLeft: false, cutRight: true });
  });
});

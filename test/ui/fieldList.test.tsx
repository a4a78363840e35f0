import { render } from 'ink-testing-library';
import { useState } from 'react';
import { describe, expect, it } from 'vitest';
import { chooseTheme } from '../../src/ui/theme.js';
import { type Field, FieldList } from '../../src/ui/wizards/steps/FieldList.js';

const theme = chooseTheme({ TERM: 'xterm-256color', LANG: 'C.UTF-8', NO_COLOR: '1' });
const options = ['ide', 'sata', 'scsi', 'virtio'].map((v) => ({ value: v, label: v }));

function Harness() {
  const [focus, setFocus] = useState(0);
  const [form, setForm] = useState({ a: 'ide', b: 'ide', c: 'ide' });
  const fields: Field[] = (['a', 'b', 'c'] as const).map((k) => ({
    kind: 'choice',
    key: k,
    label: k,
    value: form[k],
    options,
    onChange: (v: string) => setForm((f) => ({ ...f, [k]: v })),
  }));
  return <FieldList fields={fields} focus={focus} onFocus={setFocus} onSubmit={() => {}} theme={theme} active />;
}

const tick = () => new Promise((r) => setTimeout(r, 30));

describe('FieldList', () => {
  it('keeps every Tab and → that arrives before React renders', async () => {
    const ui = render(<Harness />);
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

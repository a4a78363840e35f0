import { render } from 'ink-testing-library';
import { useState } from 'react';
import { describe, expect, it } from 'vitest';
import { TextField } from '../../src/ui/components/TextField.js';

function Harness({ onSubmit }: { onSubmit: (v: string) => void }) {
  const [v, setV] = useState('');
  return <TextField value={v} onChange={setV} onSubmit={onSubmit} placeholder="name" />;
}

const tick = () => new Promise((r) => setTimeout(r, 20));

describe('TextField', () => {
  it('keeps every key even when they arrive before React renders', async () => {
    let submitted = '';
    const ui = render(<Harness onSubmit={(v) => (submitted = v)} />);
    await tick();
    // No waiting between keys: ink-text-input drops all but the last of such a burst.
    for (const ch of 'web-01') ui.stdin.write(ch);
    ui.stdin.write('\u007f');
    ui.stdin.write('2');
    await tick();
    expect(ui.lastFrame()).toContain('web-02');
    ui.stdin.write('\r');
    await tick();
    expect(submitted).toBe('web-02');
    ui.unmount();
  });

  it('moves the cursor and inserts in the middle; Ctrl-U clears to the start', async () => {
    const ui = render(<Harness onSubmit={() => {}} />);
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

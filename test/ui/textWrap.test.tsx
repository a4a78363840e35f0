/**
 * Issue 12 item 11: text that explains or instructs wraps at 80x24 instead of ending in "…".
 */
import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, test } from 'vitest';
import { wrapLine, wrapLines } from '../../src/model/textWrap.js';
import { startView, updateRow } from '../../src/store/jobs/runView.js';
import { RunSteps } from '../../src/ui/components/RunSteps.js';
import { chooseTheme } from '../../src/ui/theme.js';

afterEach(() => cleanup());

const theme = chooseTheme({ TERM: 'xterm-256color', LANG: 'C.UTF-8', NO_COLOR: '1' });
const ascii = chooseTheme({ TERM: 'linux', LANG: 'C', NO_COLOR: '1' });
/** The frame's rows joined back into one text, so a wrapped sentence can be looked for whole. */
const joined = (f: string) =>
  f
    .split('\n')
    .map((l) => l.trim())
    .join(' ')
    .replace(/ +/g, ' ');

describe('wrapLine / wrapLines', () => {
  test('prose breaks at spaces, a path mid-word, continuations indented; line breaks start rows', () => {
    expect(wrapLine('the quick brown fox jumps over', 20)).toEqual(['the quick brown fox', '    jumps over']);
    expect(wrapLines(['a b\nc', 'd'], 20)).toEqual(['a b', 'c', 'd']);
  });
});

describe('job steps', () => {
  const long = 'qemu-img convert -p -O vmdk -o subformat=monolithicSparse,adapter_type=lsilogic /var/lib/libvirt/images/trinity-server.raw /var/lib/libvirt/images/trinity-server.new.vmdk';
  test.each([
    ['unicode', theme],
    ['ascii', ascii],
  ])('a step longer than the row wraps under its mark, nothing cut (%s)', (_name, t) => {
    let view = startView({ what: 'the conversion', undo: 'x', title: 'Convert', rows: [long, 'short step'] });
    view = updateRow(view, long, { state: 'done', note: 'verified with qemu-img compare' });
    view = { ...view, warnings: ['The destination is on the same filesystem as the guest images, so a failed disk takes the backups with it.'] };
    const ui = render(<RunSteps run={view} width={76} theme={t} />);
    const f = ui.lastFrame() ?? '';
    for (const l of f.split('\n')) expect(l.length).toBeLessThanOrEqual(76);
    expect(f).not.toContain('…');
    // A path is cut mid-word, so compare without the spaces the wrap put in.
    expect(joined(f).replace(/\s/g, '')).toContain(`1/2 ${long} verified with qemu-img compare`.replace(/\s/g, ''));
    expect(joined(f)).toContain('a failed disk takes the backups with it.');
    expect(f.split('\n')[0]?.startsWith(`${t.symbols.ok} 1/2 qemu-img convert`)).toBe(true);
  });
});

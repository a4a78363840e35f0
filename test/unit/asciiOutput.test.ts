import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { safeOutput, streamWriter } from '../../src/cli/output.js';
import { ASCII_ELLIPSIS } from '../../src/model/glyphs.js';
import { clip } from '../../src/ui/components/Frame.js';
import { pad } from '../../src/ui/components/table.js';
import { frameStream } from '../../src/ui/terminal.js';

function capture(json: boolean, ascii: boolean) {
  const written: string[] = [];
  const out = safeOutput(json, { out: (t) => written.push(t), err: (t) => written.push(t) }, ascii);
  return { out, written };
}

describe('the CLI under a terminal that cannot draw Unicode', () => {
  it('prints its own glyphs by their ASCII side, and other text it cannot draw as ?', () => {
    const { out, written } = capture(false, true);
    out.out('/srv/web.raw → /srv/web.vmdk: converted… ✓ café');
    out.err('roll back — also');
    expect(written).toEqual(['/srv/web.raw -> /srv/web.vmdk: converted... [ok] caf?\n', 'roll back - also\n']);
  });

  it('writes JSON in ASCII that parses back to the exact text', () => {
    const { out, written } = capture(true, true);
    const value = { path: '/srv/café/日本 😀.raw', note: 'a → b' };
    out.out(JSON.stringify(value, null, 2));
    expect(written.join('')).toMatch(/^[\x00-\x7e]*$/);
    expect(JSON.parse(written.join(''))).toEqual(value);
  });

  it('draws progress written straight to a stream by the same rule', () => {
    const written: string[] = [];
    const stream = { write: (t: string) => written.push(t) > 0 } as unknown as NodeJS.WriteStream;
    streamWriter(stream, true)('  2. copy vda → /srv/b.qcow2\n');
    streamWriter(stream, false)('  2. copy vda → /srv/b.qcow2\n');
    expect(written).toEqual(['  2. copy vda -> /srv/b.qcow2\n', '  2. copy vda → /srv/b.qcow2\n']);
  });

  it('leaves UTF-8 terminals as they were', () => {
    const { out, written } = capture(false, false);
    out.out('a → b …');
    expect(written).toEqual(['a → b …\n']);
  });
});

describe('cutting text as the ASCII set draws it', () => {
  it('clip and pad cut the ASCII text, so the line stays inside its width', () => {
    const line = 'vda → /srv/vm/a-very-long-name.qcow2';
    expect(clip(line, 20, ASCII_ELLIPSIS)).toBe('vda -> /srv/vm/a-...');
    expect(clip(line, 20, '…')).toBe('vda → /srv/vm/a-ver…');
    expect(pad('a→b', { width: 6, align: 'left' }, ASCII_ELLIPSIS)).toBe('a->b  ');
    expect(pad('a→b', { width: 6, align: 'left' }, '…')).toBe('a→b   ');
  });
});

describe('the frame stream', () => {
  it("swaps Ink's own cut mark for one ASCII column on a Linux console, and is the terminal itself otherwise", () => {
    const tty = Object.assign(new PassThrough(), { columns: 80, rows: 24 }) as unknown as NodeJS.WriteStream;
    expect(frameStream(tty, false)).toBe(tty);
    const chunks: string[] = [];
    (tty as unknown as PassThrough).on('data', (c: Buffer) => chunks.push(c.toString()));
    const s = frameStream(tty, true);
    expect(s.columns).toBe(80);
    s.write('| a long line cut by Ink… |');
    expect(chunks.join('')).toBe('| a long line cut by Ink~ |');
  });
});

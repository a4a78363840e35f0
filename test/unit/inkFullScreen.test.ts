/**
 * The bundle's Ink writes a full-screen frame as the lines that changed (scripts/inkPatches.mjs,
 * ink.js): an idle console whose refresh moves only its clock sends one line to the terminal, not
 * a cleared screen and every line again. Ink bundled as the build bundles it, rendering to a
 * terminal played by a small VT: what the terminal shows is always the frame.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a build script in plain JavaScript, without types
import { changedLines, patchInk } from '../../scripts/inkPatches.mjs';

const root = resolve(import.meta.dirname, '../..');
let dir = '';
type Started = { update(lines: string[]): void; unmount(): void };
let start: (stdout: NodeJS.WriteStream, stdin: NodeJS.ReadStream, lines: string[]) => Started;

const APP = `
import { render, Box, Text } from 'ink';
import React from 'react';
export function start(stdout, stdin, lines) {
  let set = () => {};
  function App() {
    const [shown, setShown] = React.useState(lines);
    set = setShown;
    return React.createElement(Box, { flexDirection: 'column', height: stdout.rows }, ...shown.map((t, i) => React.createElement(Text, { key: i, wrap: 'truncate' }, t)));
  }
  const ink = render(React.createElement(App), { stdout, stdin, patchConsole: false, exitOnCtrlC: false });
  return { update: (l) => set(l), unmount: () => ink.unmount() };
}
`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vdtest-inkfull-'));
  const out = await build({
    stdin: { contents: APP, resolveDir: root, loader: 'js' },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    plugins: [
      {
        name: 'as-the-build',
        setup(b) {
          b.onResolve({ filter: /^(react-devtools-core|ws)$/ }, (a) => ({ path: a.path, namespace: 'empty' }));
          b.onResolve({ filter: /\/devtools\.js$/ }, (a) => (a.importer.includes('/ink/') ? { path: a.path, namespace: 'empty' } : undefined));
          b.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'export default { initialize() {}, connectToDevTools() {} };', loader: 'js' }));
          b.onLoad({ filter: /[\\/]ink[\\/]build[\\/](output|measure-text|render-node-to-output|ink)\.js$/ }, (a) => ({
            contents: patchInk(a.path.split(/[\\/]/).pop(), readFileSync(a.path, 'utf8')),
            loader: 'js',
          }));
        },
      },
    ],
  });
  const file = join(dir, 'app.mjs');
  writeFileSync(file, out.outputFiles[0]?.text ?? '');
  // Ink writes nothing but the last frame on a CI machine (is-in-ci, read as it loads).
  const ci = process.env.CI;
  process.env.CI = 'false';
  try {
    start = (await import(pathToFileURL(file).href)).start;
  } finally {
    if (ci === undefined) delete process.env.CI;
    else process.env.CI = ci;
  }
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A terminal of `rows` x `columns` that understands what Ink and the patch write. */
function terminal(columns: number, rows: number) {
  const screen = Array.from({ length: rows }, () => ' '.repeat(columns));
  let r = 0;
  let c = 0;
  const writes: string[] = [];
  const put = (ch: string) => {
    if (c >= columns) {
      c = 0;
      r = Math.min(r + 1, rows - 1);
    }
    const line = screen[r] as string;
    screen[r] = line.slice(0, c) + ch + line.slice(c + 1);
    c++;
  };
  const apply = (s: string) => {
    for (let i = 0; i < s.length; ) {
      const esc = /^\u001b\[(\?)?([\d;]*)([A-Za-z])/.exec(s.slice(i));
      if (esc) {
        i += esc[0].length;
        const [, priv, args = '', cmd] = esc;
        if (priv) continue;
        const n = args.split(';').map((x) => Number(x || 0));
        if (cmd === 'H') [r, c] = [Math.max(1, n[0] || 1) - 1, Math.max(1, n[1] || 1) - 1];
        else if (cmd === 'J' && n[0] === 2) screen.fill(' '.repeat(columns));
        else if (cmd === 'K' && n[0] === 2) screen[r] = ' '.repeat(columns);
        else if (cmd === 'K') screen[r] = (screen[r] as string).slice(0, c).padEnd(columns);
        else if (cmd === 'A') r = Math.max(0, r - (n[0] || 1));
        else if (cmd === 'G') c = Math.max(1, n[0] || 1) - 1;
        continue;
      }
      const ch = s[i] as string;
      i++;
      if (ch === '\n') {
        r = Math.min(r + 1, rows - 1);
        c = 0;
      } else if (ch === '\r') c = 0;
      else put(ch);
    }
  };
  const stdout = Object.assign(new EventEmitter(), {
    isTTY: true,
    columns,
    rows,
    write(chunk: string | Uint8Array) {
      const s = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      writes.push(s);
      apply(s);
      return true;
    },
  }) as unknown as NodeJS.WriteStream;
  return { stdout, writes, shown: () => screen.map((l) => l.trimEnd()) };
}

const settle = () => new Promise((r) => setTimeout(r, 80));
const frameOf = (lines: string[], rows: number) => [...lines, ...Array(rows - lines.length).fill('')];

describe('full-screen frames through the patched Ink', () => {
  it('after the first frames, only the changed line is written, at its row; the terminal shows every frame', async () => {
    const t = terminal(32, 6);
    const stdin = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.ReadStream;
    const lines = ['+- virtdeck ------------------+', '| 1 Guests     updated 10:00:00', '| alpha  running', '| bravo  shut off', '+----------------------------+'];
    const app = start(t.stdout, stdin, lines);
    await settle();
    app.update([...lines]);
    await settle();
    expect(t.shown()).toEqual(frameOf(lines, 6));

    const before = t.writes.length;
    const next = [...lines];
    next[1] = '| 1 Guests     updated 10:00:02';
    app.update(next);
    await settle();
    const sent = t.writes.slice(before).join('');
    expect(sent).not.toContain('\u001b[2J');
    expect(sent).toContain('\u001b[2;1H\u001b[2K| 1 Guests     updated 10:00:02');
    expect(sent).not.toContain('alpha');
    expect(t.shown()).toEqual(frameOf(next, 6));

    // The same frame again (a render that changed nothing on screen) sends no line at all.
    const again = t.writes.length;
    app.update([...next]);
    await settle();
    expect(t.writes.slice(again).join('')).not.toMatch(/alpha|Guests|\u001b\[2J/);
    app.unmount();
  });

  it('a wider terminal gets the whole frame again, from a cleared screen', async () => {
    const t = terminal(30, 5);
    const stdin = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.ReadStream;
    const app = start(t.stdout, stdin, ['one', 'two']);
    await settle();
    app.update(['one', 'two!']);
    await settle();
    (t.stdout as unknown as { columns: number }).columns = 40;
    const before = t.writes.length;
    app.update(['one', 'two!!']);
    await settle();
    expect(t.writes.slice(before).join('')).toContain('\u001b[2J');
    expect(t.shown().slice(0, 2)).toEqual(['one', 'two!!']);
    app.unmount();
  });
});

describe('changedLines', () => {
  it('each changed line at its row, erased first; nothing for the same frame; null when the height differs', () => {
    expect(changedLines('a\nb\nc', 'a\nB\nc')).toBe('\u001b[2;1H\u001b[2KB\u001b[3;1H');
    expect(changedLines('a\nb', 'a\nb')).toBe('');
    expect(changedLines('a\nb', 'a\nb\nc')).toBeNull();
  });
});

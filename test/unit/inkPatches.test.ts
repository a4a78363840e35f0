import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a build script in plain JavaScript, without types
import { patchInk } from '../../scripts/inkPatches.mjs';

/**
 * The bundle's edits of Ink (scripts/inkPatches.mjs): they must still apply to the installed Ink
 * (else the build fails, and says why), and Ink's frame writer must draw exactly what it drew
 * before them, frame after frame, whatever was cached from the frames before.
 */

const root = resolve(import.meta.dirname, '../..');
const inkBuild = join(root, 'node_modules/ink/build');
const source = (file: string) => readFileSync(join(inkBuild, file), 'utf8');

type Write = { x: number; y: number; text: string; transformers?: ((line: string, index: number) => string)[] };
type Op = Write | { clip: { x1?: number; x2?: number; y1?: number; y2?: number } } | 'unclip';
interface OutputLike {
  write(x: number, y: number, text: string, options: { transformers: ((line: string, index: number) => string)[] }): void;
  clip(clip: object): void;
  unclip(): void;
  get(): { output: string; height: number };
}
type OutputClass = new (o: { width: number; height: number }) => OutputLike;

let dir = '';
let Patched: OutputClass;
let Original: OutputClass;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vdtest-inkpatch-'));
  // Ink's output.js as the bundle has it, bundled alone (its imports resolved from Ink's own directory).
  const out = await build({
    stdin: { contents: `export { default } from ${JSON.stringify(join(inkBuild, 'output.js'))};`, resolveDir: root, loader: 'js' },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    logLevel: 'silent',
    plugins: [
      {
        name: 'ink-patches',
        setup(b) {
          b.onLoad({ filter: /[\\/]ink[\\/]build[\\/]output\.js$/ }, (args) => ({ contents: patchInk('output.js', readFileSync(args.path, 'utf8')), loader: 'js' }));
        },
      },
    ],
  });
  const file = join(dir, 'patched-output.mjs');
  writeFileSync(file, out.outputFiles[0]?.text ?? '');
  Patched = (await import(pathToFileURL(file).href)).default;
  Original = (await import(pathToFileURL(join(inkBuild, 'output.js')).href)).default;
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function draw(Output: OutputClass, width: number, height: number, ops: Op[]): string {
  const o = new Output({ width, height });
  for (const op of ops) {
    if (op === 'unclip') o.unclip();
    else if ('clip' in op) o.clip(op.clip);
    else o.write(op.x, op.y, op.text, { transformers: op.transformers ?? [] });
  }
  return o.get().output;
}

const red = (s: string) => `\u001b[31m${s}\u001b[39m`;
const bold = (s: string) => `\u001b[1m${s}\u001b[22m`;
const inverse = (s: string) => `\u001b[7m${s}\u001b[27m`;

/** Frames as a console draws them: a table whose rows mostly stay, one changing, a selection moving. */
function frames(): { width: number; height: number; ops: Op[] }[] {
  const row = (i: number, cpu: string, selected: boolean) => {
    const line = ` guest-${i}   ${red('running')}   ${cpu.padStart(5)}  ${bold('512M')}`;
    return selected ? inverse(line) : line;
  };
  const table = (cpus: string[], selected: number): Op[] => [
    { x: 0, y: 0, text: bold(' NAME        STATE       CPU%   RAM') },
    { clip: { y1: 1, y2: 5 } },
    ...cpus.map((cpu, i) => ({ x: 1, y: 1 + i, text: row(i, cpu, i === selected) })),
    'unclip',
    { x: 0, y: 6, text: 'wide: \u6f22\u5b57 and \u00e9t\u00e9, then an emoji \u{1f600} end' },
    { x: 2, y: 7, text: 'two\nlines', transformers: [(l, i) => `${i}:${l}`] },
  ];
  const base = ['1.0', '2.5', '0.0', '9.9', '3.3', '7.1'];
  return [
    { width: 40, height: 9, ops: table(base, 0) },
    { width: 40, height: 9, ops: table(base, 0) },
    { width: 40, height: 9, ops: table(['1.0', '2.5', '0.4', '9.9', '3.3', '7.1'], 0) },
    { width: 40, height: 9, ops: table(['1.0', '2.5', '0.4', '9.9', '3.3', '7.1'], 1) },
    // Resized: every row is new.
    { width: 30, height: 6, ops: table(base, 1) },
    { width: 40, height: 9, ops: [] },
    { width: 40, height: 9, ops: table(base, 2) },
    // Overlapping writes: the later one wins cell by cell, styles included.
    { width: 20, height: 2, ops: [{ x: 0, y: 0, text: red('aaaaaaaaaa') }, { x: 3, y: 0, text: 'bb' }, { x: 5, y: 1, text: bold(red('cc')) }] },
    // One style straight after another of as many codes.
    { width: 20, height: 2, ops: [{ x: 0, y: 0, text: `${red('ab')}${bold('cd')}${inverse('ef')}` }, { x: 0, y: 1, text: `${bold(red('gh'))}${bold('ij')}` }] },
    { width: 20, height: 2, ops: [{ x: 0, y: 0, text: red('aaaaaaaaaa') }, { x: 3, y: 0, text: 'bb' }] },
  ];
}

describe("the bundle's edits of Ink", () => {
  it('apply to the installed Ink', () => {
    for (const file of ['output.js', 'measure-text.js', 'render-node-to-output.js']) {
      const patched: string = patchInk(file, source(file));
      expect(patched).not.toBe(source(file));
    }
    expect(patchInk('render-node-to-output.js', source('render-node-to-output.js'))).toContain('measureText(text).width');
    expect(patchInk('measure-text.js', source('measure-text.js'))).toMatch(/cache\.size >= \d+\) cache\.clear\(\)/);
  });

  it('fail the build, naming the file, when Ink changed under them', () => {
    expect(() => patchInk('output.js', source('output.js').replace('caches = new OutputCaches();', 'caches = new Caches();'))).toThrow(/ink\/build\/output\.js changed/);
    expect(() => patchInk('output.js', source('output.js').replace('styledCharsToString(lineWithoutEmptyItems)', 'toString(lineWithoutEmptyItems)'))).toThrow(/output\.js changed/);
    expect(() => patchInk('measure-text.js', source('measure-text.js').replace('cache.set(text, dimensions);', ''))).toThrow(/measure-text\.js changed/);
    expect(() => patchInk('render-node-to-output.js', source('render-node-to-output.js').replace('widestLine(text)', 'width(text)'))).toThrow(/render-node-to-output\.js changed/);
  });

  it("the patched frame writer draws every frame as Ink's own does, rows kept from the frame before included", () => {
    const shown: string[] = [];
    for (const f of frames()) {
      const expected = draw(Original, f.width, f.height, f.ops);
      expect(draw(Patched, f.width, f.height, f.ops)).toBe(expected);
      shown.push(expected);
    }
    // The frames do differ from each other: the kept rows were tested against changes.
    expect(new Set(shown).size).toBeGreaterThan(5);
  });
});

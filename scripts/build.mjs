// Bundles the CLI and the TUI into dist/virtdeck.js and the directory beside it, dist/virtdeck-chunks/
// (code loaded on first use), that run on a host with only Node 20: copy both anywhere and
// `node virtdeck.js`. No node_modules needed at run time.
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { patchInk } from './inkPatches.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// `--entry FILE --outfile FILE` bundle something else the same way (used to check Ink in a bundle).
const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const entry = path.resolve(arg('--entry') ?? path.join(root, 'src', 'cli', 'main.tsx'));
const outfile = path.resolve(arg('--outfile') ?? path.join(root, 'dist', 'virtdeck.js'));

/**
 * Ink loads React DevTools (its devtools.js imports `ws` and `react-devtools-core`) only when
 * DEV=true. Those packages are not installed, and an external import would be hoisted to the top
 * of the ESM bundle and fail on every start, so the bundle gets an empty module in their place.
 */
const noDevtools = {
  name: 'no-devtools',
  setup(b) {
    b.onResolve({ filter: /^(react-devtools-core|ws)$/ }, (args) => ({ path: args.path, namespace: 'virtdeck-empty' }));
    b.onResolve({ filter: /\/devtools\.js$/ }, (args) =>
      args.importer.includes(`${path.sep}ink${path.sep}`) ? { path: args.path, namespace: 'virtdeck-empty' } : undefined,
    );
    // With DEV=true in the environment Ink would also read its own package.json from disk, which a
    // copied bundle does not have: its isDev() is pinned to false.
    b.onLoad({ filter: /[\\/]ink[\\/]build[\\/]utils\.js$/ }, () => ({ contents: 'export const isDev = () => false;', loader: 'js' }));
    // Ink's frame writer and text measuring, edited so that a mostly unchanged screen is not worked
    // out again each frame and no cache grows without end (scripts/inkPatches.mjs says what and why).
    // The build fails when an edit no longer applies.
    const patched = /[\\/]ink[\\/]build[\\/](output|measure-text|render-node-to-output|ink)\.js$/;
    b.onLoad({ filter: patched }, async (args) => ({ contents: patchInk(path.basename(args.path), await readFile(args.path, 'utf8')), loader: 'js' }));
    b.onLoad({ filter: /.*/, namespace: 'virtdeck-empty' }, () => ({
      contents: 'export default { initialize() {}, connectToDevTools() {} };',
      loader: 'js',
    }));
  },
};

// CommonJS dependencies (react, scheduler, signal-exit…) call require() for Node built-ins; an ESM
// bundle has no `require`, so the banner makes one.
// Run as a program (`./virtdeck.js`, the `virtdeck` command) Node gets a 1 MiB young generation
// instead of letting each semi-space grow to 16 MiB: the console's garbage is frames, short-lived
// and small, and the bigger nursery only held more of it. bench/top.ts: about a sixth off the
// console's resident memory (~24 MiB) for ~0.3 % of a core more in scavenges; --optimize-for-size
// took another ~15 MiB but doubled the time in the collector, so it is not used. V8 reads the flag
// only at start, so it cannot be set from inside.
export const NODE_FLAGS = ['--max-semi-space-size=1'];
const banner = [
  `#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`,
  "import { createRequire as __virtdeckCreateRequire } from 'node:module';",
  'const require = __virtdeckCreateRequire(import.meta.url);',
].join('\n');

// The entry (dist/virtdeck.js) and, in a directory beside it (dist/virtdeck-chunks/), the code it
// imports only when first used: a wizard, a pane not shown, a CLI subcommand. V8 keeps the source
// and function data of every module that ran, so a console on the Guests pane carries only what it
// shows (bench/top.ts).
const outdir = path.dirname(outfile);
const name = path.basename(outfile).replace(/\.m?js$/, '');
const chunksName = `${name}-chunks`;
await mkdir(outdir, { recursive: true });
const started = Date.now();
// Written beside and renamed into place: a virtdeck starting from the bundle meanwhile (a test, a
// detached worker) reads the old entry with its chunks or the new one with its chunks, never half of
// one. Chunk names carry a hash of their content, so a new build adds files instead of changing them.
const partial = path.join(outdir, `.${name}.${process.pid}.partial`);
let result;
try {
  result = await build({
    entryPoints: [{ in: entry, out: name }],
    outdir: partial,
    splitting: true,
    chunkNames: `${chunksName}/[name]-[hash]`,
    metafile: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    jsx: 'automatic',
    banner: { js: banner },
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [noDevtools],
    legalComments: 'none',
    // Whitespace and comments out: the source V8 keeps in memory is a quarter smaller and, comments
    // being where most non-ASCII text is (the warning below), stays one byte per character.
    // Identifiers and syntax are left alone, so a stack trace still names its functions.
    minifyWhitespace: true,
    logLevel: 'warning',
  });
} catch {
  // esbuild has already printed each error with its file and line.
  await rm(partial, { recursive: true, force: true });
  console.error('build failed');
  process.exit(1);
}
const outputs = Object.keys(result.metafile.outputs).map((f) => path.relative(partial, path.resolve(f)));
const entryOut = `${name}.js`;
const chunks = outputs.filter((f) => f !== entryOut);
if (chunks.some((f) => path.dirname(f) !== chunksName)) throw new Error(`esbuild wrote outside ${chunksName}/: ${chunks.join(', ')}`);
// V8 keeps a module's whole source in memory while it runs (lazy compilation reads it again), and
// one non-ASCII character (esbuild leaves regex literals and comments as written) makes it hold all
// of it as UTF-16: twice the memory.
for (const f of outputs) {
  const text = await readFile(path.join(partial, f), 'latin1');
  const wide = text.search(/[^\x00-\x7f]/);
  if (wide >= 0) console.warn(`warning: non-ASCII text in ${f} (near ${JSON.stringify(text.slice(Math.max(0, wide - 40), wide + 10))}) doubles its size in memory; write it as \\u escapes`);
}
const chunksDir = path.join(outdir, chunksName);
await mkdir(chunksDir, { recursive: true, mode: 0o755 });
// The chunks are ES modules whatever package.json sits above a copied dist/.
await writeFile(path.join(chunksDir, 'package.json'), '{ "type": "module" }\n');
for (const f of chunks) await rename(path.join(partial, f), path.join(outdir, f));
await chmod(path.join(partial, entryOut), 0o755);
await rename(path.join(partial, entryOut), outfile);
await rm(partial, { recursive: true, force: true });
// Chunks of earlier builds go once nothing can still be running from them: a console started from
// the old entry may open a wizard hours later, so only those a day old.
const current = new Set(chunks.map((f) => path.basename(f)));
for (const f of await readdir(chunksDir)) {
  if (current.has(f) || f === 'package.json') continue;
  const old = path.join(chunksDir, f);
  if (Date.now() - (await stat(old)).mtimeMs > 86_400_000) await rm(old, { force: true });
}
const sizes = await Promise.all(outputs.map((f) => stat(path.join(outdir, f)).then((s) => s.size)));
const entrySize = (await stat(outfile)).size;
console.log(
  `built ${path.relative(root, outfile)}: ${(entrySize / 1024).toFixed(0)} KiB, and ${chunks.length} chunks in ${path.relative(root, chunksDir)}/ (${((sizes.reduce((a, b) => a + b, 0) - entrySize) / 1024).toFixed(0)} KiB) in ${Date.now() - started} ms`,
);

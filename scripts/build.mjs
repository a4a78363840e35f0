// Bundles the CLI and the TUI into ONE file, dist/virtdeck.js, that runs on a host with only
// Node 20: copy it anywhere and `node virtdeck.js`. No node_modules needed at run time.
import { chmod, mkdir, readFile, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

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
    // Ink turns every line of every frame into styled characters afresh (ANSI tokenising, grapheme
    // widths), with caches that live for one frame. A console redraws a screen that is mostly the
    // same lines every refresh, so the bundle keeps them across frames (the cached values depend
    // only on the line's text), emptied whenever they pass a few screens' worth.
    b.onLoad({ filter: /[\\/]ink[\\/]build[\\/]output\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const patched = source.replace(
        'caches = new OutputCaches();',
        'caches = sharedOutputCaches.styledChars.size > 4000 || sharedOutputCaches.widths.size > 8000 ? (sharedOutputCaches = new OutputCaches()) : sharedOutputCaches;',
      );
      if (patched === source) throw new Error('ink/build/output.js changed: the frame cache patch no longer applies');
      return { contents: `${patched}\nvar sharedOutputCaches = new OutputCaches();\n`, loader: 'js' };
    });
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

await mkdir(path.dirname(outfile), { recursive: true });
const started = Date.now();
// Written beside and renamed into place: a virtdeck starting from the bundle meanwhile (a test, a
// detached worker) reads the old file or the new one, never half of one.
const partial = `${outfile}.${process.pid}.partial`;
try {
  await build({
    entryPoints: [entry],
    outfile: partial,
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
  console.error('build failed');
  process.exit(1);
}
// V8 keeps the bundle's whole source in memory while it runs (lazy compilation reads it again), and
// one non-ASCII character (esbuild leaves regex literals and comments as written) makes it hold all
// of it as UTF-16: twice the memory.
const text = await readFile(partial, 'latin1');
const wide = text.search(/[^\x00-\x7f]/);
if (wide >= 0) console.warn(`warning: non-ASCII text in the bundle (near ${JSON.stringify(text.slice(Math.max(0, wide - 40), wide + 10))}) doubles its size in memory; write it as \\u escapes`);
await chmod(partial, 0o755);
await rename(partial, outfile);
const { size } = await stat(outfile);
console.log(`built ${path.relative(root, outfile)}: ${(size / 1024).toFixed(0)} KiB in ${Date.now() - started} ms`);

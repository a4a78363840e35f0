// Bundles the CLI and the TUI into ONE file, dist/virtdeck.js, that runs on a host with only
// Node 20: copy it anywhere and `node virtdeck.js`. No node_modules needed at run time.
import { chmod, mkdir, rename, stat } from 'node:fs/promises';
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
    b.onLoad({ filter: /.*/, namespace: 'virtdeck-empty' }, () => ({
      contents: 'export default { initialize() {}, connectToDevTools() {} };',
      loader: 'js',
    }));
  },
};

// CommonJS dependencies (react, scheduler, signal-exit…) call require() for Node built-ins; an ESM
// bundle has no `require`, so the banner makes one.
const banner = [
  '#!/usr/bin/env node',
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
    logLevel: 'warning',
  });
} catch {
  // esbuild has already printed each error with its file and line.
  console.error('build failed');
  process.exit(1);
}
await chmod(partial, 0o755);
await rename(partial, outfile);
const { size } = await stat(outfile);
console.log(`built ${path.relative(root, outfile)}: ${(size / 1024).toFixed(0)} KiB in ${Date.now() - started} ms`);

#!/usr/bin/env -S node --max-semi-space-size=1
// (The V8 flag of dist/virtdeck.js's own shebang: scripts/build.mjs NODE_FLAGS says why.)
// The `virtdeck` command: the bundled dist/virtdeck.js when it was built, else the TypeScript
// sources through tsx, so `npm link` works during development without a build step.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/virtdeck.js', import.meta.url));
if (existsSync(bundle)) {
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/main.tsx', import.meta.url).href);
}

import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bundleEntry, workerArgv } from '../../src/jobs/detached.js';

/**
 * A detached worker is this same virtdeck run again: from the bundle, the entry (dist/virtdeck.js),
 * never the chunk the launching code happens to sit in (dist/virtdeck-chunks/chunk-X.js), which
 * runs nothing on its own.
 */
describe('workerArgv', () => {
  it('runs the bundle entry when the launching code is in a chunk', () => {
    const chunk = pathToFileURL('/opt/virtdeck/dist/virtdeck-chunks/chunk-ABC123.js').href;
    expect(workerArgv('J1', 'run', chunk).argv.slice(1)).toEqual(['/opt/virtdeck/dist/virtdeck.js', 'job', 'run', '--id', 'J1']);
    expect(workerArgv('J1', 'rollback', chunk).argv.slice(1)).toEqual(['/opt/virtdeck/dist/virtdeck.js', 'job', 'run', '--id', 'J1', '--rollback']);
  });

  it('runs a single-file bundle as it is, and names the entry of any bundle by its chunk directory', () => {
    expect(workerArgv('J2', 'run', pathToFileURL('/tmp/x/virtdeck.js').href).argv[1]).toBe('/tmp/x/virtdeck.js');
    expect(bundleEntry('/tmp/b/virtdeck-top-chunks/detached-XYZ.js')).toBe('/tmp/b/virtdeck-top.js');
    expect(bundleEntry('/tmp/b/chunks/x.js')).toBe('/tmp/b/chunks/x.js');
  });
});

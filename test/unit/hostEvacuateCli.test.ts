import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CliDeps, runCli } from '../../src/cli/commands/program.js';
import type { Output } from '../../src/cli/output.js';
import { createFakeHost } from '../helpers/fakeHost.js';

/** `virtdeck host evacuate`: bad input is exit 2 with its sentence, before any host is asked anything. */

let home = '';
const before = process.env.VIRTDECK_HOME;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'vdtest-evcli-'));
  process.env.VIRTDECK_HOME = home;
});
afterEach(() => {
  rmSync(home, { recursive: true, force: true });
  if (before === undefined) delete process.env.VIRTDECK_HOME;
  else process.env.VIRTDECK_HOME = before;
});

async function cli(argv: string[]) {
  const fake = createFakeHost([{ name: 'web', state: 'running', vcpus: 1, memoryMiB: 512 }]);
  let out = '';
  let err = '';
  const output = (json: boolean): Output => ({ json, out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  const deps: CliDeps = { version: '0', createHost: () => fake.host, runTui: async () => {}, ensureDemo: async () => {}, resetDemo: async () => [], output };
  const code = await runCli(argv, deps);
  return { code, out, err, calls: fake.calls };
}

describe('virtdeck host evacuate: bad input', () => {
  it.each([
    [['host', 'evacuate'], /host evacuate needs --to HOST \(or --return\)/],
    [['host', 'evacuate', '--to', 'b', '--from', 'c'], /--from goes only with --return/],
    [['host', 'evacuate', '--return', '--to', 'b'], /--to does not go with --return/],
    [['host', 'evacuate', '--return', '--include-shut-off'], /--include-shut-off does not go with --return/],
    [['host', 'evacuate', '--to', 'b', '--bandwidth', 'lots'], /--bandwidth "?lots"? is not a whole number of MiB\/s/],
    [['host', 'evacuate', '--to', 'nosuchhost'], /There is no host "nosuchhost" in the config file/],
    [['host', 'evacuate', '--return'], /No evacuation of fakehost has guests away/],
  ])('%j is exit 2 and runs nothing on the host', async (argv, sentence) => {
    const r = await cli(argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(sentence);
    expect(r.calls).toEqual([]);
  });
});

import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';

/** virsh exits 0 after some failures and says so only on stderr (undefine --remove-all-storage on a plain file). */
let dir = '';
let fakeVirsh = '';

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vdt12b-virsh-'));
  fakeVirsh = path.join(dir, 'virsh');
  await writeFile(
    fakeVirsh,
    `#!/bin/sh\necho "Domain 'x' has been undefined"\necho "error: Storage volume 'vda'(/x/disk.qcow2) is not managed by libvirt. Remove it manually." >&2\nexit 0\n`,
  );
  await chmod(fakeVirsh, 0o755);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('an `error:` line from virsh with exit code 0', () => {
  it('fails the run with the error worded', async () => {
    const run = new LocalExecutor().run([fakeVirsh, 'undefine', '--domain', 'x', '--remove-all-storage']);
    await expect(run).rejects.toMatchObject({ name: 'HostError', exitCode: 0 });
    await expect(run).rejects.toThrow("is not managed by libvirt");
  });

  it('is an answer in a `;` batch that asks for it', async () => {
    const r = await new LocalExecutor().run([fakeVirsh, 'list; echo @@'], { virshErrorsAreAnswers: true });
    expect(r.exitCode).toBe(0);
  });

  it('is nothing special from another program', async () => {
    const r = await new LocalExecutor().run(['sh', '-c', 'echo "error: not really" >&2']);
    expect(r.stderr).toContain('error: not really');
  });
});

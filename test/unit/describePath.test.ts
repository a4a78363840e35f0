/** What the import picker asks the host about a typed path, on this machine's real files. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describePath, homeDir, listingRefusal } from '../../src/host/dirListing.js';
import { LocalExecutor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';

const exec = new LocalExecutor();
const host: HostContext = { name: 'local', uri: 'qemu:///system', virshExec: exec, sysExec: exec };
const dir = mkdtempSync(join(tmpdir(), 'vd-describe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('describePath', () => {
  it('a directory (also through a symlink), a file, a missing path', async () => {
    mkdirSync(join(dir, 'vm'));
    writeFileSync(join(dir, 'vm', 'a.vmx'), 'x');
    symlinkSync(join(dir, 'vm'), join(dir, 'link'));
    symlinkSync(join(dir, 'nowhere'), join(dir, 'broken'));
    expect(await describePath(host, join(dir, 'vm'))).toBe('dir');
    expect(await describePath(host, join(dir, 'link'))).toBe('dir');
    expect(await describePath(host, join(dir, 'vm', 'a.vmx'))).toBe('file');
    expect(await describePath(host, join(dir, 'nope.vmx'))).toBe('missing');
    expect(await describePath(host, join(dir, 'broken'))).toBe('missing');
  });
  it("$HOME is the host's, and a listing that fails says why in one sentence", async () => {
    expect(await homeDir(host)).toBe(process.env.HOME ?? '/');
    await expect(exec.run(['ls', '-1Ap', '--', join(dir, 'nope')])).rejects.toSatisfy((e: unknown) => listingRefusal(join(dir, 'nope'), e) === `${join(dir, 'nope')} does not exist.`);
  });
});

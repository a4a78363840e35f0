import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Executor } from '../../src/host/exec.js';
import { guestfsEnv } from '../../src/host/guestfsEnv.js';
import { type RegSection, renderReg } from '../../src/model/mergeide.js';
import { corpusPath } from './corpus.js';

/**
 * A qcow2 that looks like a Windows system disk to MergeIDE: an NTFS partition holding
 * /Windows/System32/config/SYSTEM (the hivex corpus' `minimal` hive with two control sets and
 * Select\Current, plus `extraKeys`) and an empty drivers directory. ONE guestfish launch; copy the result for
 * each scenario instead of building it again.
 */
export async function buildTinyWindowsImage(exec: Executor, dir: string, name = 'win.qcow2', extraKeys: RegSection[] = []): Promise<string> {
  const hive = join(dir, 'SYSTEM.build');
  copyFileSync(corpusPath('hives', 'minimal'), hive);
  chmodSync(hive, 0o644);
  const build = renderReg([
    { path: 'HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001', values: [] },
    { path: 'HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002', values: [] },
    ...extraKeys,
    { path: 'HKEY_LOCAL_MACHINE\\SYSTEM\\Select', values: [{ name: 'Current', type: 'dword', data: 1 }, { name: 'LastKnownGood', type: 'dword', data: 2 }] },
  ]);
  execFileSync('hivexregedit', ['--merge', '--prefix', 'HKEY_LOCAL_MACHINE\\SYSTEM', hive], { input: build });
  const disk = join(dir, name);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '64M']);
  const env = { ...process.env, ...(await guestfsEnv(exec)) };
  const script = ['run', 'part-disk /dev/sda mbr', 'mkfs ntfs /dev/sda1', 'mount /dev/sda1 /', 'mkdir-p /Windows/System32/config', 'mkdir-p /Windows/System32/drivers', `upload ${hive} /Windows/System32/config/SYSTEM`, 'umount-all', ''].join('\n');
  execFileSync('guestfish', ['--format=qcow2', '-a', disk], { input: script, env, timeout: 600_000 });
  return disk;
}

import { execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type RegSection, renderReg } from '../../src/model/mergeide.js';
import { corpusPath } from './corpus.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

/**
 * A qcow2 that looks like a Windows system disk to MergeIDE: an MBR with one NTFS partition from
 * 1 MiB holding /Windows/System32/config/SYSTEM (the hivex corpus' `minimal` hive with two
 * control sets and Select\Current, plus `extraKeys`) and an empty drivers directory. Made on the
 * host (mkntfs, then ntfs-3g, the driver the libguestfs appliance uses too, to fill it), where a
 * guestfish build costs an appliance launch; copy the result for each scenario instead of
 * building it again.
 */
export async function buildTinyWindowsImage(dir: string, name = 'win.qcow2', extraKeys: RegSection[] = []): Promise<string> {
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

  const raw = join(dir, `${name}.raw`);
  const part = join(dir, `${name}.part`);
  const sizeMiB = 64;
  writeFileSync(part, '');
  truncateSync(part, (sizeMiB - 1) * MiB);
  // Quick format; 2048 hidden sectors, as for a partition that starts at 1 MiB.
  await run('mkntfs', ['-F', '-Q', '-q', '-s', '512', '-p', '2048', '-H', '255', '-S', '63', part]);
  await withNtfsMounted(part, join(dir, `${name}.mnt`), (root) => {
    mkdirSync(join(root, 'Windows/System32/config'), { recursive: true });
    mkdirSync(join(root, 'Windows/System32/drivers'), { recursive: true });
    copyFileSync(hive, join(root, 'Windows/System32/config/SYSTEM'));
  });
  writeFileSync(raw, '');
  truncateSync(raw, sizeMiB * MiB);
  execFileSync('sfdisk', ['-q', raw], { input: 'label: dos\nstart=2048, type=7\n' });
  await run('dd', [`if=${part}`, `of=${raw}`, 'bs=1M', 'seek=1', 'conv=notrunc,sparse', 'status=none']);
  const disk = join(dir, name);
  await run('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, disk]);
  rmSync(raw);
  rmSync(part);
  return disk;
}

/**
 * ntfs-3g serving `image` at a fresh `mnt` while `fill` runs, then unmounted. ntfs-3g stays in the
 * foreground (no_detach) so the image is known to be written and closed when it exits, which
 * fusermount -u alone does not wait for.
 */
async function withNtfsMounted(image: string, mnt: string, fill: (root: string) => void): Promise<void> {
  mkdirSync(mnt, { mode: 0o700 });
  const daemon = spawn('ntfs-3g', ['-o', 'no_detach', image, mnt], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  daemon.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => daemon.on('close', resolve));
  let mounted = false;
  try {
    for (let i = 0; i < 400 && !mounted && daemon.exitCode === null; i++) {
      mounted = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === mnt);
      if (!mounted) await new Promise((r) => setTimeout(r, 50));
    }
    if (mounted) fill(mnt);
  } finally {
    if (mounted) await run('fusermount', ['-u', mnt]);
    else daemon.kill();
  }
  const code = await exited;
  rmdirSync(mnt);
  if (!mounted || code !== 0) throw new Error(`ntfs-3g ${mounted ? `ended with ${code} after unmounting` : 'did not mount'} ${image}: ${stderr.trim()}`);
}

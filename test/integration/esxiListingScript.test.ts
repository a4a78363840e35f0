/**
 * The listing script as a real POSIX sh runs it (dash here, busybox ash on ESXi), with a stand-in
 * `vim-cmd` first on PATH answering as ESXi 7 does: registered VMs with their power state, a VM
 * vim-cmd does not know (its .lck decides), and the datastore seen through its name link and its
 * UUID directory. No ssh: the script and its parser are what is under test.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listAndReadEsxiVm } from '../../src/host/esxi.js';
import { LISTING_SCRIPT, parseEsxiListing, pickVm } from '../../src/model/esxiListing.js';
import { LIST_THEN_VMDIR_SCRIPT, listedEnd, parseVmDirDump } from '../../src/model/esxiVmDir.js';
import { makeDatastoreRoot } from '../helpers/esxiStandIn.js';
import { scratchDir } from '../helpers/tinyGuest.js';

const scratch = scratchDir('vdtest-esxils-');
afterAll(() => scratch.remove());

function vimCmd(bin: string): void {
  mkdirSync(bin);
  const script = [
    '#!/bin/sh',
    'case "$1" in',
    'vmsvc/getallvms)',
    "  printf '%s\\n' 'Vmid      Name                 File                   Guest OS      Version   Annotation'",
    "  printf '%s\\n' '1      web01          [datastore1] web01/web01.vmx   debian10_64Guest   vmx-13   '",
    "  printf '%s\\n' '2      Win 11         [datastore1] win11/win11.vmx   windows9_64Guest   vmx-19   payroll'",
    '  ;;',
    'vmsvc/power.getstate)',
    "  echo 'Retrieved runtime info'",
    '  case "$2" in 1) echo "Powered off";; 2) echo "Powered on";; *) echo "(vim.fault.NotFound)"; exit 1;; esac',
    '  ;;',
    'esac',
    '',
  ].join('\n');
  writeFileSync(join(bin, 'vim-cmd'), script);
  chmodSync(join(bin, 'vim-cmd'), 0o755);
}

describe('the ESXi listing script under a real sh', () => {
  const root = join(scratch.dir, 'vmfs', 'volumes');
  const store = makeDatastoreRoot(root);
  for (const d of ['web01', 'win11', 'copied', 'spare']) {
    mkdirSync(join(store, d));
    writeFileSync(join(store, d, `${d}.vmx`), 'displayName = "x"\n');
  }
  // ESXi's own lock beside a VM it runs; a copied-in VM still open elsewhere.
  mkdirSync(join(store, 'win11', 'win11.vmx.lck'));
  writeFileSync(join(store, 'copied', '.lck-0a1b2c3d00000000'), '');
  // Names a hostile datastore may hold: neither reaches the answer as a VM.
  mkdirSync(join(store, 'evil\nname'));
  writeFileSync(join(store, 'evil\nname', 'x.vmx'), '');

  const run = (path: string) => execFileSync('dash', ['-c', LISTING_SCRIPT, 'sh', root], { encoding: 'utf8', env: { PATH: path } });

  it('with vim-cmd: names and power state from it, the lock for a VM it does not know, each VM once', () => {
    const bin = join(scratch.dir, 'bin');
    vimCmd(bin);
    const l = parseEsxiListing(run(`${bin}:/usr/bin:/bin`), root);
    expect(l.vimCmd).toBe(true);
    expect(l.vms.map((v) => [v.name, v.power, v.powerFrom, v.vmid, v.datastore])).toEqual([
      ['copied', 'on', 'lock', null, 'datastore1'],
      ['spare', 'off', 'lock', null, 'datastore1'],
      ['web01', 'off', 'vim-cmd', 1, 'datastore1'],
      ['Win 11', 'on', 'vim-cmd', 2, 'datastore1'],
    ]);
  });

  it('without vim-cmd: every VM by its .lck alone', () => {
    const l = parseEsxiListing(run('/usr/bin:/bin'), root);
    expect(l.vimCmd).toBe(false);
    expect(l.vms.map((v) => [v.name, v.power])).toEqual([
      ['copied', 'on'],
      ['spare', 'off'],
      ['web01', 'off'],
      ['win11', 'on'],
    ]);
  });

  describe('with the VM directory after it, in one session (import esxi --vm)', () => {
    // busybox ash as on ESXi, and dash; the answer on stdin is this side's line after the listing.
    const shells = [['dash'], ['busybox', 'sh']];
    const both = (shell: string[], line: string) =>
      execFileSync(shell[0] as string, [...shell.slice(1), '-c', LIST_THEN_VMDIR_SCRIPT, 'sh', root], { input: line, stdio: ['pipe', 'pipe', 'ignore'], env: { PATH: '/usr/bin:/bin' } });

    it.each(shells)('%s: the listing, then the directory named on stdin', (...shell) => {
      const out = both(shell, `${join(root, 'datastore1', 'web01')}\n`);
      const end = listedEnd(out);
      expect(parseEsxiListing(out.subarray(0, end).toString('utf8'), root).vms.map((v) => v.name)).toEqual(['copied', 'spare', 'web01', 'win11']);
      const dump = parseVmDirDump(out.subarray(end), join(root, 'datastore1', 'web01'));
      expect(dump.files.get('web01.vmx')?.toString()).toBe('displayName = "x"\n');
    });

    it.each(shells)('%s: an empty line ends it without reading a directory; a line is a path, never a command', (...shell) => {
      const empty = both(shell, '\n');
      expect(empty.subarray(listedEnd(empty)).length).toBe(0);
      const marker = join(scratch.dir, `ran-${shell.join('')}`);
      expect(() => both(shell, `$(touch ${marker})\n`)).toThrow();
      expect(() => execFileSync('test', ['-e', marker])).toThrow();
    });

    // An `ssh` first on PATH that runs the remote command here with sh, as sshd would.
    const ssh = join(scratch.dir, 'ssh-here');
    mkdirSync(ssh);
    writeFileSync(join(ssh, 'ssh'), '#!/bin/sh\nwhile [ "$1" != -- ]; do shift; done\nshift 2\nexec sh -c "$1"\n');
    chmodSync(join(ssh, 'ssh'), 0o755);
    const over = async <T>(f: () => Promise<T>): Promise<T> => {
      const path = process.env.PATH;
      process.env.PATH = `${ssh}:${path}`;
      try {
        return await f();
      } finally {
        process.env.PATH = path;
      }
    };

    it('listAndReadEsxiVm: the VM picked from the listing, its directory from the same session', async () => {
      const r = await over(() => listAndReadEsxiVm(['ssh', '--', 'root@esx'], root, (l) => pickVm(l, 'spare', 'root@esx').vmx.replace(/\/[^/]+$/, '')));
      expect(r.listing.vms).toHaveLength(4);
      expect([...r.dump.entries.keys()]).toEqual(['spare.vmx']);
    });

    it('listAndReadEsxiVm: a VM the listing does not have is the refusal, in one sentence', async () => {
      await expect(over(() => listAndReadEsxiVm(['ssh', '--', 'root@esx'], root, (l) => pickVm(l, 'nope', 'root@esx').vmx))).rejects.toThrow(
        `root@esx has no VM "nope" under ${root}.`,
      );
    });
  });
});

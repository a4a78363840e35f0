/**
 * Issue 10, item 1, for the commands composed from names inside an image without a launch: an LVM
 * volume name in the grow (guestfish command-line words), and file names in file browse/restore
 * (`guestfish --remote` argv words, and the one string list guestfish parses itself).
 */
import { describe, expect, it } from 'vitest';
import type { ExecOptions, ExecResult, Executor } from '../../src/host/exec.js';
import { openGuestfish } from '../../src/host/guestfsBrowse.js';
import { type DiskLayout, decideGrow, type GrowOp, growCommands, guestfishArgv } from '../../src/model/expandPlan.js';
import { UserError } from '../../src/model/userError.js';

const M = 1024 * 1024;

function lvmLayout(lv: string): DiskLayout {
  return {
    partitionTable: 'msdos',
    diskBytes: 128 * M,
    partitions: [
      { num: 1, start: M, end: 33 * M - 1, size: 32 * M, fsType: 'ext4' },
      { num: 2, start: 33 * M, end: 128 * M - 1, size: 95 * M, fsType: null },
    ],
    filesystems: { '/dev/sda1': 'ext4', [lv]: 'ext4' },
    pvs: ['/dev/sda2'],
    vgs: ['vg'],
    lvs: [lv],
    os: { root: lv, type: 'linux', distro: 'debian', product: 'Debian' },
  };
}

describe('grow: an LVM volume name from the guest', () => {
  const hostile = ['/dev/vg/x : !touch /root.owned', '/dev/vg/:', ':', '/dev/vg/root\n!touch /root.owned', '/dev/vg/$(touch /root.owned)', '/dev/vg/-rf'];

  it.each(hostile)('%j is not planned into a guestfish launch; the guest side is left to the admin', (lv) => {
    const d = decideGrow(lvmLayout(lv));
    expect('reason' in d && d.reason).toMatch(/not one LVM writes/);
  });

  it('an op naming such a device (e.g. from a journal) builds no commands: UserError, nothing to run', () => {
    const op: GrowOp = {
      partitionTable: 'msdos',
      partition: 2,
      partitionStart: 33 * M,
      partitionDevice: '/dev/sda2',
      fsDevice: '/dev/vg/x',
      fsType: 'ext4',
      fs: 'ext',
      lvm: { pv: '/dev/sda2', lv: ':' },
    };
    expect(() => growCommands(op, 256 * M)).toThrow(UserError);
  });

  it('a name LVM writes is one word of the launch, and ":" only ever separates commands', () => {
    const d = decideGrow(lvmLayout('/dev/vg_sys-1/lv.root+x'));
    if (!('op' in d)) throw new Error(d.reason);
    const argv = guestfishArgv({}, '/img.raw', 'raw', growCommands(d.op, 256 * M));
    expect(argv).toContain('/dev/vg_sys-1/lv.root+x');
    const words = argv.slice(argv.indexOf('--') + 1);
    // After each ":" comes a command name virtdeck wrote.
    words.forEach((w, i) => {
      if (w === ':') expect(words[i + 1]).toMatch(/^[a-z][a-z0-9-]*$/);
    });
  });
});

/** guestfish's parse_string_list (fish/fish.c) for the single-quoted lists guestfsBrowse writes. */
function stringList(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (i >= text.length) break;
    let tok = '';
    let inQuote = false;
    while (i < text.length && (inQuote || (text[i] !== ' ' && text[i] !== '\t'))) {
      if (text[i] === "'") {
        inQuote = !inQuote;
        i++;
        continue;
      }
      if (text[i] === '\\' && text[i + 1] === "'") throw new Error('escaped quote: guestfish would read this differently');
      tok += text[i++];
    }
    if (inQuote) throw new Error('runaway quote');
    out.push(tok);
  }
  return out;
}

/** A guestfish server stand-in behind guestfsBrowse's `sh -c … guestfish --remote` wrapper. */
function fakeSession(names: string[]) {
  const calls: string[][] = [];
  const ok = (argv: string[], stdout: string): ExecResult => ({ argv, exitCode: 0, stdout, stderr: '' });
  const exec: Executor = {
    label: 'fake',
    async run(argv: string[], _o: ExecOptions = {}): Promise<ExecResult> {
      if (argv[0] === 'grep' || argv[0] === 'test') return { argv, exitCode: 1, stdout: '', stderr: '' };
      if (argv[0] === 'sh' && argv[2]?.includes('--listen')) return ok(argv, 'GUESTFISH_PID=4242; export GUESTFISH_PID\n');
      if (argv[0] === 'sh' && argv[2]?.includes('--remote')) {
        const [cmd, ...args] = argv.slice(5);
        calls.push([cmd as string, ...args]);
        switch (cmd) {
          case '-list-filesystems':
            return ok(argv, '/dev/sda1: ext4\n');
          case '-blockdev-getsize64':
            return ok(argv, '1048576\n');
          case '-is-dir':
            return ok(argv, args[0] === '/d' ? 'true\n' : 'false\n');
          case '-is-file':
            return ok(argv, 'true\n');
          case '-ls0':
            return ok(argv, names.map((n) => `${n}\0`).join(''));
          case '-lstatnslist':
            return ok(argv, stringList(args[1] as string).map((_, i) => `[${i}] = {\n  st_mode: 33188\n  st_size: 1\n}\n`).join(''));
          case '-lstatns':
            return ok(argv, '  st_mode: 33188\n  st_size: 1\n}\n');
          default:
            return ok(argv, '');
        }
      }
      if (argv[0] === 'sh' || argv[0] === 'mkdir' || argv[0] === 'rm') return ok(argv, '');
      if (argv[0] === 'mktemp') return ok(argv, '/restore/.virtdeck-extract-abc\n');
      throw new Error(`unexpected ${argv.join(' ')}`);
    },
    interactive: async () => 0,
  };
  return { exec, calls };
}

describe('file browse and restore: names of files in the guest', () => {
  const names = ['x | touch /root.owned', "it's", 'back\\slash', 'a\nb', ':', '-rf', '"quoted"', '$(id)', 'tab\there', '<! cat /etc/shadow', '!reboot', 'esc\u001b]2;t\u0007'];

  it('every name reaches guestfish as exactly one argument (argv word, or one entry of its string list)', async () => {
    const f = fakeSession(names);
    const s = await openGuestfish(f.exec, [{ path: '/img.raw', format: 'raw' }]);
    const entries = await s.list('/dev/sda1', '/d');
    expect(entries.map((e) => e.name).sort()).toEqual([...names].sort());
    const asked = new Set<string>();
    for (const [cmd, ...args] of f.calls) {
      if (cmd === '-lstatnslist') for (const n of stringList(args[1] as string)) asked.add(`/d/${n}`);
      if (cmd === '-lstatns') asked.add(args[0] as string);
    }
    expect([...asked].sort()).toEqual(names.map((n) => `/d/${n}`).sort());
    await s.extract('/dev/sda1', ['/d/x | touch /root.owned'], '/restore');
    expect(f.calls.find((c) => c[0] === '-copy-out')).toEqual(['-copy-out', '/d/x | touch /root.owned', '/restore/.virtdeck-extract-abc']);
  });

  it('a lone ":" is never sent (it would start another guestfish command)', async () => {
    const f = fakeSession([]);
    const s = await openGuestfish(f.exec, [{ path: '/img.raw', format: 'raw' }]);
    await expect(s.call(['mount-ro', ':', '/'])).rejects.toThrow(/cannot be passed to guestfish/);
    expect(f.calls.some((c) => c.includes(':'))).toBe(false);
  });
});

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { readVmdkDescriptor } from '../../src/host/vmdk.js';
import { type ConvertInput, prepareConvert, runConvert } from '../../src/jobs/convert.js';
import { targetFrom } from '../../src/model/convertPlan.js';
import { removeGuest, scratchDir } from '../helpers/tinyGuest.js';

/** Real qemu-img, qemu-io and libvirtd; files in a vdtest-cv- scratch dir, one guest vdtest-cv-guest. */
const exec = new LocalExecutor();
const host: HostContext = { name: 'local', uri: 'qemu:///system', virshExec: exec, sysExec: exec };
const GUEST = 'vdtest-cv-guest';
const scratch = scratchDir('vdtest-cv-');
const dir = scratch.dir;
const tiny = join(dir, 'tiny');
let mounted = false;
const savedHome = process.env.VIRTDECK_HOME;

const sh = (file: string, ...args: string[]) => execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const virsh = (...args: string[]) => sh('virsh', '-c', host.uri, ...args);
const compare = (a: string, fa: string, b: string, fb: string) => {
  try {
    sh('qemu-img', 'compare', '-f', fa, '-F', fb, a, b);
    return true;
  } catch {
    return false;
  }
};

async function convert(input: ConvertInput) {
  const prepared = await prepareConvert(host, input);
  if (!prepared.plan) return { prepared, result: null };
  const result = await runConvert(host, prepared.plan, { stateDir: join(dir, 'home', 'state') });
  return { prepared, result };
}

function guestXml(disk: string): string {
  return `<domain type='qemu'>
  <name>${GUEST}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${disk}'/><target dev='hda' bus='ide'/></disk>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>
  </devices>
</domain>`;
}

const SRC = join(dir, 'pattern.raw');

beforeAll(() => {
  process.env.VIRTDECK_HOME = join(dir, 'home');
  sh('qemu-img', 'create', '-q', '-f', 'raw', SRC, '32M');
  // Known bytes at several offsets, including one run large enough that 4 MiB cannot hold a copy.
  sh('qemu-io', '-f', 'raw', '-c', 'write -P 0xab 1M 64k', '-c', 'write -P 0xcd 20M 128k', '-c', 'write -P 0x5a 8M 8M', '-c', 'write -P 0x11 32767k 1k', SRC);
});

afterAll(async () => {
  await removeGuest(host, GUEST);
  if (mounted) {
    try {
      sh('umount', tiny);
    } catch {
      // not mounted
    }
  }
  scratch.remove();
  if (savedHome === undefined) delete process.env.VIRTDECK_HOME;
  else process.env.VIRTDECK_HOME = savedHome;
});

describe('round trips with real qemu-img', () => {
  it('raw → vmdk (monolithicSparse, compat6, lsilogic) → raw is identical', async () => {
    const vmdk = join(dir, 'rt1.vmdk');
    const a = await convert({ source: SRC, target: targetFrom('vmdk'), dest: vmdk });
    expect(a.prepared.check.refusals).toEqual([]);
    expect(a.result?.state).toBe('done');
    const desc = await readVmdkDescriptor(exec, vmdk);
    expect(desc.createType).toBe('monolithicSparse');
    expect(desc.ddb.adapterType).toBe('lsilogic');
    expect(desc.ddb.virtualHWVersion).toBe('6');
    const back = join(dir, 'rt1-back.raw');
    const b = await convert({ source: vmdk, target: targetFrom('raw'), dest: back });
    expect(b.result?.state).toBe('done');
    expect(compare(SRC, 'raw', back, 'raw')).toBe(true);
    expect(sha(back)).toBe(sha(SRC));
    expect(readdirSync(dir).filter((f) => f.includes('virtdeck-tmp'))).toEqual([]);
  });

  it('qcow2 → vmdk (monolithicFlat) → qcow2 is identical, and the flat pair is valid after the move', async () => {
    const q = join(dir, 'rt2.qcow2');
    sh('qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2', SRC, q);
    const flat = join(dir, 'rt2-flat-out.vmdk');
    const a = await convert({ source: q, target: targetFrom('vmdk-flat'), dest: flat });
    expect(a.result?.state).toBe('done');
    const desc = await readVmdkDescriptor(exec, flat);
    expect(desc.createType).toBe('monolithicFlat');
    expect(desc.extents[0]?.file).toBe('rt2-flat-out-flat.vmdk');
    expect(desc.ddb.adapterType).toBe('lsilogic');
    expect(desc.ddb.virtualHWVersion).toBe('6');
    expect(compare(q, 'qcow2', flat, 'vmdk')).toBe(true);
    const back = join(dir, 'rt2-back.qcow2');
    const b = await convert({ source: flat, target: targetFrom('qcow2'), dest: back });
    expect(b.prepared.request.source.files).toEqual([flat, join(dir, 'rt2-flat-out-flat.vmdk')]);
    expect(b.result?.state).toBe('done');
    expect(compare(SRC, 'raw', back, 'qcow2')).toBe(true);
    expect(JSON.parse(sh('qemu-img', 'info', '--output=json', back))['format-specific'].data.compat).toBe('1.1');
  });
});

describe('repointing a real guest', () => {
  it('converts its disk, redefines it on the new image and bus, and it starts', async () => {
    const disk = join(dir, 'guest.raw');
    sh('cp', '--sparse=always', SRC, disk);
    const xmlFile = join(dir, 'guest.xml');
    execFileSync('sh', ['-c', `cat > '${xmlFile}'`], { input: guestXml(disk) });
    virsh('define', '--file', xmlFile);
    const vmdk = join(dir, 'guest.vmdk');
    const r = await convert({ source: disk, target: targetFrom('vmdk'), repoint: { bus: 'sata' } });
    expect(r.prepared.request.repoint).toEqual({ guest: GUEST, target: 'hda', bus: 'sata' });
    expect(r.result?.state).toBe('done');
    const xml = virsh('dumpxml', '--inactive', GUEST);
    expect(xml).toContain(`<source file='${vmdk}'/>`);
    expect(xml).toMatch(/<driver name='qemu' type='vmdk'\/>/);
    expect(xml).toMatch(/<target dev='sd[a-z]' bus='sata'\/>/);
    virsh('start', GUEST);
    expect(virsh('domstate', GUEST).trim()).toBe('running');
    virsh('destroy', GUEST);
    expect(sha(disk)).toBe(sha(SRC));
  });
});

describe('refusals change nothing', () => {
  const snapshot = () => ({ sum: sha(SRC), files: readdirSync(dir).sort() });

  it('refuses while the guest using the source runs', async () => {
    const disk = join(dir, 'run.raw');
    sh('cp', '--sparse=always', SRC, disk);
    await removeGuest(host, GUEST);
    const xmlFile = join(dir, 'run.xml');
    execFileSync('sh', ['-c', `cat > '${xmlFile}'`], { input: guestXml(disk) });
    virsh('define', '--file', xmlFile);
    virsh('start', GUEST);
    try {
      const sum = sha(disk);
      const files = readdirSync(dir).sort();
      const r = await convert({ source: disk, target: targetFrom('qcow2') });
      expect(r.result).toBeNull();
      expect(r.prepared.check.refusals[0]?.sentence).toMatch(/vdtest-cv-guest is using .* not shut off/);
      expect(r.prepared.check.refusals[0]?.fix).toMatch(/Shut vdtest-cv-guest down/);
      expect(sha(disk)).toBe(sum);
      expect(readdirSync(dir).sort()).toEqual(files);
    } finally {
      virsh('destroy', GUEST);
    }
  });

  it('refuses an existing destination', async () => {
    const b = snapshot();
    const r = await convert({ source: SRC, target: targetFrom('raw'), dest: join(dir, 'rt1-back.raw') });
    expect(r.prepared.check.refusals.map((e) => e.sentence).join()).toMatch(/rt1-back.raw already exists/);
    expect(snapshot()).toEqual(b);
  });

  it('refuses a destination without room (4 MiB tmpfs)', async () => {
    mkdirSync(tiny);
    sh('mount', '-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', tiny);
    mounted = true;
    const b = snapshot();
    const r = await convert({ source: SRC, target: targetFrom('vmdk'), dest: join(tiny, 'x.vmdk') });
    expect(r.prepared.check.refusals[0]?.sentence).toMatch(/tiny has 4(\.0)? ?Mi?B? free, but the new image needs up to 8/);
    expect(snapshot()).toEqual(b);
    expect(readdirSync(tiny)).toEqual([]);
  });

  it('refuses a missing source', async () => {
    const b = snapshot();
    const r = await convert({ source: join(dir, 'missing.raw'), target: targetFrom('vmdk') });
    expect(r.prepared.check.refusals[0]?.sentence).toMatch(/missing.raw does not exist or cannot be read/);
    expect(snapshot()).toEqual(b);
  });
});

import { describe, expect, it } from 'vitest';
import { HostError } from '../../src/host/errors.js';
import type { ExecResult, Executor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { defineRepointed } from '../../src/jobs/defineRepointed.js';

const xmlWith = (file: string) =>
  `<domain type='qemu'><name>web</name><uuid>6f1c3b52-8d5e-4a4f-9d0e-2b7c1a9e3f10</uuid><memory>65536</memory><os><type>hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${file}'/><target dev='vda' bus='virtio'/></disk></devices></domain>`;

/** A virsh that accepts every define and stores `stored` as the disk's file. */
function hostStoring(stored: string): { host: HostContext; asked: string[][] } {
  const asked: string[][] = [];
  const exec: Executor = {
    label: 'fake',
    async run(argv): Promise<ExecResult> {
      asked.push(argv);
      return { argv, exitCode: 0, stdout: argv.includes('dumpxml') ? xmlWith(stored) : '', stderr: '' };
    },
    interactive: async () => 0,
  };
  return { host: { name: 'local', uri: 'qemu:///system', virshExec: exec, sysExec: exec }, asked };
}

describe('defineRepointed', () => {
  it('defines, then reads the stored definition back', async () => {
    const { host, asked } = hostStoring('/img/base.qcow2');
    await defineRepointed(host, 'web', xmlWith('/img/base.qcow2'), 'vda', '/img/base.qcow2');
    expect(asked.map((a) => a.find((w) => w === 'define' || w === 'dumpxml'))).toEqual(['define', 'dumpxml']);
  });

  it('a definition libvirt stored with the old file is an error naming both, so the job keeps the overlay', async () => {
    const { host } = hostStoring('/img/web.overlay.qcow2');
    const e = await defineRepointed(host, 'web', xmlWith('/img/base.qcow2'), 'vda', '/img/base.qcow2').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HostError);
    expect((e as HostError).sentence).toBe("libvirt stored web's disk vda as /img/web.overlay.qcow2 instead of /img/base.qcow2, so the file it pointed at before is kept.");
  });
});

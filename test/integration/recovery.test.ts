/**
 * Start-up recovery on the real host: a guest of ours left on a backup overlay is merged back
 * (data kept, source the original again), and a journal with command steps is finished, and
 * another rolled back. (A job kind no plan builder makes is refused: test/security/stateDir.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { defineXml, dumpXml } from '../../src/host/virsh.js';
import { Journal, listJournals } from '../../src/jobs/journal.js';
import { detectRecovery, resolveRecovery } from '../../src/jobs/recovery.js';
import { summarizeDomainXml } from '../../src/model/domainSummary.js';
import type { Plan } from '../../src/model/plan.js';
import { localHost, removeGuest, scratchDir } from '../helpers/tinyGuest.js';

const host = localHost();
const scratch = scratchDir('vdtest-sn-rec-');
const home = mkdtempSync(join(tmpdir(), 'vdtest-sn-rec-home-'));
const stateDir = join(home, 'state');
const GUEST = 'vdtest-sn-recover';

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' });
const virsh = (...args: string[]) => sh('virsh', ['-c', 'qemu:///system', ...args]);

beforeAll(async () => {
  await removeGuest(host, GUEST);
});

afterAll(async () => {
  await removeGuest(host, GUEST);
  scratch.remove();
  rmSync(home, { recursive: true, force: true });
});

/** A journal as a killed virtdeck leaves it: state running, its process gone. */
function interruptedJournal(plan: Plan, states: ('done' | 'running' | 'pending')[]): string {
  const j = Journal.create(stateDir, { plan, uri: host.uri, hostname: sh('hostname', []).trim() });
  const rec = JSON.parse(readFileSync(j.path, 'utf8'));
  rec.pid = 2 ** 22 + 12345; // above pid_max: no such process
  rec.steps = states.map((state) => ({ state }));
  writeFileSync(j.path, JSON.stringify(rec));
  return rec.id as string;
}

describe('recovery', () => {
  test('a guest left on a backup overlay: finish merges it back into the original', async () => {
    const file = join(scratch.dir, 'rec.qcow2');
    sh('qemu-img', ['create', '-q', '-f', 'qcow2', file, '8M']);
    sh('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xab 1M 64k', file]);
    await defineXml(
      host,
      `<domain type='qemu'><name>${GUEST}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
      <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>
      <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${file}'/><target dev='vda' bus='virtio'/><alias name='ua-vda'/></disk>
      </devices></domain>`,
    );
    virsh('start', GUEST);
    const overlay = `${file}.virtdeck-overlay-20261125T120000Z.qcow2`;
    virsh('snapshot-create-as', GUEST, 'interrupted', '--disk-only', '--atomic', '--no-metadata', '--diskspec', `vda,file=${overlay}`);
    virsh('qemu-monitor-command', GUEST, '--hmp', 'qemu-io -d /machine/peripheral/ua-vda/virtio-backend "write -P 0xcd 1M 64k"');

    const items = await detectRecovery(host, { stateDir });
    const item = items.find((i) => i.kind === 'overlay' && i.guest === GUEST);
    expect(item?.explanation.join(' ')).toContain(`interrupted after it moved vda's writes to the overlay ${overlay}`);
    const r = await resolveRecovery(host, item!, 'finish', { stateDir });
    expect(r.state).toBe('committed');
    const source = summarizeDomainXml(await dumpXml(host, GUEST)).disks[0]?.source;
    expect(source).toBe(file);
    expect(existsSync(overlay)).toBe(false);
    virsh('destroy', GUEST);
    expect(sh('qemu-io', ['-r', '-f', 'qcow2', '-c', 'read -P 0xcd 1M 64k', file])).not.toContain('Pattern verification failed');
    expect((await detectRecovery(host, { stateDir })).filter((i) => i.kind === 'overlay' && i.guest === GUEST)).toEqual([]);
  });

  test('a journal with command steps: finish runs the rest, roll back undoes what started', async () => {
    const f = (n: string) => join(scratch.dir, n);
    const plan: Plan = {
      kind: 'disk-create',
      title: 'make three files',
      targets: { guests: [], images: [] },
      steps: ['a', 'b', 'c'].map((n) => ({
        id: n,
        title: `make ${n}`,
        command: { runsOn: 'sys' as const, argv: ['qemu-img', 'create', '-q', '-f', 'raw', f(n), '1M'] },
        undo: { title: `remove ${n}`, command: { runsOn: 'sys' as const, argv: ['rm', '-f', f(n)] }, partial: true },
      })),
    };
    writeFileSync(f('a'), '');
    const finishId = interruptedJournal(plan, ['done', 'running', 'pending']);
    const items = await detectRecovery(host, { stateDir, guests: [] });
    const item = items.find((i) => i.id === finishId);
    expect(item?.finish).toBe('Finish: run steps 2–3 again (the interrupted step starts over).');
    expect(item?.rollback).toBe('Roll back: remove b; remove a.');
    const done = await resolveRecovery(host, item!, 'finish', { stateDir });
    expect(done.state).toBe('done');
    expect(['a', 'b', 'c'].map((n) => existsSync(f(n)))).toEqual([true, true, true]);

    const rollbackId = interruptedJournal(plan, ['done', 'running', 'pending']);
    const again = (await detectRecovery(host, { stateDir, guests: [] })).find((i) => i.id === rollbackId);
    const back = await resolveRecovery(host, again!, 'rollback', { stateDir });
    expect(back.state).toBe('rolled-back');
    expect(['a', 'b', 'c'].map((n) => existsSync(f(n)))).toEqual([false, false, true]);
    expect(listJournals(stateDir).filter((j) => j.record.state === 'running')).toEqual([]);
    expect(await detectRecovery(host, { stateDir, guests: [] })).toEqual([]);
  });
});

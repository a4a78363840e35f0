import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertCommand } from '../../src/cli/commands/diskConvert.js';
import { safeOutput } from '../../src/cli/output.js';
import { planRoute } from '../../src/host/planRoute.js';
import { savePlanScript } from '../../src/jobs/planScriptFile.js';
import { planP2v } from '../../src/model/p2vPlan.js';
import { describePlan, type Plan } from '../../src/model/plan.js';
import { startThrowawaySshd, type ThrowawaySshd } from '../helpers/throwawaySshd.js';
import { scratchDir } from '../helpers/tinyGuest.js';

/**
 * Issue 13 item 3: the script `w` saves runs each step where virtdeck runs it. Run with bash
 * against the throwaway sshd, whose ForceCommand log shows which commands crossed SSH.
 */

let scratch: { dir: string; remove: () => void };
let sshd: ThrowawaySshd | null = null;

beforeAll(async () => {
  scratch = scratchDir('vdtest-rplan-');
  sshd = await startThrowawaySshd(scratch.dir);
});

afterAll(() => {
  sshd?.stop();
  scratch?.remove();
});

function randomRaw(path: string, mib: number): void {
  execFileSync('qemu-img', ['create', '-q', '-f', 'raw', path, `${mib}M`]);
  execFileSync('dd', ['if=/dev/urandom', `of=${path}`, 'bs=64k', 'count=8', 'conv=notrunc', 'status=none']);
}

function runScript(file: string, env: NodeJS.ProcessEnv = process.env) {
  return spawnSync('bash', [file], { encoding: 'utf8', env, timeout: 120_000 });
}

describe('a saved plan script of a remote host', () => {
  it('shows and runs the file commands through ssh to the host (convert: mkdir, qemu-img convert and compare, ln, rm)', async () => {
    const s = sshd as ThrowawaySshd;
    const src = join(scratch.dir, 'vdtest-rplan-src.raw');
    randomRaw(src, 8);
    // `virtdeck disk convert --dry-run --json` on the remote host: its steps, and the plan they describe.
    const printed: string[] = [];
    await convertCommand({ host: s.host, output: safeOutput(true, { out: (t) => printed.push(t), err: () => {} }) }, src, { to: 'qcow2', dryRun: true });
    const dry = JSON.parse(printed.join('')) as { steps: string[]; plan: Plan };
    const plan = dry.plan;
    const route = planRoute(s.host);
    expect(dry.steps.find((l) => l.includes('mkdir'))).toMatch(new RegExp(`^1 ssh .*-p ${s.port} .*-- root@127\\.0\\.0\\.1 'mkdir -p -m 0700 -- `));
    expect(dry.steps.find((l) => l.includes('qemu-img convert'))).toMatch(/^2 ssh .* -- root@127\.0\.0\.1 'setpriv --pdeathsig KILL -- qemu-img convert /);
    expect(dry.steps).toEqual(describePlan(plan, route));

    const file = savePlanScript(join(scratch.dir, 'state'), 'convert', plan, new Date(), route);
    s.clearCommands();
    const r = runScript(file);
    expect(r.status, r.stderr).toBe(0);
    const dest = join(scratch.dir, 'vdtest-rplan-src.qcow2');
    execFileSync('qemu-img', ['compare', '-q', '-f', 'raw', '-F', 'qcow2', src, dest]);
    const arrived = s.commands();
    for (const start of ['mkdir -p -m 0700 -- ', 'setpriv --pdeathsig KILL -- qemu-img convert ', 'setpriv --pdeathsig KILL -- qemu-img compare ', 'ln -- ', 'rm -f -- ']) {
      expect(arrived.some((c) => c.startsWith(start)), `${start}… over ssh`).toBe(true);
    }
    expect(arrived).toHaveLength(plan.steps.filter((st) => st.command?.runsOn === 'sys' || st.script).length + 1);
  });

  it('writes the P2V stream as its shell form: the copy, its checksum checks and the define run, never a check of a file that is not there', () => {
    const s = sshd as ThrowawaySshd;
    const src = join(scratch.dir, 'vdtest-rplan-disk.img');
    randomRaw(src, 4);
    const destDir = join(scratch.dir, 'p2v');
    mkdirSync(destDir);
    const source = { kind: 'ssh' as const, destination: 'root@127.0.0.1', device: src, port: s.port, identityFile: s.keyFile, sshOptions: ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'] };
    const xmlFile = join(scratch.dir, 'p2v-xml', 'domain.xml');
    const plan = planP2v(
      { source, name: 'vdtest-rplan-p2v', destDir, format: 'qcow2', macs: ['52:54:00:aa:bb:01'], memoryMiB: 64, vcpus: 1, bus: 'ide', network: { kind: 'user' }, osType: 'other', verifyRemote: true },
      { sizeBytes: 4 * 1024 * 1024, model: null, partitionTable: null, partitions: [], mounted: [], memoryKiB: null, vcpus: null, nics: [] },
      { uri: 'qemu:///system', xmlFile, domainType: 'qemu' },
    );
    // virsh stands in here: the define is what the script would run, not what this test checks on libvirt.
    const bin = join(scratch.dir, 'bin');
    mkdirSync(bin);
    const virshLog = join(scratch.dir, 'virsh.log');
    writeFileSync(join(bin, 'virsh'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${virshLog}'\n`);
    chmodSync(join(bin, 'virsh'), 0o755);
    const file = savePlanScript(join(scratch.dir, 'state'), 'p2v', plan, new Date(Date.now() + 1000), null);
    s.clearCommands();
    const r = runScript(file, { ...process.env, PATH: `${bin}:${process.env.PATH}` });
    expect(r.status, r.stderr).toBe(0);
    execFileSync('qemu-img', ['compare', '-q', '-f', 'raw', '-F', 'qcow2', src, join(destDir, 'vdtest-rplan-p2v.qcow2')]);
    expect(s.commands()).toEqual([`dd if=${src} bs=4M status=none`, `sha256sum -- ${src}`]);
    expect(readFileSync(virshLog, 'utf8')).toBe(`-c qemu:///system define --file ${xmlFile}\n`);
    // The cleanup step removed the temporary names.
    expect(existsSync(join(destDir, '.vdtest-rplan-p2v.raw.virtdeck-part'))).toBe(false);
  });

  it('a source that differs from the stream fails the script at the check, not later', () => {
    const s = sshd as ThrowawaySshd;
    const src = join(scratch.dir, 'vdtest-rplan-disk2.img');
    randomRaw(src, 4);
    const destDir = join(scratch.dir, 'p2v2');
    mkdirSync(destDir);
    const source = { kind: 'ssh' as const, destination: 'root@127.0.0.1', device: src, port: s.port, identityFile: s.keyFile, sshOptions: ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'] };
    const plan = planP2v(
      { source, name: 'vdtest-rplan-p2v2', destDir, format: 'raw', macs: ['52:54:00:aa:bb:02'], memoryMiB: 64, vcpus: 1, bus: 'ide', network: { kind: 'user' }, osType: 'other', verifyRemote: true },
      { sizeBytes: 4 * 1024 * 1024, model: null, partitionTable: null, partitions: [], mounted: [], memoryKiB: null, vcpus: null, nics: [] },
      { uri: 'qemu:///system', xmlFile: join(scratch.dir, 'p2v-xml2', 'domain.xml'), domainType: 'qemu' },
    );
    const file = savePlanScript(join(scratch.dir, 'state'), 'p2v', plan, new Date(Date.now() + 2000), null);
    // The source changes between the stream and the remote checksum.
    const text = readFileSync(file, 'utf8').replace('\n# compare with sha256sum', `\ndd if=/dev/urandom of=${src} bs=1k count=1 conv=notrunc status=none\n# compare with sha256sum`);
    writeFileSync(file, text);
    const r = runScript(file);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/the source disk changed during the copy/);
    expect(existsSync(join(destDir, 'vdtest-rplan-p2v2.raw'))).toBe(false);
  });
});

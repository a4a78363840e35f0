import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHostContext } from '../../src/config/connect.js';
import { SshExecutor } from '../../src/host/exec.js';
import { checkJournalSshArgv, sshArgv } from '../../src/model/p2vPlan.js';
import { UserError } from '../../src/model/userError.js';
import { type CliRun, recordingShims, runCli } from '../helpers/hostileCli.js';

/**
 * Item 6: a host or user that ssh would read as an option, and libvirt URI parameters that name a
 * program or socket, never reach ssh or virsh. The shims run the real ssh, so on a virtdeck that
 * passes `-oProxyCommand=…` to ssh the ProxyCommand really runs and the marker file appears.
 */
let dir = '';
let shims: ReturnType<typeof recordingShims>;
/** `${IFS}`: ssh hands ProxyCommand to sh, and a URI host cannot hold a space. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: the shell's ${IFS}, not a template
const TOUCH = 'touch${IFS}MARKER';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vdsec-in-ssh-'));
  shims = recordingShims(dir, ['ssh', 'virsh']);
  // What a URI's command= would run: it leaves the marker too.
  writeFileSync(join(dir, 'evil'), `#!/bin/sh\ntouch '${join(dir, 'MARKER-command')}'\nexit 1\n`);
  chmodSync(join(dir, 'evil'), 0o755);
  writeFileSync(join(dir, 'disk.raw'), Buffer.alloc(1024 * 1024));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// Each case starts clean, so one that fails cannot hide or cause another's failure.
beforeEach(() => {
  for (const n of readdirSync(dir)) if (n.startsWith('MARKER')) rmSync(join(dir, n), { force: true });
  rmSync(shims.log, { force: true });
});

const markers = () => readdirSync(dir).filter((n) => n.startsWith('MARKER'));

async function expectRefused(r: CliRun, naming: RegExp): Promise<void> {
  expect(markers()).toEqual([]);
  expect(shims.calls().filter((c) => c[0] === 'ssh')).toEqual([]);
  expect(r.stderr).toMatch(naming);
  expect(r.exitCode).toBe(2);
}

describe('ssh option injection through p2v --from-ssh', () => {
  it('refuses a user beginning with "-" (-oProxyCommand=…@x) before any ssh starts', async () => {
    const r = await runCli(['p2v', '--from-ssh', `-oProxyCommand=${TOUCH}@x`, '--name', 'vdsec-in-p2v', '--dest', dir, '--dry-run'], { cwd: dir, pathFirst: shims.bin });
    await expectRefused(r, /user "-oProxyCommand=touch\$\{IFS\}MARKER".*begins with "-"/);
  });

  it('refuses a host beginning with "-" (root@-oProxyCommand=…)', async () => {
    const r = await runCli(['p2v', '--from-ssh', `root@-oProxyCommand=${TOUCH}`, '--name', 'vdsec-in-p2v', '--dest', dir, '--dry-run'], { cwd: dir, pathFirst: shims.bin });
    await expectRefused(r, /host "-oProxyCommand=touch\$\{IFS\}MARKER".*begins with "-"/);
  });
});

describe('ssh option injection and libvirt parameters through --connect and $LIBVIRT_DEFAULT_URI', () => {
  const disk = () => join(dir, 'disk.raw');

  it.each([
    ['a host beginning with "-"', `qemu+ssh://-oProxyCommand=${TOUCH}/system`, /host "-oProxyCommand=.*begins with "-"/],
    ['a user beginning with "-"', `qemu+ssh://-oProxyCommand=${TOUCH}@vdsec-in.invalid/system`, /user "-oProxyCommand=.*begins with "-"/],
    ['command=', 'qemu+ssh://root@vdsec-in.invalid/system?command=EVIL', /parameter "command".*only from the config file/],
    ['socket=', 'qemu+ssh://root@vdsec-in.invalid/system?socket=/tmp/vdsec-in-no.sock', /parameter "socket".*only from the config file/],
    ['command= hidden behind ";" (libvirt splits on it, URLSearchParams does not)', 'qemu+ssh://root@vdsec-in.invalid/system?no_verify=1;command=EVIL', /parameter "command"/],
    ['keyfile=', 'qemu+ssh://root@vdsec-in.invalid/system?keyfile=/root/.ssh/id_ed25519', /parameter "keyfile"/],
    ['the ext transport', 'qemu+ext:///system?command=EVIL', /ext transport/],
  ])('--connect with %s: exit 2, nothing started', async (_what, uriTemplate, naming) => {
    const uri = uriTemplate.replace('EVIL', join(dir, 'evil'));
    const r = await runCli(['--connect', uri, 'disk', 'info', disk()], { cwd: dir, pathFirst: shims.bin });
    await expectRefused(r, naming);
    expect(r.stderr).toMatch(/\(--connect\)/);
    expect(shims.calls()).toEqual([]);
  });

  it('$LIBVIRT_DEFAULT_URI with command= is refused the same way, naming the variable', async () => {
    const r = await runCli(['disk', 'info', disk()], { cwd: dir, pathFirst: shims.bin, env: { LIBVIRT_DEFAULT_URI: `qemu+ssh://root@vdsec-in.invalid/system?command=${join(dir, 'evil')}` } });
    await expectRefused(r, /\$LIBVIRT_DEFAULT_URI/);
    expect(shims.calls()).toEqual([]);
  });
});

describe('what the config file may say, and every ssh argv', () => {
  it('takes keyfile= and command= from a config file host entry, and never from elsewhere', () => {
    const uri = 'qemu+ssh://root@host1:2222/system?keyfile=/root/.ssh/vd&command=/usr/bin/ssh';
    expect(createHostContext({ uri, fromConfig: true }).sysExec.label).toBe('root@host1');
    expect(() => createHostContext({ uri, where: 'the host field' })).toThrow(UserError);
    expect(() => createHostContext({ uri, where: 'the host field' })).toThrow(/the host field/);
    // Turning a behaviour on or off is fine from anywhere.
    expect(createHostContext({ uri: 'qemu+ssh://root@host1/system?no_verify=1' }).sysExec.label).toBe('root@host1');
  });

  it('refuses a "-" host in a config entry too (an SshExecutor is never made for it)', () => {
    expect(() => new SshExecutor({ destination: '-oProxyCommand=x' })).toThrow(UserError);
    expect(() => createHostContext({ uri: 'qemu+ssh://root@host1/system', fromConfig: true, ssh: { destination: 'root@-oProxyCommand=x' } })).toThrow(/begins with "-"/);
  });

  it('puts "--" before the destination in the P2V argv (facts, stream, remote checksum)', () => {
    const argv = sshArgv({ kind: 'ssh', destination: 'root@old', device: '/dev/sda', sshOptions: ['-o', 'StrictHostKeyChecking=no'] }, ['dd', 'if=/dev/sda']);
    expect(argv.indexOf('--')).toBe(argv.indexOf('root@old') - 1);
    expect(argv.slice(argv.indexOf('root@old') + 1)).toEqual(['dd if=/dev/sda']);
    // What the stream and checksum steps read back from a journal is held to the same shape.
    expect(() => checkJournalSshArgv(argv)).not.toThrow();
    expect(() => checkJournalSshArgv(['ssh', '-o', 'BatchMode=yes', '-oProxyCommand=x', 'dd if=/dev/sda'])).toThrow(UserError);
    expect(() => checkJournalSshArgv(['ssh', '--', '-oProxyCommand=x', 'dd if=/dev/sda'])).toThrow(/begins with "-"/);
  });
});

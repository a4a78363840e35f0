/**
 * `job show` and the Jobs pane print a remote job's commands as its dry-run did: through ssh to
 * the journal's host, never as bare commands that would run on this machine (issue 13 item 3).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { routeForJob } from '../../src/jobs/jobRoute.js';
import { jobDetailLines, summarizeJob } from '../../src/jobs/jobStatus.js';
import { Journal } from '../../src/jobs/journal.js';
import type { Plan } from '../../src/model/plan.js';

const home = mkdtempSync(join(tmpdir(), 'vdtest-jobroute-'));
const savedHome = process.env.VIRTDECK_HOME;
process.env.VIRTDECK_HOME = home;
const REMOTE = 'qemu+ssh://root@192.0.2.10:2222/system?keyfile=/root/.ssh/id_vd';
// A keyfile in a URI is taken only from the config file, as the worker that ran the job took it.
mkdirSync(join(home, 'config'), { mode: 0o700 });
writeFileSync(join(home, 'config', 'config.json'), JSON.stringify({ hosts: [{ name: 'host2', uri: REMOTE }] }), { mode: 0o600 });
afterAll(() => {
  if (savedHome === undefined) delete process.env.VIRTDECK_HOME;
  else process.env.VIRTDECK_HOME = savedHome;
  rmSync(home, { recursive: true, force: true });
});

const plan: Plan = {
  kind: 'convert',
  title: 'Convert web.vmdk to qcow2',
  steps: [
    { id: 'mkdir', title: 'make the work folder', command: { runsOn: 'sys', argv: ['mkdir', '-p', '/srv/vm/web dir'] } },
    { id: 'define', title: 'define', command: { runsOn: 'virsh', argv: ['virsh', 'define', '/tmp/x.xml'] } },
  ],
  targets: { images: [], guests: [] },
} as unknown as Plan;

function detail(uri: string): string[] {
  const j = Journal.create(join(home, 'state'), { plan, uri, hostname: 'here' });
  const rec = j.record;
  return jobDetailLines(rec, summarizeJob(rec, null, true, 'here'), routeForJob(rec.uri));
}

describe('job details say where each command ran', () => {
  it('a job on a qemu+ssh host: file commands through ssh to it (port and key kept), virsh bare', () => {
    const lines = detail(REMOTE);
    const mkdir = lines.find((l) => l.includes('mkdir')) ?? '';
    expect(mkdir).toMatch(/\$ ssh .*-p 2222.*-i \/root\/\.ssh\/id_vd.*root@192\.0\.2\.10 /);
    expect(mkdir).toContain("'/srv/vm/web dir'");
    expect(lines.find((l) => l.includes('virsh define'))).toMatch(/\$ virsh define/);
  });

  it('a job on this machine: bare commands, as before', () => {
    const lines = detail('qemu:///system');
    expect(lines.find((l) => l.includes('mkdir'))).toMatch(/\$ mkdir -p '\/srv\/vm\/web dir'/);
  });
});

describe('a journal naming a URI virtdeck would not connect to', () => {
  it('shows its commands bare rather than failing', () => {
    const lines = detail('qemu+ssh://root@192.0.2.11/system?keyfile=/etc/shadow');
    expect(lines.find((l) => l.includes('mkdir'))).toMatch(/\$ mkdir -p/);
  });
});

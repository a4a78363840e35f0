import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { savePlanScriptNote } from '../../src/jobs/planScriptFile.js';
import { reviewLines } from '../../src/model/expandPlan.js';
import { commandLine, compactRoute, describePlan, type Plan, type PlanRoute, planScript } from '../../src/model/plan.js';
import { UserError } from '../../src/model/userError.js';

/** Issue 13 item 3: a plan says where each step runs; its script runs each step there. */

const ROUTE: PlanRoute = { host: 'host1', ssh: ['ssh', '-o', 'BatchMode=yes', '-p', '2222', '-i', '/root/.ssh/k', '--', 'root@host1'] };

const plan: Plan = {
  kind: 'convert',
  title: 'convert /srv/a b.raw',
  targets: { guests: [], images: [] },
  steps: [
    { id: 'mk', title: 'make the directory', command: { runsOn: 'sys', argv: ['mkdir', '-p', '--', "/srv/it's here"] } },
    { id: 'def', title: 'define', command: { runsOn: 'virsh', argv: ['virsh', '-c', 'qemu+ssh://root@host1/system', 'define', '--file', '/tmp/x.xml'] } },
    { id: 'fish', title: 'feed a script', command: { runsOn: 'sys', argv: ['guestfish', '--rw'], input: 'run\nexit\n' } },
    { id: 'done', title: 'clean up', action: { name: 'x.clean' }, script: [{ runsOn: 'sys', argv: ['rm', '-f', '--', '/srv/t'] }] },
  ],
};

describe('where each step runs', () => {
  it('this machine: commands are bare, as before', () => {
    expect(describePlan(plan)[0]).toBe("1 mkdir -p -- '/srv/it'\\''s here'");
    expect(commandLine(plan.steps[0]?.command as never, null)).toBe("mkdir -p -- '/srv/it'\\''s here'");
  });

  it('a remote host: file commands read `ssh … -- HOST …`, each word quoted for the remote shell; virsh stays here', () => {
    const lines = describePlan(plan, ROUTE);
    expect(lines[0]).toBe(`1 ssh -o BatchMode=yes -p 2222 -i /root/.ssh/k -- root@host1 'mkdir -p -- '\\''/srv/it'\\''\\'\\'''\\''s here'\\'''`);
    expect(lines[1]).toBe('2 virsh -c qemu+ssh://root@host1/system define --file /tmp/x.xml');
    expect(commandLine(plan.steps[0]?.command as never, compactRoute(ROUTE))).toMatch(/^ssh root@host1 'mkdir /);
  });

  it('the script runs remote commands through ssh, feeds stdin as a here-document, and writes an action step as its shell form', () => {
    const text = planScript(plan, ROUTE);
    expect(text).toContain('# Commands on host1 run through ssh');
    expect(text).toContain("\nssh -o BatchMode=yes -p 2222 -i /root/.ssh/k -- root@host1 'guestfish --rw' <<'VIRTDECK_EOF'\nrun\nexit\nVIRTDECK_EOF\n");
    expect(text).toContain("\n# clean up\nssh -o BatchMode=yes -p 2222 -i /root/.ssh/k -- root@host1 'rm -f -- /srv/t'\n");
    expect(text).toContain('\nvirsh -c qemu+ssh://root@host1/system define --file /tmp/x.xml\n');
  });

  it('a step virtdeck performs itself with no shell form refuses the save with a sentence', () => {
    const bad: Plan = { ...plan, steps: [plan.steps[0] as never, { id: 'magic', title: 'do the magic', action: { name: 'x.magic' } }] };
    expect(() => planScript(bad)).toThrow(UserError);
    expect(() => planScript(bad)).toThrow(/Step 2 \(do the magic\) is one virtdeck performs itself/);
  });

  it("w on a plan with no script form says why in the review's note and writes nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), 'vdtest-planroute-'));
    try {
      const bad: Plan = { ...plan, steps: [{ id: 'magic', title: 'do the magic', action: { name: 'x.magic' } }] };
      expect(savePlanScriptNote(dir, 'convert', bad, ROUTE)).toMatch(/^Step 1 \(do the magic\) is one virtdeck performs itself.*Run it from virtdeck/);
      expect(readdirSync(dir)).toEqual([]);
      expect(savePlanScriptNote(dir, 'convert', plan, ROUTE)).toMatch(/^Saved as .*\/plans\/convert-/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the expand review, cut at the screen's width, names the host without the ssh options", () => {
    expect(reviewLines(plan, ROUTE)[0]).toMatch(/^1 ssh root@host1 'mkdir -p -- /);
    expect(reviewLines(plan, ROUTE)[1]).toBe('2 virsh -c qemu+ssh://root@host1/system define --file /tmp/x.xml');
  });
});

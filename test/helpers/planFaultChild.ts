/**
 * Runs one already-prepared plan in its own process, so a fault test can SIGKILL it mid-step.
 * The plan is read from the JSON file VD_PLAN_FILE and run with the actions its kind registers
 * (the same lookup a restarted virtdeck uses), journaled under VIRTDECK_HOME. VD_HANG_AT names a
 * step id at whose start the process stops dead (a step that lasts milliseconds cannot be caught
 * running otherwise). Lines on stdout: "start N ID", "progress N PERCENT", "finished STATE".
 */
import { readFileSync } from 'node:fs';
import { stateDir } from '../../src/config/paths.js';
import { LocalExecutor } from '../../src/host/exec.js';
import { actionsFor } from '../../src/jobs/registry.js';
import { runPlan } from '../../src/jobs/runner.js';
import type { Plan } from '../../src/model/plan.js';

const exec = new LocalExecutor();
const host = { name: 'local', uri: 'qemu:///system', virshExec: exec, sysExec: exec };
const plan = JSON.parse(readFileSync(process.env.VD_PLAN_FILE ?? '', 'utf8')) as Plan;
const hangAt = process.env.VD_HANG_AT;

const r = await runPlan(plan, {
  host,
  stateDir: stateDir(),
  actions: actionsFor(plan.kind, host),
  onEvent: (e) => {
    if (e.type === 'step-start') {
      process.stdout.write(`start ${e.index} ${e.step.id}\n`);
      // Blocks the event loop: the journal says running, nothing of the step has happened yet.
      if (e.step.id === hangAt) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600_000);
    } else if (e.type === 'progress') process.stdout.write(`progress ${e.index} ${e.progress.percent.toFixed(1)}\n`);
  },
});
process.stdout.write(`finished ${r.state}\n`);

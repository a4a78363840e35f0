/**
 * Runs one conversion in its own process so a test can SIGKILL it mid-step. Input comes as JSON in
 * VD_CONVERT_INPUT; VD_HANG_AT names a step id at whose start the process stops dead (a step that
 * lasts milliseconds cannot be caught running otherwise). Lines on stdout: "start N", "progress N P".
 */

import { stateDir } from '../../src/config/paths.js';
import { LocalExecutor } from '../../src/host/exec.js';
import { type ConvertInput, prepareConvert, runConvert } from '../../src/jobs/convert.js';

const exec = new LocalExecutor();
const host = { name: 'local', uri: 'qemu:///system', virshExec: exec, sysExec: exec };
const input = JSON.parse(process.env.VD_CONVERT_INPUT ?? '{}') as ConvertInput;
const hangAt = process.env.VD_HANG_AT;

async function main() {
  const prepared = await prepareConvert(host, input);
  if (!prepared.plan) throw new Error(prepared.check.refusals.map((r) => r.sentence).join(' '));
  await runConvert(host, prepared.plan, {
    stateDir: stateDir(),
    onEvent: (e) => {
      if (e.type === 'step-start') {
        process.stdout.write(`start ${e.index} ${e.step.id}\n`);
        // Blocks the event loop: the journal says running, nothing of the step has happened yet.
        if (e.step.id === hangAt) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
      } else if (e.type === 'progress') process.stdout.write(`progress ${e.index} ${e.progress.percent.toFixed(1)}\n`);
    },
  });
  process.stdout.write('finished\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});

/**
 * Runs one whole-guest restore in its own process, so fault tests can SIGKILL it mid-step:
 *   npx tsx test/helpers/restoreChild.ts GUEST DEST   (VIRTDECK_HOME set by the caller)
 * Lines on stdout: "start N ID" at each step, then the result as JSON. VD_HANG_AT names a step id at
 * whose start the process stops dead (a step that lasts milliseconds cannot be caught running otherwise).
 */
import { LocalExecutor } from '../../src/host/exec.js';
import { restore } from '../../src/jobs/restore.js';

const [guest, dest] = process.argv.slice(2);
if (!guest || !dest) {
  process.stderr.write('usage: restoreChild.ts GUEST DEST\n');
  process.exit(2);
}
const hangAt = process.env.VD_HANG_AT;
const exec = new LocalExecutor();
const result = await restore(
  { name: 'local', uri: 'qemu:///system', virshExec: exec, sysExec: exec },
  {
    guest,
    dest,
    onEvent: (e) => {
      if (e.type !== 'step-start') return;
      process.stdout.write(`start ${e.index} ${e.step.id}\n`);
      // Blocks the event loop: the journal says running, nothing of the step has happened yet.
      if (e.step.id === hangAt) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
    },
  },
);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(result.state === 'done' ? 0 : 1);

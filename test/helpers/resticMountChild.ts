/**
 * Opens a restic copy target's run through restic mount in its own process and waits, so a test
 * can SIGKILL it with the mount up:  npx tsx test/helpers/resticMountChild.ts TARGET_JSON GUEST RUN
 * (VIRTDECK_HOME set by the caller). Prints "ready STAGING" once the chain is bound.
 */
import { LocalExecutor } from '../../src/host/exec.js';
import { openResticMount } from '../../src/jobs/resticMount.js';
import type { ResticTarget } from '../../src/model/copyTarget.js';

const [target, guest, run] = process.argv.slice(2);
if (!target || !guest || !run) {
  process.stderr.write('usage: resticMountChild.ts TARGET_JSON GUEST RUN\n');
  process.exit(2);
}
const exec = new LocalExecutor();
const opened = await openResticMount({ name: 'local', uri: 'qemu:///system', virshExec: exec, sysExec: exec }, JSON.parse(target) as ResticTarget, guest, run);
process.stdout.write(`ready ${opened.dest}\n`);
setInterval(() => {}, 60_000);

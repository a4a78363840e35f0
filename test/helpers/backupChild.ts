/**
 * Runs one backup in its own process, so fault tests can SIGKILL it mid-step:
 *   npx tsx test/helpers/backupChild.ts GUEST DEST   (VIRTDECK_HOME set by the caller)
 */
import { LocalExecutor } from '../../src/host/exec.js';
import { runBackup } from '../../src/jobs/backup.js';

const [guest, dest] = process.argv.slice(2);
if (!guest || !dest) {
  process.stderr.write('usage: backupChild.ts GUEST DEST\n');
  process.exit(2);
}
const exec = new LocalExecutor();
const result = await runBackup({ name: 'local', uri: 'qemu:///system', virshExec: exec, sysExec: exec }, { guests: [guest], dest });
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(result.guests.every((g) => g.ok) ? 0 : 1);

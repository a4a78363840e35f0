/**
 * The import wizard picks an empty .vmx: the same refusal as the CLI (naming the file and saying
 * what is missing) on the first screen, and it goes no further: no facts screen, no plan.
 */
import { describe, expect, it } from 'vitest';
import type { Executor } from '../../src/host/exec.js';
import { HEAD_SCRIPT_NAME } from '../../src/host/imageInspect.js';
import { inspectImport, prepareImport, runImport } from '../../src/jobs/importVmware.js';
import { createImportWizard } from '../../src/store/wizards/import/importWizard.js';
import { chooseTheme } from '../../src/ui/theme.js';
import { ImportVmwareWizardView } from '../../src/ui/wizards/ImportVmwareWizard.js';
import { createFakeHost } from '../helpers/fakeHost.js';
import { imageHeadAnswer } from '../helpers/imageHeads.js';
import { driveWizard } from '../ui/wizardHarness.js';

describe('import wizard and a file that is not a VMware .vmx', () => {
  it('an empty .vmx is refused on the file screen, naming the file; nothing else is read', async () => {
    const fake = createFakeHost([], { dirs: { '/': ['vm/'], '/vm': ['empty.vmx'] } });
    const read: string[][] = [];
    // The fake host answers the directory listing; the .vmx itself is an empty file.
    const sysExec: Executor = {
      label: 'fake',
      interactive: async () => 0,
      run: async (argv, o) => {
        read.push(argv);
        if (argv[0] === 'head') return { argv, exitCode: 0, stdout: '', stderr: '' };
        // The gate's look at what kind of file the .vmx is (a regular file; no bytes of it read).
        const kind = imageHeadAnswer(argv, { '/vm/empty.vmx': { format: 'raw', size: 0 } });
        if (kind) return kind;
        return fake.host.sysExec.run(argv, o);
      },
    };
    const host = { ...fake.host, sysExec };
    const theme = chooseTheme({ LANG: 'C.UTF-8', TERM: 'xterm-256color', NO_COLOR: '1' });
    const store = createImportWizard({ host, jobs: { inspect: inspectImport, prepare: prepareImport, run: runImport }, startDir: '/', onClose: () => {} });
    const w = driveWizard(store, <ImportVmwareWizardView store={store} theme={theme} />);
    try {
      await w.waitFor('What do you have');
      w.key('enter');
      await w.waitFor('vm/');
      w.key('enter');
      await w.waitFor('empty.vmx');
      w.key('down');
      w.key('enter');
      await w.waitFor('is not a VMware .vmx');
      expect(w.state().step).toBe('file');
      const frame = w.frame().replace(/\s+/g, ' ');
      expect(frame).toContain('/vm/empty.vmx is empty, so it is not a VMware .vmx.');
      expect(frame).not.toContain('What was read');
      // Only the .vmx was read: no qemu-img, no vmdk, no guest list.
      // The picker's readability probe (`head -c 0`) reads no byte; then the gate and the .vmx itself.
      expect(read.filter((a) => a[0] !== 'ls').map((a) => (a[0] === 'sh' ? a[3] : a.join(' ')))).toEqual(['head -c 0 -- /vm/empty.vmx', HEAD_SCRIPT_NAME, expect.stringMatching(/^head /)]);
      expect(fake.calls.filter((a) => a[0] === 'virsh')).toEqual([]);
    } finally {
      w.unmount();
    }
  });
});

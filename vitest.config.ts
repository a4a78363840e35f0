import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * The real-host files that take minutes (libguestfs appliances under TCG, guests migrating), longest
 * first. CI starts from a clean clone with no vitest cache, where files run largest-first: a
 * four-minute file that starts last leaves the other worker idle at the end of the run. Starting
 * these first lets the short files (integration and security run in one vitest run, see
 * scripts/test.sh) fill in around them. Keep the list to files that take over a minute.
 */
const LONGEST_FIRST = [
  'test/integration/expandGrowth.test.ts',
  'test/integration/evacuate.test.ts',
  'test/integration/mergeideFaults.test.ts',
  'test/integration/migrate.test.ts',
  'test/integration/mergeide.test.ts',
  'test/security/guestfishInspection.test.ts',
];

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = LONGEST_FIRST.indexOf(relative(process.cwd(), f.moduleId));
      return i === -1 ? LONGEST_FIRST.length : i;
    };
    // Array.prototype.sort is stable: the rest keep vitest's own order.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    // Ink drops intermediate frames when CI is set; the UI tests need every frame.
    env: { CI: '', VIRTDECK_TEST: '1' },
    include: ['test/**/*.test.{ts,tsx}'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    setupFiles: ['test/helpers/setup.ts'],
    // The CLI the tests start, bundled once per run (test/helpers/cli.ts).
    globalSetup: ['test/helpers/cliBundleSetup.ts'],
    sequence: { sequencer: LongestFirst },
  },
});

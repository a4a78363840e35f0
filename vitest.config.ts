import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Ink drops intermediate frames when CI is set; the UI tests need every frame.
    env: { CI: '', VIRTDECK_TEST: '1' },
    include: ['test/**/*.test.{ts,tsx}'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    setupFiles: ['test/helpers/setup.ts'],
  },
});

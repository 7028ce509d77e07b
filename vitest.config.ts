import { defineConfig } from 'vitest/config';
import LabLastSequencer from './test/lab/sequencer.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The lab test files share their QEMU boots within a run; the run's end stops the last one.
    globalSetup: ['test/lab/global-setup.ts'],
    sequence: { sequencer: LabLastSequencer },
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Two cores on CI: heavy suites (site build, images) must not starve each other.
    maxWorkers: 2,
  },
});

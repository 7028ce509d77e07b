import { configDefaults, defineConfig } from 'vitest/config';
import LabLastSequencer from './test/lab/sequencer.js';

export default defineConfig({
  test: {
    sequence: { sequencer: LabLastSequencer },
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Two cores on CI: heavy suites (site build, images) must not starve each other.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, 'test/lab/**'] },
      },
      {
        // The lab's files drive one emulated Xen host, one file at a time (test/lab/lab.ts): in one
        // worker of their own, so that none waits for the host while holding a worker the other
        // tests could use. They share their QEMU boots within a run; the run's end stops the last one.
        extends: true,
        test: {
          name: 'lab',
          include: ['test/lab/**/*.test.ts'],
          fileParallelism: false,
          globalSetup: ['test/lab/global-setup.ts'],
        },
      },
    ],
  },
});

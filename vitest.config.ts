import { configDefaults, defineConfig } from 'vitest/config';
import LabLastSequencer from './test/lab/sequencer.js';

export default defineConfig({
  test: {
    // lib/ (the compiled engine) is loaded by Node itself, as the playbooks load it: in-process
    // runs (test/helpers/playbook.ts) then share one engine with the playbook files they import.
    server: { deps: { external: [/\/lib\//] } },
    sequence: { sequencer: LabLastSequencer },
    reporters: ['default', './test/helpers/slowest-files.ts'],
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
        // With fileParallelism false, vitest 4 runs these files in a group of their own after every
        // other group (groupSpecs in vitest's cli-api): the lab follows the unit files, it does not
        // overlap them. Both in two vitest processes at once was slower on two cores (20.5 min
        // against 19): QEMU's emulation takes about one core, and starved, every lab test stretched
        // (xen-qos.test.ts 163 s alone, 581 s beside the unit files even at nice 10 for them: QEMU
        // daemonizes into a session of its own, and the kernel's autogroups share CPU by session). A failed lab test runs once more: under QEMU's software emulation dom0's programs are
        // killed at random now and then (a segmentation fault in busybox, xl or sshd, about one
        // ssh session in a few hundred, more while an HVM guest runs), which no test can prevent.
        // Each lab test clears what an earlier attempt of it left (its domains) before it starts.
        extends: true,
        test: {
          name: 'lab',
          retry: 1,
          include: ['test/lab/**/*.test.ts'],
          fileParallelism: false,
          globalSetup: ['test/lab/global-setup.ts'],
        },
      },
    ],
  },
});

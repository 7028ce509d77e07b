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
        // The lab's files drive emulated Xen hosts (test/lab/lab.ts), after the unit files (group
        // order 1), on two workers, each with a QEMU of its own: one emulated host keeps about one
        // core busy, so two use the machine's two cores where one left the other idle. Each worker's
        // files share their QEMU boots within a run; the run's end stops the last ones. The lab
        // beside the unit files (one group, or two vitest processes at once) was slower on two cores
        // (20.5 min against 19): starved of CPU, every lab test stretched (xen-qos.test.ts 163 s
        // alone, 581 s beside the unit files). A failed lab test runs once more: under QEMU's
        // software emulation dom0's programs are killed at random now and then (a segmentation fault
        // in busybox, xl or sshd, about one ssh session in a few hundred, more while an HVM guest
        // runs), which no test can prevent. Each lab test clears what an earlier attempt of it left
        // (its domains) before it starts.
        extends: true,
        test: {
          name: 'lab',
          retry: 1,
          include: ['test/lab/**/*.test.ts'],
          sequence: { groupOrder: 1 },
          globalSetup: ['test/lab/global-setup.ts'],
        },
      },
    ],
  },
});

// Every playbook's transcript scenarios, and the steps no scenario can run here (with why).
import type { Scenario } from './record.js';
import { PYGRUB_FIX } from './pygrub-fix.js';
import { WINDOWS_HVM } from './windows-hvm.js';
import { XCP_INSTALL } from './xcp-install.js';
import { XEN_QOS } from './xen-qos.js';
import { XEN_UPGRADE_CHECK } from './xen-upgrade-check.js';

export const SCENARIOS: Record<string, Scenario[]> = {
  'pygrub-fix': PYGRUB_FIX,
  'windows-hvm': WINDOWS_HVM,
  'xcp-install': XCP_INSTALL,
  'xen-qos': XEN_QOS,
  'xen-upgrade-check': XEN_UPGRADE_CHECK,
};

/** Steps no scenario here runs, and why: the page says so instead of showing commands. */
export const UNRECORDED: Record<string, Record<string, string>> = {};

/**
 * What a step does that its recorded commands leave out (work the playbook does in its own
 * process rather than through the host's commands): the page says so beside the commands.
 */
export const PARTIAL: Record<string, Record<string, string>> = {
  'pygrub-fix': {
    'check-image':
      'the lock on the image (flock) and the look for processes holding it open (/proc/*/fd) are not recorded',
    'read-partition-table':
      'the playbook reads the partition table from the image’s first sectors itself; by hand, sfdisk -d IMAGE shows the same table',
    diagnose:
      "the first 256 KiB of each kernel are read from the image itself, at the blocks debugfs’s stat lists for it; by hand, debugfs -c -R 'cat \"/vmlinuz-…\"' 'IMAGE?offset=N' | head -c 262144 | file -",
    'rewrite-config':
      'the new grub.cfg is first put in a private scratch directory on the host (/tmp/xr-debugfs-XXXXXX/new: the edit shows what it holds), and the undo record’s intent file beside the image is written by the playbook itself',
    'restore-backups':
      'the undo record’s intent file beside the image is written by the playbook itself, before each debugfs -w session',
    'set-active-partition':
      'the copy of the MBR into IMAGE.mbr.orig.tmp is written by the playbook itself (the first 512 bytes: dd if=IMAGE of=IMAGE.mbr.orig.tmp bs=512 count=1)',
    verify:
      'the pygrub model of the chosen release reads the config in the playbook’s own process; by hand, the host’s pygrub -l IMAGE',
  },
};

/** Where a lab test (test/lab/) ran a step against the real Xen 4.17 too. */
export interface LabProof {
  file: string;
  /** `commands`: the step ran there over ssh; `result`: what it wrote booted there. */
  proves: 'commands' | 'result';
}

/** The steps a lab file runs. */
const labSteps = (file: string, proves: LabProof['proves'], ids: string[]) =>
  Object.fromEntries(ids.map((id) => [id, { file, proves }])) as Record<string, LabProof>;

/** What the lab file must say for the step to run there (an option it passes). */
export const LAB_EVIDENCE: Record<string, Record<string, string>> = {
  'xen-qos': {
    'cpu-scheduler': "'--cpu-weight'",
    vcpus: "'--vcpus'",
    memory: "'--memory'",
    'vif-rate': "'--rate'",
    persist: "'--persist'",
  },
  'windows-hvm': { start: "'--start'" },
  'pygrub-fix': { 'rewrite-config': "'--yes'", 'switch-to-pvgrub': "'pvgrub'" },
};

/** Steps a lab test also ran against the real Xen 4.17, by playbook (the tests named run them). */
export const LAB: Record<string, Record<string, LabProof>> = {
  'xen-qos': labSteps('test/lab/xen-qos.test.ts', 'commands', [
    'read-domain',
    'plan',
    'cpu-scheduler',
    'vcpus',
    'memory',
    'vif-rate',
    'persist',
  ]),
  'windows-hvm': labSteps('test/lab/windows-hvm.test.ts', 'commands', [
    'check-cpu',
    'check-dom0',
    'check-xen',
    'check-config',
    'check-disk',
    'boot-entry',
    'create-disk',
    'write-config',
    'start',
  ]),
  // pygrub-fix runs beside the lab on the image file; the lab boots what it wrote.
  'pygrub-fix': labSteps('test/lab/pygrub-fix.test.ts', 'result', ['rewrite-config', 'switch-to-pvgrub']),
};

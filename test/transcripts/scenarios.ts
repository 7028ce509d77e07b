// Every playbook's transcript scenarios, and the steps no scenario can run here (with why).
import type { Scenario } from './record.js';
import { PYGRUB_FIX } from './pygrub-fix.js';
import { WINDOWS_HVM } from './windows-hvm.js';
import { XCP_INSTALL } from './xcp-install.js';
import { XEN_QOS } from './xen-qos.js';

export const SCENARIOS: Record<string, Scenario[]> = {
  'pygrub-fix': PYGRUB_FIX,
  'windows-hvm': WINDOWS_HVM,
  'xcp-install': XCP_INSTALL,
  'xen-qos': XEN_QOS,
};

/** Steps no scenario here runs, and why: the page says so instead of showing commands. */
export const UNRECORDED: Record<string, Record<string, string>> = {
  'xen-qos': {},
};

/** Steps a lab test also runs against the real Xen 4.17 (test/lab/FILE), by playbook. */
export const LAB: Record<string, Record<string, string>> = {};

/**
 * vitest's usual order (failed first, then the slowest), except for two files of the lab, which
 * runs on two workers with a lab each (test/lab/lab.ts):
 * - the file of the other boot (credit, no dom0_mem) comes first: its worker boots it while the
 *   other boots the default one, and then boots the default one too (a run boots three times,
 *   and once more for the HVM guest's machine), so that the two workers end close together;
 * - the file that starts an HVM guest comes last: it waits until the other worker's lab is idle
 *   and boots a machine of its own (an HVM guest under emulation needs QEMU's vCPU threads, and
 *   makes dom0's programs fail now and then: no other file should meet that dom0).
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** The file that asks for the other boot (credit, no dom0_mem). */
export const SECOND_BOOT = /test\/lab\/credit-no-dom0-mem\.test\.ts$/;
/** The file that starts an HVM guest. */
export const HVM_GUEST = /test\/lab\/windows-hvm\.test\.ts$/;

export default class LabLastSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => (SECOND_BOOT.test(f.moduleId) ? 0 : HVM_GUEST.test(f.moduleId) ? 2 : 1);
    return [0, 1, 2].flatMap((r) => sorted.filter((f) => rank(f) === r));
  }
}

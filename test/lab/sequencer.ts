/**
 * vitest's usual order (failed first, then the slowest), except for two files of the lab:
 * - the lab's second boot comes last: test/lab/lab.ts shares a boot among the files that ask for
 *   it, so the files of the default boot run before the one file of the other boot, and a run
 *   boots twice;
 * - the file that starts an HVM guest is the last of the default boot: while an HVM guest runs
 *   under emulation, dom0's programs fail now and then, and no other file should meet a dom0
 *   that has just had one.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** The file that asks for the second boot (credit, no dom0_mem). */
export const SECOND_BOOT = /test\/lab\/credit-no-dom0-mem\.test\.ts$/;
/** The file that starts an HVM guest on the default boot. */
export const HVM_GUEST = /test\/lab\/windows-hvm\.test\.ts$/;

export default class LabLastSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => (SECOND_BOOT.test(f.moduleId) ? 2 : HVM_GUEST.test(f.moduleId) ? 1 : 0);
    return [0, 1, 2].flatMap((r) => sorted.filter((f) => rank(f) === r));
  }
}

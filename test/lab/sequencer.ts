/**
 * vitest's usual order (failed first, then the slowest), except that the lab's files come first
 * (the lab is the longest chain of the run: started first, it overlaps the unit files), and two
 * files of the lab:
 * - the lab's second boot comes last: test/lab/lab.ts shares a boot among the files that ask for
 *   it, so the files of the default boot run before the one file of the other boot, and a run
 *   boots twice;
 * - the file that starts an HVM guest is the last of the default boot: while an HVM guest runs
 *   under emulation, dom0's programs fail now and then, and no other file should meet a dom0
 *   that has just had one.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** The lab's files: first, so that the lab's worker boots while the other runs the unit files. */
export const LAB = /test\/lab\//;
/** The file that asks for the second boot (credit, no dom0_mem). */
export const SECOND_BOOT = /test\/lab\/credit-no-dom0-mem\.test\.ts$/;
/** The file that starts an HVM guest on the default boot. */
export const HVM_GUEST = /test\/lab\/windows-hvm\.test\.ts$/;

export default class LabFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) =>
      !LAB.test(f.moduleId) ? 3 : SECOND_BOOT.test(f.moduleId) ? 2 : HVM_GUEST.test(f.moduleId) ? 1 : 0;
    return [0, 1, 2, 3].flatMap((r) => sorted.filter((f) => rank(f) === r));
  }
}

/**
 * vitest's usual order (failed first, then the slowest), except that the lab's second boot comes
 * last: test/lab/lab.ts shares a boot among the files that ask for it, so the files of the
 * default boot run before the one file of the other boot, and a run boots twice.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** The file that asks for the second boot (credit, no dom0_mem). */
export const SECOND_BOOT = /test\/lab\/credit-no-dom0-mem\.test\.ts$/;

export default class LabLastSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const last = (f: TestSpecification) => SECOND_BOOT.test(f.moduleId);
    return [...sorted.filter((f) => !last(f)), ...sorted.filter(last)];
  }
}

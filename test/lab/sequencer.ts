/**
 * vitest's usual order (failed first, then the slowest; on a fresh clone, the largest first),
 * with three changes.
 *
 * The files that need the built site (test/helpers/site.ts ensureSite): the first builds it, and
 * any other started meanwhile waits for that build with its worker idle. On a fresh clone the two
 * largest files were two of them, one core waiting out the whole build. The first keeps its place;
 * the others come after the next SITE_BUILD_LEAD files.
 *
 * Two files of the lab, which runs on two workers with a lab each (test/lab/lab.ts):
 * - the file of the other boot (credit, no dom0_mem) comes first: its worker boots it while the
 *   other boots the default one, and then boots the default one too (a run boots three times,
 *   and once more for the HVM guest's machine), so that the two workers end close together;
 * - the file that starts an HVM guest comes last: it waits until the other worker's lab is idle
 *   and boots a machine of its own (an HVM guest under emulation needs QEMU's vCPU threads, and
 *   makes dom0's programs fail now and then: no other file should meet that dom0).
 */
import { readFileSync } from 'node:fs';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** The file that asks for the other boot (credit, no dom0_mem). */
export const SECOND_BOOT = /test\/lab\/credit-no-dom0-mem\.test\.ts$/;
/** The file that starts an HVM guest. */
export const HVM_GUEST = /test\/lab\/windows-hvm\.test\.ts$/;
/** How many files run between the one that builds the site and the next that needs it. */
export const SITE_BUILD_LEAD = 10;

function needsSite(file: string): boolean {
  try {
    return /\bensureSite\(\)/.test(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
}

/** FILES with every file that needs the site but the first moved SITE_BUILD_LEAD places past it. */
export function spreadSiteFiles<T>(files: readonly T[], needs: (f: T) => boolean): T[] {
  const first = files.findIndex(needs);
  if (first < 0) return [...files];
  const later = files.filter((f, i) => i > first && needs(f));
  const rest = files.filter((f, i) => i <= first || !needs(f));
  const at = Math.min(first + 1 + SITE_BUILD_LEAD, rest.length);
  return [...rest.slice(0, at), ...later, ...rest.slice(at)];
}

export default class LabLastSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => (SECOND_BOOT.test(f.moduleId) ? 0 : HVM_GUEST.test(f.moduleId) ? 2 : 1);
    const ranked = [0, 1, 2].flatMap((r) => sorted.filter((f) => rank(f) === r));
    return spreadSiteFiles(ranked, (f) => needsSite(f.moduleId));
  }
}

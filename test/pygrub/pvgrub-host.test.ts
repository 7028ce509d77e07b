// Which pv-grub image the host has: PVGRUB2 first under auto, only the flavour asked for otherwise.
import { describe, expect, it } from 'vitest';
import { StepError } from 'xen-runbooks/engine';
import { PVGRUB_CANDIDATES } from 'xen-runbooks/grub';
import { findPvgrub } from 'xen-runbooks/playbooks/pygrub-fix/pvgrub-host';

const host = (files: readonly string[]) => async (p: string) => files.includes(p);
const pvgrub2 = PVGRUB_CANDIDATES.x86_64.pvgrub2[0] as string;
const legacy = PVGRUB_CANDIDATES.x86_64['pv-grub-legacy'][0] as string;
const legacy32 = PVGRUB_CANDIDATES.x86_32['pv-grub-legacy'][0] as string;

describe('findPvgrub', () => {
  it('auto takes PVGRUB2 when the host has both, legacy when it has only that', async () => {
    expect(await findPvgrub(host([legacy, pvgrub2]), 'x86_64', 'auto')).toEqual({
      flavour: 'pvgrub2',
      kernel: pvgrub2,
    });
    expect(await findPvgrub(host([legacy]), 'x86_64', 'auto')).toEqual({ flavour: 'pv-grub-legacy', kernel: legacy });
  });

  it('a flavour asked for is the only one looked for', async () => {
    await expect(findPvgrub(host([pvgrub2]), 'x86_64', 'legacy')).rejects.toThrow(
      /no pv-grub-legacy image for x86_64 on this host/,
    );
    expect(await findPvgrub(host([pvgrub2, legacy]), 'x86_64', 'legacy')).toEqual({
      flavour: 'pv-grub-legacy',
      kernel: legacy,
    });
  });

  it('the architecture picks the image; none found fails with the install line', async () => {
    expect(await findPvgrub(host([legacy32, legacy]), 'x86_32', 'auto')).toEqual({
      flavour: 'pv-grub-legacy',
      kernel: legacy32,
    });
    const e = await findPvgrub(host([]), 'x86_64', 'auto').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StepError);
    expect((e as StepError).message).toBe('no pvgrub2 or pv-grub-legacy image for x86_64 on this host');
    expect((e as StepError).hint).toMatch(/apt-get install grub-xen-host/);
  });
});

/** Which pv-grub image this host has, for --strategy pvgrub. */
import { fail } from '../../engine/index.js';
import { PVGRUB_CANDIDATES, type GuestArch, type PvgrubFlavour } from '../../grub/index.js';

/** --pvgrub: auto takes PVGRUB2 when the host has it, else legacy PV-GRUB. */
export type PvgrubChoice = 'auto' | 'pvgrub2' | 'legacy';

/** The first pv-grub image of the wanted flavours that exists on the host; none is a failure with the install line. */
export async function findPvgrub(
  exists: (path: string) => Promise<boolean>,
  arch: GuestArch,
  choice: PvgrubChoice,
): Promise<{ flavour: PvgrubFlavour; kernel: string }> {
  const flavours: PvgrubFlavour[] =
    choice === 'legacy' ? ['pv-grub-legacy'] : choice === 'pvgrub2' ? ['pvgrub2'] : ['pvgrub2', 'pv-grub-legacy'];
  for (const flavour of flavours) {
    for (const kernel of PVGRUB_CANDIDATES[arch][flavour]) {
      if (await exists(kernel)) return { flavour, kernel };
    }
  }
  throw fail(
    `no ${flavours.join(' or ')} image for ${arch} on this host`,
    'install one: apt-get install grub-xen-host (PVGRUB2), or the pv-grub package of your Xen build',
  );
}

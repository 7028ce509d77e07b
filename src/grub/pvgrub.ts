/**
 * The pv-grub way out: instead of pygrub in dom0, boot the guest through a GRUB built as a PV
 * kernel, which reads the guest's disk itself. The domain's xm/xl config changes: `bootloader`
 * is commented out, `kernel` names the pv-grub image, `extra` (legacy PV-GRUB) the config.
 */

export type PvgrubFlavour = 'pvgrub2' | 'pv-grub-legacy';
export type GuestArch = 'x86_64' | 'x86_32';

/** Where hosts keep the images (Debian's grub-xen-host; Xen's own stubdom build). */
export const PVGRUB_CANDIDATES: Record<GuestArch, Record<PvgrubFlavour, readonly string[]>> = {
  x86_64: {
    pvgrub2: ['/usr/lib/grub-xen/grub-x86_64-xen.bin', '/usr/lib/xen/boot/grub-x86_64-xen.bin'],
    'pv-grub-legacy': [
      '/usr/lib/xen/boot/pv-grub-x86_64.gz',
      '/usr/lib64/xen/boot/pv-grub-x86_64.gz',
      '/usr/libexec/xen/boot/pv-grub-x86_64.gz',
    ],
  },
  x86_32: {
    pvgrub2: ['/usr/lib/grub-xen/grub-i386-xen.bin', '/usr/lib/xen/boot/grub-i386-xen.bin'],
    'pv-grub-legacy': [
      '/usr/lib/xen/boot/pv-grub-x86_32.gz',
      '/usr/lib64/xen/boot/pv-grub-x86_32.gz',
      '/usr/libexec/xen/boot/pv-grub-x86_32.gz',
    ],
  },
};

/**
 * `extra` for legacy PV-GRUB: the GRUB legacy device of the boot partition (counting from 0)
 * and the config's path inside that partition, e.g. `(hd0,0)/grub/grub.cfg`. PVGRUB2 needs
 * none: Debian's image searches the disks for /boot/grub/grub.cfg and /grub/grub.cfg itself.
 */
export function pvgrubExtra(
  flavour: PvgrubFlavour,
  partitionNumber: number | null,
  configPath: string,
): string | undefined {
  if (flavour === 'pvgrub2') return undefined;
  const dev = partitionNumber === null ? '(hd0)' : `(hd0,${partitionNumber - 1})`;
  return `${dev}${configPath}`;
}

const KEY = (k: string) => new RegExp(`^\\s*${k}\\s*=`);

function quoted(v: string): string {
  if (/["\\\n]/.test(v)) throw new Error(`refusing a value with quotes or newlines: ${JSON.stringify(v)}`);
  return `"${v}"`;
}

/**
 * Switch a domain config to pv-grub. Lines that would conflict (bootloader, bootloader_args,
 * kernel, ramdisk, extra) are commented out, not deleted; the new kernel/extra lines go right
 * after the old bootloader line. A config already switched comes back unchanged.
 */
export function switchToPvgrub(text: string, want: { kernel: string; extra?: string | undefined }): string {
  const lines = text.split('\n');
  const active = (k: string) => lines.filter((l) => KEY(k).test(l));
  const value = (l: string) => /=\s*(["'])(.*)\1\s*(?:#.*)?$/.exec(l)?.[2];
  const kernelNow = active('kernel');
  const extraNow = active('extra');
  const done =
    active('bootloader').length === 0 &&
    kernelNow.length === 1 &&
    value(kernelNow[0] as string) === want.kernel &&
    (want.extra === undefined
      ? extraNow.length === 0
      : extraNow.length === 1 && value(extraNow[0] as string) === want.extra);
  if (done) return text;
  let insertAt = -1;
  const out: string[] = [];
  for (const l of lines) {
    if (['bootloader', 'bootloader_args', 'kernel', 'ramdisk', 'extra'].some((k) => KEY(k).test(l))) {
      out.push(`#${l}`);
      if (KEY('bootloader').test(l)) insertAt = out.length;
      continue;
    }
    out.push(l);
  }
  const add = [
    `kernel = ${quoted(want.kernel)}`,
    ...(want.extra !== undefined ? [`extra = ${quoted(want.extra)}`] : []),
  ];
  if (insertAt === -1) {
    // No bootloader line: append before the trailing newline.
    if (out.length && out[out.length - 1] === '') out.splice(out.length - 1, 0, ...add);
    else out.push(...add);
  } else out.splice(insertAt, 0, ...add);
  return out.join('\n');
}

/** The domain config's disk entries (`disk = [ 'file:/path,xvda,w', ... ]`), for cross-checking the image. */
export function domainDisks(text: string): string[] {
  const m = /^\s*disk\s*=\s*\[([\s\S]*?)\]/m.exec(text);
  if (!m) return [];
  return [...(m[1] as string).matchAll(/(["'])(.*?)\1/g)].map((x) => x[2] as string);
}

import { existsSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** Debian installs Xen's tools under /usr/lib/xen-<version>/bin: the newest first. */
function xenToolPaths(name: string): string[] {
  if (!existsSync('/usr/lib')) return [];
  return readdirSync('/usr/lib')
    .filter((d) => /^xen-\d+\.\d+$/.test(d))
    .sort((a, b) => Number(b.split('.')[1]) - Number(a.split('.')[1]))
    .map((d) => `/usr/lib/${d}/bin/${name}`);
}

/** The real tools the suite uses, and the Debian package that brings each. */
export const TOOLS = {
  sfdisk: { paths: ['/usr/sbin/sfdisk', '/sbin/sfdisk'], pkg: 'fdisk' },
  mke2fs: { paths: ['/usr/sbin/mke2fs', '/sbin/mke2fs'], pkg: 'e2fsprogs' },
  debugfs: { paths: ['/usr/sbin/debugfs', '/sbin/debugfs'], pkg: 'e2fsprogs' },
  e2fsck: { paths: ['/usr/sbin/e2fsck', '/sbin/e2fsck'], pkg: 'e2fsprogs' },
  pygrub: { paths: xenToolPaths('pygrub'), pkg: 'xen-utils-4.17' },
  'grub-script-check': { paths: ['/usr/bin/grub-script-check'], pkg: 'grub-common' },
  chromium: { paths: ['/usr/bin/chromium'], pkg: 'chromium' },
  sshd: { paths: ['/usr/sbin/sshd'], pkg: 'openssh-server' },
  'ssh-keygen': { paths: ['/usr/bin/ssh-keygen'], pkg: 'openssh-client' },
  ssh: { paths: ['/usr/bin/ssh'], pkg: 'openssh-client' },
  losetup: { paths: ['/usr/sbin/losetup', '/sbin/losetup'], pkg: 'mount' },
  script: { paths: ['/usr/bin/script'], pkg: 'bsdutils' },
  busybox: { paths: ['/bin/busybox', '/usr/bin/busybox'], pkg: 'busybox-static' },
} as const;

export type ToolName = keyof typeof TOOLS;

/** The tool's path; a missing tool fails the test with the command that installs it. */
export function tool(name: ToolName): string {
  const t = TOOLS[name];
  for (const p of t.paths) if (existsSync(p)) return p;
  try {
    const found = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
    if (found) return found;
  } catch {
    /* not on PATH */
  }
  throw new Error(
    `${name} is not installed: run 'npm test' as root on Debian/Ubuntu, or: sudo apt-get install -y ${t.pkg}`,
  );
}

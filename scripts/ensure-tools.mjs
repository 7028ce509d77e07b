#!/usr/bin/env node
// The test suite runs real tools. This checks they are there; as root on Debian/Ubuntu it
// installs the missing ones with apt-get, otherwise it prints the one command that does.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const pygrubPresent = () =>
  existsSync('/usr/lib') &&
  readdirSync('/usr/lib').some((d) => /^xen-\d+\.\d+$/.test(d) && existsSync(`/usr/lib/${d}/bin/pygrub`));

/** What the tests need, and the Debian package that brings it. */
const NEEDS = [
  { what: 'sfdisk', pkg: 'fdisk', present: () => has('sfdisk', ['/usr/sbin/sfdisk', '/sbin/sfdisk']) },
  {
    what: 'mke2fs, debugfs, e2fsck',
    pkg: 'e2fsprogs',
    present: () => has('debugfs', ['/usr/sbin/debugfs', '/sbin/debugfs']),
  },
  { what: "Xen's pygrub", pkg: 'xen-utils', present: pygrubPresent },
  {
    what: 'grub-script-check',
    pkg: 'grub-common',
    present: () => has('grub-script-check', ['/usr/bin/grub-script-check']),
  },
  { what: 'chromium', pkg: 'chromium', present: () => has('chromium', ['/usr/bin/chromium']) },
  { what: 'sshd', pkg: 'openssh-server', present: () => has('sshd', ['/usr/sbin/sshd']) },
  { what: 'ssh, ssh-keygen', pkg: 'openssh-client', present: () => has('ssh', ['/usr/bin/ssh']) },
  {
    what: 'script (a pseudo-terminal for the prompt tests)',
    pkg: 'bsdutils',
    present: () => has('script', ['/usr/bin/script']),
  },
  { what: 'losetup, mount', pkg: 'mount', present: () => has('losetup', ['/usr/sbin/losetup', '/sbin/losetup']) },
  { what: 'flock (the image lock)', pkg: 'util-linux', present: () => has('flock', ['/usr/bin/flock']) },
  { what: 'e2undo', pkg: 'e2fsprogs', present: () => has('e2undo', ['/usr/sbin/e2undo', '/sbin/e2undo']) },
  { what: 'stdbuf', pkg: 'coreutils', present: () => has('stdbuf', ['/usr/bin/stdbuf']) },
  {
    what: 'strace (the fault tests kill writes with it)',
    pkg: 'strace',
    present: () => has('strace', ['/usr/bin/strace']),
  },
  // The lab (src/lab): Xen under QEMU, dom0's programs copied from these packages.
  {
    what: 'qemu-system-x86_64',
    pkg: 'qemu-system-x86',
    present: () => has('qemu-system-x86_64', ['/usr/bin/qemu-system-x86_64']),
  },
  {
    what: "HVM guests' device model",
    pkg: 'qemu-system-xen',
    present: () => existsSync('/usr/libexec/xen-qemu-system-i386'),
  },
  { what: 'SeaBIOS', pkg: 'seabios', present: () => existsSync('/usr/share/seabios/bios-256k.bin') },
  { what: "QEMU's iPXE ROMs", pkg: 'ipxe-qemu', present: () => existsSync('/usr/lib/ipxe/qemu') },
  { what: 'xenstore-read', pkg: 'xenstore-utils', present: () => has('xenstore-read', ['/usr/bin/xenstore-read']) },
  {
    what: 'busybox (static)',
    pkg: 'busybox-static',
    // The dynamically linked busybox package also installs /usr/bin/busybox; the lab needs the static one.
    present: () => debInstalled('busybox-static'),
  },
  { what: 'python3', pkg: 'python3', present: () => has('python3', ['/usr/bin/python3']) },
  { what: 'cpio', pkg: 'cpio', present: () => has('cpio', ['/usr/bin/cpio', '/bin/cpio']) },
  { what: 'depmod', pkg: 'kmod', present: () => has('depmod', ['/usr/sbin/depmod', '/sbin/depmod']) },
  { what: 'ip', pkg: 'iproute2', present: () => has('ip', ['/usr/bin/ip', '/bin/ip', '/usr/sbin/ip']) },
  {
    what: 'PVGRUB2 (the lab boots a guest through grub-x86_64-xen.bin)',
    pkg: 'grub-xen-host',
    present: () => existsSync('/usr/lib/grub-xen/grub-x86_64-xen.bin'),
  },
  {
    what: 'ansible-playbook, ansible-galaxy (the collection is built and run by them)',
    pkg: 'ansible-core',
    present: () =>
      has('ansible-playbook', ['/usr/bin/ansible-playbook']) && has('ansible-galaxy', ['/usr/bin/ansible-galaxy']),
  },
  { what: 'xorriso (ISO images)', pkg: 'xorriso', present: () => has('xorriso', ['/usr/bin/xorriso']) },
];

function debInstalled(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

function has(cmd, paths) {
  if (paths.some((p) => existsSync(p))) return true;
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Debian names the Xen tools by version (xen-utils-4.17); pick the one the archive has. */
function xenUtilsPackage() {
  try {
    const out = execFileSync('apt-cache', ['search', '--names-only', '^xen-utils-4\\.[0-9]+$'], { encoding: 'utf8' });
    const names = out
      .split('\n')
      .map((l) => l.split(' ')[0])
      .filter(Boolean)
      .sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]));
    return names.at(-1) ?? 'xen-utils-4.17';
  } catch {
    return 'xen-utils-4.17';
  }
}

const missing = NEEDS.filter((n) => !n.present());
if (missing.length === 0) process.exit(0);

const isRoot = process.getuid?.() === 0;
const hasApt = existsSync('/usr/bin/apt-get');
const names = () => missing.map((m) => (m.pkg === 'xen-utils' ? xenUtilsPackage() : m.pkg));
console.error(`The tests need: ${missing.map((m) => m.what).join(', ')}.`);
if (!isRoot || !hasApt) {
  console.error(
    `Install them with:\n  sudo apt-get update && sudo apt-get install -y ${missing.map((m) => (m.pkg === 'xen-utils' ? 'xen-utils-4.17' : m.pkg)).join(' ')}`,
  );
  process.exit(1);
}
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
console.error('Installing them with apt-get…');
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
const pkgs = names();
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { stdio: 'inherit', env });
const still = NEEDS.filter((n) => !n.present());
if (still.length) {
  console.error(`Still missing after apt-get: ${still.map((m) => m.what).join(', ')}`);
  process.exit(1);
}

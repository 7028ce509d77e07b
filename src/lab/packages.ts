/**
 * The Debian packages the lab is made of. The hypervisor and the dom0 kernel are fetched with
 * `apt-get download` and unpacked with `dpkg -x` (nothing is installed into this machine's /boot);
 * dom0's user space is copied from the Debian packages installed here (the same archive), which
 * `scripts/ensure-tools.mjs` installs.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Fetched and unpacked, never installed: the hypervisor and the kernel. */
export const DOWNLOADED = ['xen-hypervisor-4.17-amd64', 'linux-image-amd64'] as const;

/** Installed on this machine; dom0's programs are copied from them. */
export const INSTALLED = [
  'xen-utils-4.17',
  'xen-utils-common',
  'xenstore-utils',
  'libxenmisc4.17',
  'busybox-static',
  'bash',
  'python3.11-minimal',
  'libpython3.11-stdlib',
  'openssh-server',
  'openssh-client',
  'iproute2',
  'mount',
  'util-linux',
  'qemu-system-xen',
  'qemu-system-data',
  'seabios',
  'ipxe-qemu',
  'libc6',
  'ncurses-base',
  'coreutils',
  'dash',
] as const;

/** The programs `npm run lab` needs on this machine, and the Debian package of each. */
export const HOST_TOOLS: { cmd: string; pkg: string }[] = [
  { cmd: 'qemu-system-x86_64', pkg: 'qemu-system-x86' },
  { cmd: 'cpio', pkg: 'cpio' },
  { cmd: 'ssh', pkg: 'openssh-client' },
  { cmd: 'ssh-keygen', pkg: 'openssh-client' },
  { cmd: 'sshd', pkg: 'openssh-server' },
  { cmd: 'busybox', pkg: 'busybox-static' },
  { cmd: 'python3', pkg: 'python3' },
  { cmd: 'depmod', pkg: 'kmod' },
  { cmd: 'apt-get', pkg: 'apt' },
];

/** The Debian packages that bring everything the lab copies or runs, for one `apt-get install`. */
export const LAB_INSTALL_PACKAGES = [
  'qemu-system-x86',
  'qemu-system-xen',
  'seabios',
  'ipxe-qemu',
  'xen-utils-4.17',
  'xenstore-utils',
  'busybox-static',
  'python3',
  'openssh-server',
  'openssh-client',
  'cpio',
  'kmod',
  'iproute2',
];

const SEARCH_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The missing host programs, and the one command that installs them (undefined when none is). */
export function missingHostTools(): { missing: string[]; install?: string } {
  const missing = HOST_TOOLS.filter((t) => !SEARCH_PATH.some((d) => existsSync(path.join(d, t.cmd))));
  const pkgsMissing = INSTALLED.filter((p) => p.startsWith('xen-utils') || p === 'qemu-system-xen').filter(
    (p) => !isInstalledSync(p),
  );
  const names = [...missing.map((m) => m.cmd), ...pkgsMissing];
  if (names.length === 0) return { missing: [] };
  const pkgs = [...new Set([...missing.map((m) => m.pkg), ...pkgsMissing])];
  return {
    missing: names,
    install: `sudo apt-get update && sudo apt-get install -y --no-install-recommends ${pkgs.join(' ')}`,
  };
}

function isInstalledSync(pkg: string): boolean {
  // dpkg's status file is what dpkg-query reads; a look for the package's file list is enough here.
  const info = '/var/lib/dpkg/info';
  if (!existsSync(info)) return false;
  return readdirSync(info).some((f) => f === `${pkg}.list` || f.startsWith(`${pkg}:`));
}

/** The installed version of each package (dpkg-query), in the order asked. */
export async function installedVersions(pkgs: readonly string[]): Promise<Record<string, string>> {
  const { stdout } = await run('dpkg-query', [
    '-W',
    '-f',
    '${Package} ${Version} ${db:Status-Status}\\n',
    ...pkgs,
  ]).catch((e: { stdout?: string; stderr?: string }) => {
    throw new Error(`dpkg-query could not find every lab package: ${e.stderr ?? ''}`.trim());
  });
  return parseDpkgQuery(stdout, pkgs);
}

/** `Package Version Status` lines → name → version; a package not installed is an error naming it. */
export function parseDpkgQuery(text: string, pkgs: readonly string[]): Record<string, string> {
  const found: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const [name, version, status] = line.trim().split(/\s+/);
    if (name && version && status === 'installed') found[name.replace(/:.*$/, '')] = version;
  }
  const missing = pkgs.filter((p) => !(p in found));
  if (missing.length) throw new Error(`not installed: ${missing.join(' ')}`);
  return Object.fromEntries(pkgs.map((p) => [p, found[p]!]));
}

/** `apt-cache depends` output → the first Depends: (linux-image-amd64 → linux-image-6.1.0-N-amd64). */
export function firstDependency(text: string): string | undefined {
  const m = /^\s*Depends:\s*(\S+)/m.exec(text);
  return m?.[1];
}

/** `apt-cache policy` output → the candidate version. */
export function candidateVersion(text: string): string | undefined {
  const m = /^\s*Candidate:\s*(\S+)/m.exec(text);
  return m && m[1] !== '(none)' ? m[1] : undefined;
}

async function aptLists(): Promise<void> {
  const lists = '/var/lib/apt/lists';
  const has = existsSync(lists) && readdirSync(lists).some((f) => f.endsWith('Packages') || f.includes('Packages.'));
  if (!has) await run('apt-get', ['update', '-qq'], { maxBuffer: 1 << 26 });
}

export interface Fetched {
  /** Package name as fetched (linux-image-amd64 is resolved to the versioned image it depends on). */
  name: string;
  version: string;
  deb: string;
}

/** The package the name stands for, and its candidate version in the archive. */
export async function resolvePackage(name: string): Promise<{ name: string; version: string }> {
  await aptLists();
  let real = name;
  if (name === 'linux-image-amd64') {
    const { stdout } = await run('apt-cache', ['depends', name]);
    real = firstDependency(stdout) ?? name;
  }
  const { stdout } = await run('apt-cache', ['policy', real]);
  const version = candidateVersion(stdout);
  if (!version) throw new Error(`apt-cache knows no candidate for ${real}`);
  return { name: real, version };
}

/** `apt-get download` into DIR unless the .deb is already there. */
export async function fetchPackage(name: string, version: string, dir: string): Promise<Fetched> {
  await mkdir(dir, { recursive: true });
  const file = debFileName(name, version);
  const deb = path.join(dir, file);
  if (!existsSync(deb)) {
    await run('apt-get', ['download', `${name}=${version}`], { cwd: dir, maxBuffer: 1 << 26 });
  }
  if (!existsSync(deb)) throw new Error(`apt-get download did not leave ${file} in ${dir}`);
  return { name, version, deb };
}

/** Debian's pool file name: an epoch's colon is written %3a. */
export function debFileName(name: string, version: string, arch = 'amd64'): string {
  return `${name}_${version.replace(/:/g, '%3a')}_${arch}.deb`;
}

/** dpkg -x DEB DIR. */
export async function unpack(deb: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await run('dpkg', ['-x', deb, dir], { maxBuffer: 1 << 26 });
}

/** The files of an installed package (dpkg -L). */
export async function packageFiles(pkg: string): Promise<string[]> {
  const { stdout } = await run('dpkg', ['-L', pkg], { maxBuffer: 1 << 26 });
  return stdout.split('\n').filter((l) => l.startsWith('/') && l !== '/.');
}

/**
 * dom0's initramfs: busybox, Xen's tools (xl, xenstored, xenconsoled, xen-init-dom0, pygrub with
 * python3 and xenfsimage, the hotplug scripts), HVM's device model, the kernel modules dom0 needs,
 * an sshd, and an /init that starts them and a bridge xenbr0. Every file comes from a Debian package:
 * the kernel's from the unpacked linux-image, the rest from the packages installed on this machine,
 * shared libraries found by reading `ldd`.
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import {
  chmod,
  copyFile,
  lstat,
  mkdir,
  open,
  readFile,
  readdir,
  readlink,
  realpath,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { packageFiles } from './packages.js';
import { spawn } from 'node:child_process';

const run = promisify(execFile);

/** The kernel modules dom0 loads (their dependencies come from modules.dep). */
export const DOM0_MODULES = [
  'xenfs',
  'xen-evtchn',
  'xen-gntdev',
  'xen-gntalloc',
  'xen-privcmd',
  'xen-blkback',
  'xen-netback',
  'loop',
  'bridge',
  'tun',
  'e1000e',
  // The share: a directory of this machine seen by dom0 (virtio 9p), for guest images.
  'virtio_pci',
  '9pnet_virtio',
  '9p',
] as const;

/** Host paths copied into the initramfs (files, or directories whole), from installed packages. */
export const HOST_PATHS = [
  '/usr/bin/busybox',
  '/usr/bin/bash',
  '/usr/bin/dash',
  '/usr/lib/xen-4.17',
  '/etc/xen',
  '/usr/bin/xenstore-read',
  '/usr/bin/xenstore-write',
  '/usr/bin/xenstore-ls',
  '/usr/bin/xenstore-list',
  '/usr/bin/xenstore-rm',
  '/usr/bin/xenstore-exists',
  '/usr/bin/xenstore-chmod',
  '/usr/bin/xenstore-watch',
  '/usr/bin/python3.11',
  '/usr/lib/python3.11',
  '/usr/sbin/sshd',
  '/usr/lib/openssh/sftp-server',
  '/usr/bin/ip',
  '/usr/sbin/losetup',
  '/usr/bin/flock',
  '/usr/libexec/xen-qemu-system-i386',
  '/usr/share/qemu',
  '/usr/share/seabios',
  '/usr/lib/ipxe',
  '/usr/lib/x86_64-linux-gnu/libgcc_s.so.1',
  // pygrub runs its curses menu on libxl's pty: without terminfo it fails before reading a disk.
  '/usr/lib/terminfo',
] as const;

/** Installed packages whose programs are all copied. */
export const WHOLE_PACKAGES = ['coreutils'] as const;

/** Parts of the copied directories dom0 never uses (tests, GUIs, docs, byte-code caches of them). */
export const EXCLUDE = [
  /^\/usr\/lib\/python3\.11\/(test|idlelib|tkinter|turtledemo|ensurepip|lib2to3|pydoc_data|unittest|distutils|config-[^/]*)(\/|$)/,
  /^\/usr\/lib\/python3\.11\/(site|dist)-packages(\/|$)/,
  /\/__pycache__\/.*\.opt-[12]\.pyc$/,
  /^\/usr\/lib\/xen-4\.17\/bin\/(test-|xen-vmtrace|xenpaging|xen-kdd|xencov|xenlockprof|flask-)/,
];

/**
 * Applets never linked. Real programs always win over applets (the hotplug scripts need
 * util-linux's losetup and iproute2's ip, which busybox's would shadow); brctl must be absent
 * so that vif-bridge uses `ip link` (xen-network-common.sh, create_bridge).
 */
export const NO_APPLET = ['brctl'];

/** Xen's programs under the names the hotplug scripts and the administrator type. */
export const XEN_LINKS: Record<string, string> = {
  '/usr/sbin/xl': '/usr/lib/xen-4.17/bin/xl',
  '/usr/sbin/xenstored': '/usr/lib/xen-4.17/bin/xenstored',
  '/usr/sbin/xenconsoled': '/usr/lib/xen-4.17/bin/xenconsoled',
  '/usr/sbin/xen-init-dom0': '/usr/lib/xen-4.17/bin/xen-init-dom0',
  '/usr/bin/pygrub': '/usr/lib/xen-4.17/bin/pygrub',
  '/usr/sbin/xentop': '/usr/lib/xen-4.17/bin/xentop',
  '/usr/bin/python3': 'python3.11',
  // /bin/sh is dash, as on Debian: Debian's static busybox prefers its own applets inside its
  // shell, so a busybox sh would run busybox's chmod even where GNU chmod is installed.
  '/usr/bin/sh': 'dash',
};

/** One line of `ldd` → the library's path (the soname and where it was found). */
export interface LddLib {
  name: string;
  path: string;
}

/** Every library `ldd` names with a path (the loader included), over one or many files. */
export function parseLdd(text: string): LddLib[] {
  const libs = new Map<string, LddLib>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    let m = /^(\S+)\s+=>\s+(\/\S+)\s+\(0x[0-9a-f]+\)$/.exec(line);
    if (m) {
      libs.set(m[2]!, { name: m[1]!, path: m[2]! });
      continue;
    }
    m = /^(\/\S+)\s+\(0x[0-9a-f]+\)$/.exec(line);
    if (m) libs.set(m[1]!, { name: path.basename(m[1]!), path: m[1]! });
  }
  return [...libs.values()];
}

/** A path as it lies in a merged-/usr tree (/lib/x → /usr/lib/x, /bin/x → /usr/bin/x). */
export function usrMerged(p: string): string {
  return p.replace(/^\/(lib64|lib|bin|sbin)\//, '/usr/$1/');
}

/** modules.dep → the modules to insmod, each after what it needs, each once. */
export function moduleLoadOrder(modulesDep: string, wanted: readonly string[]): string[] {
  const deps = new Map<string, string[]>();
  const byName = new Map<string, string>();
  for (const line of modulesDep.split('\n')) {
    const m = /^([^:]+):\s*(.*)$/.exec(line.trim());
    if (!m) continue;
    const mod = m[1]!;
    deps.set(mod, m[2] ? m[2].split(/\s+/) : []);
    byName.set(moduleName(mod), mod);
  }
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (mod: string) => {
    if (seen.has(mod)) return;
    seen.add(mod);
    // modules.dep lists every dependency, the deepest last: load them from the end.
    for (const d of [...(deps.get(mod) ?? [])].reverse()) visit(d);
    order.push(mod);
  };
  for (const w of wanted) {
    const mod = byName.get(w.replace(/_/g, '-')) ?? byName.get(w.replace(/-/g, '_'));
    if (!mod) throw new Error(`kernel module ${w} is not in modules.dep`);
    visit(mod);
  }
  return order;
}

function moduleName(p: string): string {
  return path.basename(p).replace(/\.ko(\.(xz|gz|zst))?$/, '');
}

export interface InitOptions {
  kernelRelease: string;
  /** Module paths relative to /lib/modules/RELEASE, in load order. */
  modules: readonly string[];
  /** dom0's address on QEMU's user network (slirp: 10.0.2.15, gateway 10.0.2.2). */
  address?: string;
  gateway?: string;
}

/** The virtio 9p tag of the directory shared with dom0, and where dom0 mounts it. */
export const SHARE_TAG = 'labshare';
export const SHARE_DIR = '/mnt/lab';

/** dom0's address on QEMU's user network, set on xenbr0 by /init (outside QEMU's DHCP pool). */
export const DOM0_ADDRESS = '10.0.2.15';

/** The marker /init prints on the console when sshd is up. */
export const READY_MARKER = 'XENLAB-READY';

/** dom0's /init (busybox sh): filesystems, devices, modules, xenstored, xenconsoled, xenbr0, sshd. */
export function initScript(o: InitOptions): string {
  const address = o.address ?? `${DOM0_ADDRESS}/24`;
  const gateway = o.gateway ?? '10.0.2.2';
  const mods = o.modules.map((m) => `/lib/modules/${o.kernelRelease}/${m}`).join(' \\\n  ');
  return `#!/bin/sh
# dom0 of the xen-runbooks lab.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
# devtmpfs has none of these: without them the hotplug scripts' lock never opens.
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
hostname xenlab
for m in \\
  ${mods}; do
  insmod "$m" || echo "lab: insmod $m failed"
done
mkdir -p /run/lock
mkdir -p /proc/xen /run/xen /run/xenstored /run/sshd /var/lib/xen /var/lib/xenstored /var/log/xen/console /var/lock/subsys
mount -t xenfs xenfs /proc/xen
/usr/sbin/xenstored --pid-file /run/xenstored.pid
/usr/sbin/xen-init-dom0
/usr/sbin/xenconsoled --log=guest --log-dir=/var/log/xen/console --pid-file=/run/xenconsoled.pid
ip link set lo up
ip link add name xenbr0 type bridge stp_state 0 forward_delay 0
ip link set eth0 master xenbr0
ip link set eth0 up
ip link set xenbr0 up
ip addr add ${address} dev xenbr0
ip route add default via ${gateway}
# The share with this machine (QEMU -virtfs, tag ${SHARE_TAG}), when there is one.
mkdir -p ${SHARE_DIR}
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 ${SHARE_TAG} ${SHARE_DIR} 2>/dev/null || rmdir ${SHARE_DIR}
# -r: each connection is served by a fork of this sshd, not a new exec of it. Under emulation an
# exec in a PV dom0 is dear: a connection cost ~0.8 s of QEMU's CPU with the re-exec, ~0.4 s without.
/usr/sbin/sshd -r -E /var/log/sshd.log
echo ${READY_MARKER}
while :; do sleep 3600; done
`;
}

/** /etc files of dom0 that no package gives as needed here. */
export function etcFiles(): Record<string, string> {
  return {
    '/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n',
    '/etc/group': 'root:x:0:\nnogroup:x:65534:\n',
    '/etc/shadow': 'root:*:19000:0:99999:7:::\nsshd:*:19000:0:99999:7:::\n',
    '/etc/hosts': '127.0.0.1 localhost xenlab\n',
    '/etc/nsswitch.conf': 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n',
    '/etc/resolv.conf': 'nameserver 10.0.2.3\n',
    '/etc/shells': '/bin/sh\n/bin/bash\n',
    '/etc/ssh/sshd_config': [
      'Port 22',
      'HostKey /etc/ssh/ssh_host_ed25519_key',
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'UseDNS no',
      'StrictModes no',
      'AuthorizedKeysFile /root/.ssh/authorized_keys',
      'PidFile /run/sshd.pid',
      'MaxSessions 64',
      'MaxStartups 64',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  };
}

export interface StageResult {
  files: number;
  elves: string[];
}

/** A tree under DIR built from host paths: directories whole, symlinks kept (and their targets copied). */
export class Stager {
  private readonly done = new Set<string>();
  readonly elves: string[] = [];
  constructor(
    readonly dir: string,
    private readonly exclude: readonly RegExp[] = EXCLUDE,
  ) {}

  private at(p: string): string {
    return path.join(this.dir, p);
  }

  async layout(): Promise<void> {
    for (const d of [
      'usr/bin',
      'usr/sbin',
      'usr/lib',
      'usr/lib64',
      'etc',
      'proc',
      'sys',
      'dev',
      'run',
      'tmp',
      'root/.ssh',
      'var/lib',
      'var/log',
    ])
      await mkdir(this.at(d), { recursive: true });
    for (const l of ['bin', 'sbin', 'lib', 'lib64']) await symlink(`usr/${l}`, this.at(l));
    await symlink('../run', this.at('var/run'));
    await symlink('../run/lock', this.at('var/lock'));
  }

  /** Copy one host path (canonical /usr form) into the tree. */
  async add(hostPath: string, as?: string): Promise<void> {
    const canon = await canonical(hostPath);
    const dest = usrMerged(as ?? canon);
    if (this.done.has(dest) || this.exclude.some((r) => r.test(canon))) return;
    this.done.add(dest);
    const st = await lstat(canon);
    await mkdir(path.dirname(this.at(dest)), { recursive: true });
    if (st.isSymbolicLink()) {
      const target = await readlink(canon);
      await rm(this.at(dest), { force: true });
      await symlink(target, this.at(dest));
      const resolved = path.resolve(path.dirname(canon), target);
      await lstat(resolved).then(
        () => this.add(resolved),
        () => undefined,
      );
    } else if (st.isDirectory()) {
      await mkdir(this.at(dest), { recursive: true });
      for (const e of await readdir(canon)) await this.add(path.join(canon, e));
    } else if (st.isFile()) {
      await copyFile(canon, this.at(dest));
      await chmod(this.at(dest), st.mode & 0o7777);
      if (await isElf(canon)) this.elves.push(canon);
    }
  }

  async write(p: string, text: string, mode = 0o644): Promise<void> {
    await mkdir(path.dirname(this.at(p)), { recursive: true });
    await writeFile(this.at(p), text, { mode });
    await chmod(this.at(p), mode);
  }

  async link(p: string, target: string): Promise<void> {
    await mkdir(path.dirname(this.at(p)), { recursive: true });
    await rm(this.at(p), { force: true });
    await symlink(target, this.at(p));
  }

  async exists(p: string): Promise<boolean> {
    return lstat(this.at(p)).then(
      () => true,
      () => false,
    );
  }

  /** The libraries of every ELF file copied so far, as `ldd` finds them, copied too. */
  async addLibraries(): Promise<number> {
    let added = 0;
    const seen = new Set<string>();
    for (;;) {
      const todo = this.elves.filter((e) => !seen.has(e));
      if (todo.length === 0) return added;
      todo.forEach((e) => seen.add(e));
      for (let i = 0; i < todo.length; i += 64) {
        const chunk = todo.slice(i, i + 64);
        const out = await run('ldd', chunk, { maxBuffer: 1 << 26 }).then(
          (r) => r.stdout,
          (e: { stdout?: string }) => e.stdout ?? '',
        );
        for (const lib of parseLdd(out)) {
          const dest = usrMerged(path.join(path.dirname(lib.path), lib.name));
          if (await this.exists(dest)) continue;
          await this.add(lib.path, dest);
          added++;
        }
      }
    }
  }
}

async function canonical(p: string): Promise<string> {
  // The directory part through realpath (this machine may have /lib → usr/lib), the name as it is.
  const dir = await realpath(path.dirname(p));
  return path.join(dir, path.basename(p));
}

async function isElf(p: string): Promise<boolean> {
  const fh = await open(p, 'r');
  try {
    const b = Buffer.alloc(4);
    const { bytesRead } = await fh.read(b, 0, 4, 0);
    return bytesRead === 4 && b.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    await fh.close();
  }
}

/** busybox --list-full → the applet links to make: not where a real program lies, nor the refused ones. */
export function appletLinks(list: string, present: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (const line of list.split('\n')) {
    const p = line.trim();
    if (!p) continue;
    const name = path.basename(p);
    if (NO_APPLET.includes(name)) continue;
    if (present(name)) continue;
    out.push(usrMerged(`/${p}`));
  }
  return out;
}

/** `find . | cpio -o -H newc` of DIR into OUT (owner root). */
export async function writeCpio(dir: string, out: string): Promise<void> {
  const { stdout } = await run('find', ['.', '-mindepth', '1'], { cwd: dir, maxBuffer: 1 << 28 });
  const names = stdout.split('\n').filter(Boolean).sort().join('\n');
  const child = spawn('cpio', ['-o', '-H', 'newc', '-R', '0:0', '--quiet'], {
    cwd: dir,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const file = createWriteStream(out);
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  // Both listeners first: the file may be closed before cpio's exit is reported, or after.
  const written = new Promise<void>((resolve, reject) => {
    file.on('close', resolve);
    file.on('error', reject);
  });
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`cpio exited ${code}: ${err}`))));
  });
  child.stdout.pipe(file);
  // A cpio that fails before reading every name says why in its exit (above), not in an EPIPE here.
  child.stdin.on('error', () => undefined);
  child.stdin.end(names + '\n');
  await Promise.all([exited, written]);
}

export interface BuildInitramfsOptions {
  /** Scratch directory for the tree (emptied first). */
  stage: string;
  /** The unpacked linux-image package (its lib/modules/RELEASE). */
  kernelRoot: string;
  kernelRelease: string;
  out: string;
  progress?: (msg: string) => void;
}

/** Build dom0's initramfs; returns the number of files and the modules loaded. */
export async function buildInitramfs(o: BuildInitramfsOptions): Promise<{ modules: string[] }> {
  const say = o.progress ?? (() => undefined);
  await rm(o.stage, { recursive: true, force: true });
  const s = new Stager(o.stage);
  await s.layout();
  say('copying Xen tools, python3, sshd, busybox');
  for (const p of HOST_PATHS) await s.add(p);
  // A Debian dom0 has GNU coreutils: playbooks run over ssh use options busybox lacks (chmod --reference).
  for (const pkg of WHOLE_PACKAGES)
    for (const f of await packageFiles(pkg)) if (/^\/(usr\/)?s?bin\/[^/]+$/.test(f)) await s.add(f);
  for (const [p, t] of Object.entries(XEN_LINKS)) await s.link(p, t);
  say('copying shared libraries (ldd)');
  await s.add('/lib64/ld-linux-x86-64.so.2');
  await s.addLibraries();
  const list = (await run('/usr/bin/busybox', ['--list-full'])).stdout;
  const present = new Set<string>();
  for (const d of ['usr/bin', 'usr/sbin']) for (const f of await readdir(path.join(o.stage, d))) present.add(f);
  for (const link of appletLinks(list, (n) => present.has(n))) {
    if (!(await s.exists(link))) await s.link(link, '/usr/bin/busybox');
  }
  say('copying kernel modules');
  const modDir = path.join(o.kernelRoot, 'lib/modules', o.kernelRelease);
  const dep = await readFile(path.join(modDir, 'modules.dep'), 'utf8');
  const modules = moduleLoadOrder(dep, DOM0_MODULES);
  for (const m of modules) {
    const dest = path.join(o.stage, 'usr/lib/modules', o.kernelRelease, m);
    await mkdir(path.dirname(dest), { recursive: true });
    await copyFile(path.join(modDir, m), dest);
  }
  for (const [p, text] of Object.entries(etcFiles())) await s.write(p, text);
  await s.write('/init', initScript({ kernelRelease: o.kernelRelease, modules }), 0o755);
  say('writing the cpio archive');
  await writeCpio(o.stage, o.out);
  await rm(o.stage, { recursive: true, force: true });
  return { modules };
}

/** The per-boot part: sshd's host key and the authorized keys, as a second cpio appended to the first. */
export async function buildKeysCpio(o: {
  stage: string;
  hostKey: string;
  hostKeyPub: string;
  authorizedKeys: string;
  out: string;
}): Promise<void> {
  await rm(o.stage, { recursive: true, force: true });
  await mkdir(path.join(o.stage, 'etc/ssh'), { recursive: true });
  await mkdir(path.join(o.stage, 'root/.ssh'), { recursive: true, mode: 0o700 });
  await writeFile(path.join(o.stage, 'etc/ssh/ssh_host_ed25519_key'), o.hostKey, { mode: 0o600 });
  await writeFile(path.join(o.stage, 'etc/ssh/ssh_host_ed25519_key.pub'), o.hostKeyPub, { mode: 0o644 });
  await writeFile(path.join(o.stage, 'root/.ssh/authorized_keys'), o.authorizedKeys, { mode: 0o600 });
  await writeCpio(o.stage, o.out);
  await rm(o.stage, { recursive: true, force: true });
}

import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../helpers/playbook.js';
import { isoStandIn } from '../helpers/iso.js';

export const FIXTURES = path.join(ROOT, 'test/fixtures/windows');
export const GOLDEN = path.join(FIXTURES, 'golden');
export const UUID = '5d1a9c2e-6f7e-4a3b-9c1d-2e3f4a5b6c7d';

export type Cpu = 'intel-vmx' | 'amd-svm' | 'no-virt' | 'xen-dom0';
export type Grub =
  | {
      kind: 'legacy';
      file: 'centos6-no-xen' | 'centos6-xen-second' | 'centos6-xen-default' | 'centos6-stock-only';
      boot?: 'centos6';
    }
  | { kind: 'menu.lst'; file: 'debian6-menu.lst' }
  | { kind: 'grub2'; xen: boolean; default: string; saved?: string }
  | { kind: 'none' };

export interface HostSpec {
  cpu?: Cpu | 'none';
  /** /proc/xen/capabilities with control_d and /sys/hypervisor/type. */
  dom0?: boolean;
  /** The running kernel (/proc/sys/kernel/osrelease). */
  release?: string;
  grub?: Grub;
  /** Files to create: path -> content. */
  files?: Record<string, string>;
}

function copyDir(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const f of readdirSync(from)) copyFileSync(path.join(from, f), path.join(to, f));
}

/**
 * A host tree for --root: /proc, /sys, /boot and the GRUB configuration of the kind asked,
 * an empty /etc/xen, and an installation ISO at /srv/iso/win7.iso.
 */
export function makeHost(spec: HostSpec = {}): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'xr-win-host-'));
  const put = (p: string, content: string | Buffer, mode?: number) => {
    const f = path.join(root, p);
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, content);
    if (mode !== undefined) chmodSync(f, mode);
  };
  const cpu = spec.cpu ?? (spec.dom0 ? 'xen-dom0' : 'intel-vmx');
  if (cpu !== 'none') put('/proc/cpuinfo', readFileSync(path.join(FIXTURES, 'cpuinfo', cpu), 'utf8'));
  const grub = spec.grub ?? { kind: 'grub2', xen: true, default: `xen-gnulinux-simple-${UUID}` };
  const centos = grub.kind === 'legacy';
  const release =
    spec.release ??
    (centos ? (spec.dom0 ? '2.6.32.26-174.1.xendom0.el6.x86_64' : '2.6.32-220.el6.x86_64') : '6.1.0-18-amd64');
  put('/proc/sys/kernel/osrelease', `${release}\n`);
  put(
    '/proc/mounts',
    'sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n/dev/mapper/vg0-root / ext4 rw,relatime 0 0\n',
  );
  put('/proc/swaps', 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n');
  if (spec.dom0) {
    put('/proc/xen/capabilities', 'control_d\n');
    put('/sys/hypervisor/type', 'xen\n');
  }
  mkdirSync(path.join(root, 'etc/xen'), { recursive: true });
  put('/srv/iso/win7.iso', isoStandIn('win7'));
  mkdirSync(path.join(root, 'srv/xen'), { recursive: true });
  if (grub.kind === 'legacy') {
    copyDir(path.join(FIXTURES, 'boot-centos6'), path.join(root, 'boot'));
    symlinkSync('xen-4.0.1.gz', path.join(root, 'boot/xen.gz'));
    put('/boot/grub/grub.conf', readFileSync(path.join(FIXTURES, 'grub-legacy', `${grub.file}.conf`), 'utf8'), 0o600);
    mkdirSync(path.join(root, 'etc'), { recursive: true });
    symlinkSync('../boot/grub/grub.conf', path.join(root, 'etc/grub.conf'));
  } else if (grub.kind === 'menu.lst') {
    copyDir(path.join(FIXTURES, 'boot-debian12'), path.join(root, 'boot'));
    put('/boot/grub/menu.lst', readFileSync(path.join(FIXTURES, 'grub-legacy', grub.file), 'utf8'));
  } else if (grub.kind === 'grub2') {
    copyDir(path.join(FIXTURES, 'boot-debian12'), path.join(root, 'boot'));
    const cfgDefault = grub.default === 'saved' ? '${saved_entry}' : grub.default;
    const cfg = readFileSync(
      path.join(FIXTURES, 'grub2', grub.xen ? 'debian12-grub.cfg' : 'debian12-noxen-grub.cfg'),
      'utf8',
    );
    put('/boot/grub/grub.cfg', cfg.replace('@DEFAULT@', cfgDefault), 0o444);
    const defaults = readFileSync(path.join(FIXTURES, 'grub2', 'default-grub'), 'utf8');
    put('/etc/default/grub', defaults.replace('GRUB_DEFAULT=0', `GRUB_DEFAULT=${grub.default}`));
    const env = path.join(root, 'boot/grub/grubenv');
    execFileSync('grub-editenv', [env, 'create']);
    if (grub.saved) execFileSync('grub-editenv', [env, 'set', `saved_entry=${grub.saved}`]);
  }
  for (const [p, content] of Object.entries(spec.files ?? {})) put(p, content);
  return root;
}

/** grub-editenv FILE list, as a map. */
export function grubenv(file: string): Record<string, string> {
  const out = execFileSync('grub-editenv', [file, 'list'], { encoding: 'utf8' });
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/** GRUB_DEFAULT as grub-mkconfig sees it: /etc/default/grub sourced by a POSIX shell. */
export function sourcedGrubDefault(file: string): string {
  return execFileSync('sh', ['-c', '. "$1" >/dev/null 2>&1; printf %s "$GRUB_DEFAULT"', 'sh', file], {
    encoding: 'utf8',
  });
}

/** pygrub's own reading of a GRUB legacy file: the default index and each entry's kernel. */
export function pygrubReads(
  python: string,
  file: string,
): { default: number; images: { title: string; kernel: string }[] } {
  const script = [
    'import sys, json',
    "sys.path.insert(1, '/usr/lib/xen-4.17/lib/python')",
    'import grub.GrubConf as G',
    'c = G.GrubConfigFile()',
    'c.parse(open(sys.argv[1]).read())',
    'print(json.dumps({"default": c.default, "images": [{"title": i.title, "kernel": i.kernel[1]} for i in c.images]}))',
  ].join('\n');
  return JSON.parse(execFileSync(python, ['-c', script, file], { encoding: 'utf8' }));
}

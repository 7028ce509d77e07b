#!/usr/bin/env node
// @ts-check
// The lab: how long a fresh build takes (packages fetched and unpacked, dom0's initramfs made), how
// long from QEMU's start until dom0's sshd answers, and how long a PV guest takes from `xl create`
// until its /init prints on the console (the lab's Debian kernel, a busybox initrd), and how long an
// HVM guest takes from `xl create` until the boot sector of its CD writes to port 0xE9 (hvmloader,
// SeaBIOS and the device model, all emulated twice over: `xl dmesg` shows it). Software
// emulation on a shared machine: the numbers move with the load; `uptime` is printed beside them.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  down,
  ensureBuilt,
  gzippedElfKernel,
  markerInitrd,
  markerIso,
  missingHostTools,
  pvConfig,
  sshRun,
  up,
} from 'xen-runbooks/lab';
import { printTable } from './_table.mjs';

export async function run() {
  const tools = missingHostTools();
  if (tools.install) throw new Error(`the lab needs ${tools.missing.join(', ')}: ${tools.install}`);
  const cache = await mkdtemp(path.join(os.tmpdir(), 'xr-bench-lab-cache-'));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'xr-bench-lab-'));
  /** @type {Record<string, string | number>[]} */
  const rows = [];
  try {
    let t = Date.now();
    const built = await ensureBuilt({ root: cache });
    rows.push({ what: 'build (fresh cache: apt-get download, dpkg -x, initramfs)', seconds: (Date.now() - t) / 1000 });
    t = Date.now();
    await ensureBuilt({ root: cache });
    rows.push({ what: 'build again (cached)', seconds: (Date.now() - t) / 1000 });
    const r = await up({ dir, cacheRoot: cache });
    rows.push({ what: 'boot: QEMU start to ssh answering', seconds: r.bootSeconds });
    const share = path.join(dir, 'share');
    await writeFile(path.join(share, 'vmlinux.gz'), gzippedElfKernel(built.vmlinuz));
    await writeFile(path.join(share, 'initrd'), markerInitrd('XR-BENCH-UP'));
    const cfg = pvConfig({
      name: 'bench',
      kernel: '/mnt/lab/vmlinux.gz',
      disk: '/var/lib/xen/bench.img',
      extra: ['ramdisk = "/mnt/lab/initrd"', 'extra = "console=hvc0"'],
    });
    await sshRun(r.sshConfig, ['truncate', '-s', '16M', '/var/lib/xen/bench.img']);
    await writeFile(path.join(share, 'bench.cfg'), cfg);
    t = Date.now();
    const c = await sshRun(r.sshConfig, ['xl', 'create', '/mnt/lab/bench.cfg'], 900_000);
    if (c.code !== 0) throw new Error(`xl create: ${c.stderr}`);
    for (;;) {
      const log = await sshRun(r.sshConfig, ['cat', '/var/log/xen/console/guest-bench.log']);
      if (log.stdout.includes('XR-BENCH-UP')) break;
      if (Date.now() - t > 900_000) throw new Error('the PV guest never printed its marker');
      await new Promise((res) => setTimeout(res, 1000));
    }
    rows.push({ what: 'PV guest: xl create to its /init on the console', seconds: (Date.now() - t) / 1000 });

    markerIso(path.join(share, 'bench.iso'), 'XR-BENCH-HVM');
    await writeFile(
      path.join(share, 'hvm.cfg'),
      [
        'name = "benchhvm"',
        'type = "hvm"',
        'memory = 256',
        'vcpus = 1',
        'disk = [ "file:/mnt/lab/bench.iso,hdc:cdrom,r" ]',
        'boot = "d"',
        'vnc = 0',
        // QEMU's emulated CPU faults on Xen's default TSC emulation.
        'tsc_mode = "native"',
        '',
      ].join('\n'),
    );
    t = Date.now();
    const h = await sshRun(r.sshConfig, ['xl', 'create', '/mnt/lab/hvm.cfg'], 900_000);
    if (h.code !== 0) throw new Error(`xl create (HVM): ${h.stderr}`);
    for (;;) {
      const log = await sshRun(r.sshConfig, ['xl', 'dmesg']);
      if (/\(d\d+\) XR-BENCH-HVM/.test(log.stdout)) break;
      if (Date.now() - t > 900_000) throw new Error('the HVM guest never wrote its marker');
      await new Promise((res) => setTimeout(res, 1000));
    }
    rows.push({ what: "HVM guest: xl create to its CD's boot sector", seconds: (Date.now() - t) / 1000 });
  } finally {
    await down({ dir });
    await rm(dir, { recursive: true, force: true });
    await rm(cache, { recursive: true, force: true });
  }
  printTable(
    rows.map((x) => ({ ...x, seconds: Math.round(Number(x.seconds) * 10) / 10 })),
    ['what', 'seconds'],
  );
  console.log(`\nload: ${execFileSync('uptime', { encoding: 'utf8' }).trim()}`);
}

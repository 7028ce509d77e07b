// Xen as the host's default boot entry, on host trees made from real distributions' files
// (Debian 12's grub.cfg, CentOS 6's grub.conf): what is found, what is planned, what fails.
import { rmSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planEdit, RootTransport, StepError, type CheckResult } from 'xen-runbooks/engine';
import { grub2Check, grubConfigOf, legacyCheck, type BootChange } from 'xen-runbooks/playbooks/windows-hvm/boot-entry';
import { makeHost, UUID, type HostSpec } from './host.js';

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function host(spec: HostSpec) {
  const root = makeHost(spec);
  roots.push(root);
  const t = new RootTransport(root);
  return { root, run: { host: t, planEdit: (f: string, fn: (c: string | undefined) => string) => planEdit(t, f, fn) } };
}

function plan(r: CheckResult<BootChange>): BootChange {
  if (r.status !== 'change' || !r.data) throw new Error(`expected a change, got ${r.status}: ${r.message}`);
  return r.data;
}

describe('which GRUB', () => {
  it('GRUB 2 first, then grub.conf, then menu.lst; none is undefined', async () => {
    expect(await grubConfigOf(host({}).run.host)).toEqual({ kind: 'grub2', file: '/boot/grub/grub.cfg' });
    const centos = host({ grub: { kind: 'legacy', file: 'centos6-xen-default', boot: 'centos6' } });
    expect(await grubConfigOf(centos.run.host)).toEqual({ kind: 'legacy', file: '/boot/grub/grub.conf' });
    const debian6 = host({ grub: { kind: 'menu.lst', file: 'debian6-menu.lst' } });
    expect(await grubConfigOf(debian6.run.host)).toEqual({ kind: 'legacy', file: '/boot/grub/menu.lst' });
    expect(await grubConfigOf(host({ grub: { kind: 'none' } }).run.host)).toBeUndefined();
  });
});

describe('GRUB 2', () => {
  const xenRef = `xen-gnulinux-simple-${UUID}`;

  it('the default entry loads Xen: nothing to do', async () => {
    const r = await grub2Check(
      host({ grub: { kind: 'grub2', xen: true, default: xenRef } }).run,
      '/boot/grub/grub.cfg',
    );
    expect(r.status).toBe('ok');
    expect(r.message).toMatch(/the default entry "Debian GNU\/Linux, with Xen hypervisor" loads \/boot\/xen/);
  });

  it('Linux by default: GRUB_DEFAULT in /etc/default/grub becomes the Xen entry, then update-grub', async () => {
    const r = await grub2Check(host({ grub: { kind: 'grub2', xen: true, default: '0' } }).run, '/boot/grub/grub.cfg');
    const p = plan(r);
    expect(p.kind).toBe('edit');
    if (p.kind !== 'edit') return;
    expect(p.edit.path).toBe('/etc/default/grub');
    expect(p.edit.after).toContain(`GRUB_DEFAULT=${xenRef}`);
    expect(p.regenerate).toEqual(['update-grub']);
    expect(r.message).toMatch(/\(now "Debian GNU\/Linux"\), then update-grub$/);
  });

  it('GRUB_DEFAULT=saved: grubenv gets saved_entry, no file edit', async () => {
    const r = await grub2Check(
      host({ grub: { kind: 'grub2', xen: true, default: 'saved', saved: 'gnulinux-simple-x' } }).run,
      '/boot/grub/grub.cfg',
    );
    expect(plan(r)).toEqual({ kind: 'saved', grubenv: '/boot/grub/grubenv', ref: xenRef });
  });

  it('no Xen entry fails with the package to install; no /etc/default/grub fails with the entry to choose', async () => {
    const noXen = host({ grub: { kind: 'grub2', xen: false, default: '0' } });
    await expect(grub2Check(noXen.run, '/boot/grub/grub.cfg')).rejects.toThrow(/has no entry that loads Xen/);
    const noDefaults = host({ grub: { kind: 'grub2', xen: true, default: '0' } });
    unlinkSync(path.join(noDefaults.root, 'etc/default/grub'));
    const e = await grub2Check(noDefaults.run, '/boot/grub/grub.cfg').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StepError);
    expect((e as StepError).message).toMatch(/there is no \/etc\/default\/grub to change that/);
  });
});

describe('GRUB legacy', () => {
  const file = '/boot/grub/grub.conf';

  it('the Xen entry is the default: nothing to do', async () => {
    const h = host({ grub: { kind: 'legacy', file: 'centos6-xen-default', boot: 'centos6' } });
    const r = await legacyCheck(h.run, file);
    expect(r.status).toBe('ok');
    expect(r.message).toMatch(/the default entry 0, .* boots \/xen\.gz with \/vmlinuz-2\.6\.32\.26-174\.1\.xendom0/);
  });

  it('the Xen entry is second: it becomes the default', async () => {
    const h = host({ grub: { kind: 'legacy', file: 'centos6-xen-second', boot: 'centos6' } });
    const p = plan(await legacyCheck(h.run, file));
    expect(p.kind === 'edit' && p.edit.after).toMatch(/^default=1$/m);
  });

  it('no Xen entry: one is added from the dom0-capable kernel, with /boot/xen.gz, and made the default', async () => {
    const h = host({ grub: { kind: 'legacy', file: 'centos6-no-xen', boot: 'centos6' } });
    const r = await legacyCheck(h.run, file);
    expect(r.message).toMatch(/add a Xen entry \(\/xen\.gz \+ \/vmlinuz-2\.6\.32\.26-174\.1\.xendom0\.el6\.x86_64\)/);
    const p = plan(r);
    expect(p.kind === 'edit' && p.edit.after).toMatch(/^default=2$/m);
    expect(p.kind === 'edit' && p.edit.after).toMatch(/title Xen hypervisor, CentOS \(2\.6\.32\.26-174\.1\.xendom0/);
  });

  it('no kernel that can be dom0: fails saying how to get one', async () => {
    const h = host({ grub: { kind: 'legacy', file: 'centos6-stock-only', boot: 'centos6' } });
    unlinkSync(path.join(h.root, 'boot/config-2.6.32.26-174.1.xendom0.el6.x86_64'));
    await expect(legacyCheck(h.run, file)).rejects.toThrow(/none of its kernels can run as dom0/);
  });
});

// Which files are guests, how each boots, the pygrub way out, and the verdict of a list of reasons.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RootTransport } from 'xen-runbooks/engine';
import { XlConfig } from 'xen-runbooks/xen/xlcfg';
import { parseXenVersion, type Finding } from 'xen-runbooks/grub';
import { listConfigFiles, looksLikeDomainConfig, parseXeVms } from 'xen-runbooks/playbooks/xen-upgrade-check/guests';
import {
  bootKind,
  firstDiskTarget,
  pygrubFixCommand,
  releaseDirOf,
  strategyFor,
} from 'xen-runbooks/playbooks/xen-upgrade-check/boot';
import { guestLines, tally, verdictOf, type Reason } from 'xen-runbooks/playbooks/xen-upgrade-check/verdict';
import { tempDir } from '../fixtures/images.js';

let root: string;
beforeAll(() => {
  root = tempDir('xr-upgrade-list-');
  const etc = path.join(root, 'etc/xen');
  mkdirSync(path.join(etc, 'auto'), { recursive: true });
  mkdirSync(path.join(etc, 'scripts'), { recursive: true });
  writeFileSync(path.join(etc, 'vm01.cfg'), 'name = "vm01"\nmemory = 512\n');
  writeFileSync(path.join(etc, 'vm02'), "kernel = '/boot/k'\n");
  writeFileSync(path.join(etc, 'vm01.cfg.orig'), 'name = "vm01"\n');
  writeFileSync(path.join(etc, 'xl.conf'), 'autoballoon = "off"\n');
  writeFileSync(path.join(etc, 'xend-config.sxp'), '(xend-http-server no)\n');
  writeFileSync(path.join(etc, 'notes.txt'), 'nothing to see\n');
  symlinkSync('../vm01.cfg', path.join(etc, 'auto/vm01.cfg'));
  mkdirSync(path.join(root, 'srv/configs'), { recursive: true });
  writeFileSync(path.join(root, 'srv/configs/db.cfg'), 'builder = "hvm"\n');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the guests of a host', () => {
  it('domain configs in /etc/xen and --config-dir; not xl.conf, xend-config.sxp, backups, scripts/ or auto/', async () => {
    const files = await listConfigFiles(new RootTransport(root), ['/etc/xen', '/srv/configs', '/nowhere']);
    expect(files.map((f) => f.path)).toEqual(['/etc/xen/vm01.cfg', '/etc/xen/vm02', '/srv/configs/db.cfg']);
  });

  it('a file is a domain config when it sets a domain key at the start of a line', () => {
    expect(looksLikeDomainConfig('/etc/xen/a', '# name = "x"\n')).toBe(false);
    expect(looksLikeDomainConfig('/etc/xen/a', '  disk += ["x"]\n')).toBe(true);
    expect(looksLikeDomainConfig('/etc/xen/a.sxp', 'name = "x"\n')).toBe(false);
    expect(looksLikeDomainConfig('/etc/xen/xlexample.pvlinux', 'name = "x"\n')).toBe(false);
    expect(looksLikeDomainConfig('/etc/xen/xmexample1', 'name = "x"\n')).toBe(false);
  });

  it("xapi's VMs from xe vm-list records", () => {
    const out = [
      'uuid ( RO)              : 1b2c',
      '        name-label ( RW): web01',
      '     PV-bootloader ( RW): pygrub',
      '   HVM-boot-policy ( RW): ',
      '         PV-kernel ( RW): ',
      '',
      '',
    ].join('\n');
    expect(parseXeVms(out)).toEqual([{ uuid: '1b2c', name: 'web01', bootloader: 'pygrub', hvmPolicy: '', kernel: '' }]);
  });
});

describe('how a guest boots', () => {
  const kind = (t: string) => bootKind(XlConfig.parse(t));
  it('hvm, pvh, pygrub, another bootloader, kernel=, or nothing', () => {
    expect(kind('builder = "hvm"')).toBe('hvm');
    expect(kind('type = "hvm"')).toBe('hvm');
    expect(kind('type = "pvh"\nkernel = "/k"')).toBe('pvh');
    expect(kind('bootloader = "/usr/lib/xen-4.0/bin/pygrub"')).toBe('pygrub');
    expect(kind('bootloader = "pygrub"')).toBe('pygrub');
    expect(kind('bootloader = "/usr/local/bin/mybl"')).toBe('bootloader');
    expect(kind('kernel = "/boot/k"')).toBe('kernel');
    expect(kind('memory = 1')).toBe('unknown');
  });

  it('pygrub reads the first disk: its target, in the xend and the xl forms', () => {
    expect(firstDiskTarget(XlConfig.parse("disk = ['file:/srv/a.img,xvda,w', 'phy:/dev/b,xvdb,w']"))).toBe(
      '/srv/a.img',
    );
    expect(firstDiskTarget(XlConfig.parse("disk = ['vdev=xvda, target=/srv/c.img']"))).toBe('/srv/c.img');
    expect(firstDiskTarget(XlConfig.parse('memory = 1'))).toBeUndefined();
  });

  it("a path in another release's package folder", () => {
    expect(releaseDirOf('/usr/lib/xen-4.0/bin/pygrub')).toBe('4.0');
    expect(releaseDirOf('/usr/lib/xen/bin/pygrub')).toBeUndefined();
  });
});

describe('pygrub-fix as the way out', () => {
  const f = (id: string, strategies: Finding['strategies'], severity: Finding['severity'] = 'error'): Finding => ({
    id,
    severity,
    message: id,
    strategies,
  });
  it('the first strategy that resolves every error and fits the release', () => {
    const v401 = parseXenVersion('4.0.1');
    const v417 = parseXenVersion('4.17');
    expect(strategyFor([f('a', ['rewrite', 'pvgrub'])], v417)).toBe('rewrite');
    expect(strategyFor([f('a', ['rewrite', 'pvgrub']), f('b', ['offset', 'pvgrub'])], v417)).toBe('pvgrub');
    expect(strategyFor([f('b', ['offset', 'pvgrub'])], v401)).toBe('pvgrub');
    expect(strategyFor([f('b', ['offset', 'pvgrub'])], v417)).toBe('offset');
    expect(strategyFor([f('c', [])], v417)).toBeUndefined();
    expect(strategyFor([f('w', [], 'warning')], v417)).toBe('rewrite');
  });
  it('the command line, with --domain-config where the strategy edits it', () => {
    const v = parseXenVersion('4.4');
    expect(pygrubFixCommand('/srv/a.img', v, 'rewrite', '/etc/xen/a.cfg')).toBe(
      'pygrub-fix /srv/a.img --xen-version 4.4.0 --strategy rewrite --dry-run',
    );
    expect(pygrubFixCommand('/srv/a.img', v, 'offset', '/etc/xen/a.cfg')).toBe(
      'pygrub-fix /srv/a.img --xen-version 4.4.0 --strategy offset --domain-config /etc/xen/a.cfg --dry-run',
    );
  });
});

describe('the verdict', () => {
  const r = (severity: Reason['severity']): Reason => ({ id: 'x', severity, message: 'm', source: 's' });
  it('blocks wins over unknown, unknown over notes', () => {
    expect(verdictOf([])).toBe('starts');
    expect(verdictOf([r('note')])).toBe('starts');
    expect(verdictOf([r('note'), r('unknown')])).toBe('cannot-tell');
    expect(verdictOf([r('unknown'), r('blocks')])).toBe('will-not-start');
  });
  it('prints each reason with its line, source and way out, and a tally', () => {
    const g = {
      name: 'vm01',
      config: '/etc/xen/vm01.cfg',
      boot: 'kernel' as const,
      verdict: 'will-not-start' as const,
      reasons: [{ ...r('blocks'), line: 3, wayOut: 'do this' }],
    };
    expect(guestLines(g)).toEqual([
      'vm01 (/etc/xen/vm01.cfg, kernel): will not start',
      '  ✗ line 3: m',
      '      source: s',
      '      way out: do this',
    ]);
    expect(tally([g, { ...g, verdict: 'starts' }])).toBe('2 guests: 1 starts, 1 will not start, 0 cannot tell');
  });
});

describe('many guests at once', () => {
  it('at most the limit run together, every item once, a failure rejects', async () => {
    const { forEachLimited } = await import('xen-runbooks/engine');
    let running = 0;
    let most = 0;
    const seen: number[] = [];
    await forEachLimited([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5));
      seen.push(n);
      running--;
    });
    expect(most).toBe(3);
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    await expect(
      forEachLimited([1, 2], 2, async (n) => {
        if (n === 2) throw new Error('two');
      }),
    ).rejects.toThrow('two');
  });
});

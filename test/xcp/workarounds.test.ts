// The XCP 1.x workarounds: network.conf, the VIF script's offline case, xend and xendomains.
import { describe, expect, it } from 'vitest';
import {
  addOfflineCase,
  disableXend,
  networkMode,
  vifHandlesOffline,
  vifHasRemoveCase,
  warnRunsHere,
  xendomainsStartLinks,
} from '../../src/playbooks/xcp-install/workarounds.js';
import { fakeHost, memoryLog } from './shell.js';

describe('network.conf', () => {
  it('names the first line that is not a comment or blank', () => {
    expect(networkMode('# bridge or openvswitch\n\n  openvswitch \n')).toBe('openvswitch');
    expect(networkMode('# only a comment\n')).toBeUndefined();
    expect(networkMode(undefined)).toBeUndefined();
  });
});

describe('the VIF script', () => {
  const script = 'case "$1" in\n  add)\n    ;;\n  remove)\n    ;;\nesac\n';
  it('turns the remove) case into remove|offline), once', () => {
    expect(vifHandlesOffline(script)).toBe(false);
    expect(vifHasRemoveCase(script)).toBe(true);
    const fixed = addOfflineCase(script);
    expect(fixed).toBe(script.replace('  remove)', '  remove|offline)'));
    expect(vifHandlesOffline(fixed)).toBe(true);
    expect(vifHandlesOffline('  offline|remove)\n')).toBe(true);
    expect(vifHasRemoveCase('case "$1" in\n  add)\nesac\n')).toBe(false);
  });
});

describe('xend and xendomains', () => {
  it('comments out the bare xend_start and xend_stop calls only', () => {
    const init = 'start)\n  xend_start\n  ;;\nstop)\n\txend_stop  \n  echo xend_start done\n';
    expect(disableXend(init)).toBe('start)\n  #xend_start\n  ;;\nstop)\n\t#xend_stop\n  echo xend_start done\n');
    expect(disableXend(disableXend(init))).toBe(disableXend(init));
  });

  it('lists the S links of runlevels 2 to 5, not the K links nor other runlevels', async () => {
    const host = fakeHost({
      '/etc/rc1.d/S20xendomains': '',
      '/etc/rc2.d/S21xendomains': '',
      '/etc/rc3.d/K79xendomains': '',
      '/etc/rc5.d/S21xendomains': '',
      '/etc/rc5.d/S20xend': '',
    });
    expect(await xendomainsStartLinks(host)).toEqual(['/etc/rc2.d/S21xendomains', '/etc/rc5.d/S21xendomains']);
  });

  it('warns that commands run on this machine under --root only', () => {
    const log = memoryLog();
    warnRunsHere({ host: { kind: 'local' }, log }, 'update-rc.d runs');
    warnRunsHere({ host: { kind: 'root' }, log }, 'update-rc.d runs');
    expect(log.lines).toEqual(['warn: --root: update-rc.d runs on this machine, not inside the directory']);
  });
});

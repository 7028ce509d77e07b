// The guest the options describe: its file, its memory in MiB, its boot order and VNC display.
import { describe, expect, it } from 'vitest';
import {
  configFile,
  guestOf,
  vncDisplay,
  withoutPassword,
  type GuestOptions,
} from 'xen-runbooks/playbooks/windows-hvm/guest';
import type { WindowsHvmState } from 'xen-runbooks/playbooks/windows-hvm/state';

const MiB = 1024 ** 2;
const opts: GuestOptions = {
  name: 'win7',
  'config-dir': '/etc/xen',
  memory: 4096 * MiB,
  vcpus: 2,
  disk: '/dev/vg0/win7',
  iso: '/srv/iso/win7.iso',
  bridge: 'xenbr0',
  'vnc-listen': '127.0.0.1',
  installed: false,
};
const state = (s: Partial<WindowsHvmState> = {}): WindowsHvmState => ({
  dom0: true,
  existingDisks: [],
  diskIsBlockDevice: true,
  mac: '00:16:3e:01:02:03',
  ...s,
});

describe('the guest', () => {
  it('NAME.cfg in the config directory', () => {
    expect(configFile(opts)).toBe('/etc/xen/win7.cfg');
    expect(configFile({ name: 'w', 'config-dir': '/srv/cfg/' })).toBe('/srv/cfg/w.cfg');
  });

  it('memory and maxmem in MiB, equal unless --max-memory; CD first while installing', () => {
    const g = guestOf(opts, state());
    expect(g).toMatchObject({ memory: 4096, maxmem: 4096, vcpus: 2, boot: 'dc', diskIsBlockDevice: true });
    expect(g.mac).toBe('00:16:3e:01:02:03');
    expect('deviceModel' in g).toBe(false);
    const later = guestOf({ ...opts, 'max-memory': 8192 * MiB, installed: true }, state({ deviceModel: '/q' }));
    expect(later).toMatchObject({ maxmem: 8192, boot: 'c', deviceModel: '/q' });
  });

  it('the VNC display: --vnc-display, else the existing file, else none', () => {
    expect(vncDisplay({ 'vnc-display': 3 }, state({ existingVncDisplay: 5 }))).toBe(3);
    expect(vncDisplay({}, state({ existingVncDisplay: 5 }))).toBe(5);
    expect(vncDisplay({}, state())).toBeUndefined();
    expect(guestOf(opts, state({ existingVncDisplay: 5, vncPassword: 'pw' }))).toMatchObject({
      vncDisplay: 5,
      vncPassword: 'pw',
    });
  });

  it('a diff never shows the password, in vncpasswd or anywhere else', () => {
    const diff = '+vncpasswd = "hunter2"\n+# hunter2 again\n';
    const shown = withoutPassword(diff, 'hunter2');
    expect(shown).not.toContain('hunter2');
    expect(shown).toContain('# ******** again');
    expect(withoutPassword('+vnc = 1\n', undefined)).toBe('+vnc = 1\n');
  });
});

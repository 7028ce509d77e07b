// When the steps apply: the legacy host, the files the Xen packages bring, xapi answering.
import { describe, expect, it } from 'vitest';
import { legacyOnly, legacyUbuntuOnly, legacyWithFile, needsXapi } from '../../src/playbooks/xcp-install/conditions.js';
import type { State } from '../../src/playbooks/xcp-install/state.js';
import { fakeHost } from './shell.js';

const xcpng: State = {
  xapi: true,
  packagesPending: false,
  platform: { kind: 'xcp-ng', name: 'XCP-ng', version: '8.2.1' },
};
const precise: State = {
  xapi: false,
  packagesPending: false,
  platform: { kind: 'legacy', name: 'Ubuntu 12.04', version: '12.04', distro: 'ubuntu', codename: 'precise' },
};
const wheezy: State = { ...precise, platform: { kind: 'legacy', name: 'Debian 7', version: '7.11', distro: 'debian' } };

describe('conditions', () => {
  it('runs the installation steps on Ubuntu 12.04 and Debian 7 only, the PPA on Ubuntu only', () => {
    expect(legacyOnly(precise)).toBe(true);
    expect(legacyOnly(xcpng)).toBe('XCP-ng runs xapi already: nothing to install or work around');
    expect(legacyOnly({ xapi: false, packagesPending: false })).toMatch(/^this host runs xapi already/);
    expect(legacyUbuntuOnly(precise)).toBe(true);
    expect(legacyUbuntuOnly(wheezy)).toBe('Debian 7 carries xcp-xapi in its own archive');
    expect(legacyUbuntuOnly(xcpng)).toMatch(/runs xapi already/);
  });

  it('runs a step on a file the packages bring when it is there, else says whether it is still to come', async () => {
    const why = { pending: 'comes with the packages', absent: 'not there' };
    const there = fakeHost({ '/etc/init.d/xend': '' });
    expect(await legacyWithFile({ host: there, state: precise }, '/etc/init.d/xend', why)).toBe(true);
    const none = fakeHost();
    expect(await legacyWithFile({ host: none, state: precise }, '/etc/init.d/xend', why)).toBe('not there');
    const pending = { ...precise, packagesPending: true };
    expect(await legacyWithFile({ host: none, state: pending }, '/etc/init.d/xend', why)).toBe(
      'comes with the packages',
    );
    expect(await legacyWithFile({ host: there, state: xcpng }, '/etc/init.d/xend', why)).toMatch(/runs xapi already/);
  });

  it('waits for xapi', () => {
    expect(needsXapi(xcpng)).toBe(true);
    expect(needsXapi(precise)).toMatch(/^xapi does not answer yet: reboot into Xen/);
  });
});

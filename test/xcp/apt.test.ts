// The XCP packages on Ubuntu 12.04 / Debian 7: dpkg's status, apt's sources, and the apt-get calls.
import { describe, expect, it } from 'vitest';
import { StepError } from '../../src/engine/errors.js';
import {
  PACKAGES,
  PPA,
  addPpa,
  installPackages,
  installedPackages,
  missingPackages,
  ppaChange,
  ppaListFile,
  readAptSources,
  sourcesHavePpa,
} from '../../src/playbooks/xcp-install/apt.js';
import { fakeHost, memoryLog, simDir, simShell } from './shell.js';

const STATUS = `Package: xcp-xe
Status: install ok installed
Version: 1.3.2

Package: pciutils
Status: deinstall ok config-files

Package: xcp-xapi
Status: install ok installed
`;

describe('dpkg status', () => {
  it('counts only packages whose status is "install ok installed"', () => {
    expect([...installedPackages(STATUS)].sort()).toEqual(['xcp-xapi', 'xcp-xe']);
    expect(installedPackages(undefined).size).toBe(0);
  });

  it('names the missing ones, in the order asked for', async () => {
    const host = fakeHost({ '/var/lib/dpkg/status': STATUS });
    expect(await missingPackages(host)).toEqual(['pciutils']);
    expect(await missingPackages(fakeHost())).toEqual([...PACKAGES]);
  });
});

describe('apt sources', () => {
  it('finds the PPA in an active deb line only, in sources.list or sources.list.d/*.list', async () => {
    const line = `deb http://ppa.launchpad.net/${PPA}/ubuntu precise main`;
    expect(sourcesHavePpa([`# ${line}`, `deb-src http://ppa.launchpad.net/${PPA}/ubuntu precise main`])).toBe(false);
    expect(sourcesHavePpa([undefined, `  ${line}`])).toBe(true);
    const host = fakeHost({
      '/etc/apt/sources.list': 'deb http://archive.ubuntu.com/ubuntu precise main\n',
      '/etc/apt/sources.list.d/xcp.list': `${line}\n`,
      '/etc/apt/sources.list.d/xcp.list.save': 'not read\n',
    });
    const texts = await readAptSources(host);
    expect(texts).toHaveLength(2);
    expect(sourcesHavePpa(texts)).toBe(true);
  });

  it('says what adding it takes and which file add-apt-repository writes', () => {
    expect(ppaListFile('precise')).toBe('/etc/apt/sources.list.d/ubuntu-xen-org-xcp-unstable-precise.list');
    expect(ppaChange(true, 'precise')).toBe(`add ppa:${PPA} (${ppaListFile('precise')})`);
    expect(ppaChange(false, 'precise')).toMatch(/^install python-software-properties, then add ppa:/);
  });
});

describe('apt-get', () => {
  it('adds the PPA after installing python-software-properties when missing; warns under --root', async () => {
    const sim = simDir();
    try {
      const { $, calls } = simShell(sim.dir, {
        'env DEBIAN_FRONTEND=noninteractive apt-get install -y python-software-properties': {},
        [`add-apt-repository -y ppa:${PPA}`]: {},
      });
      const log = memoryLog();
      await addPpa({ $, host: fakeHost({}, 'root'), log }, false);
      expect(calls.map((c) => (c[0] === 'env' ? c[2] : c[0]))).toEqual(['apt-get', 'add-apt-repository']);
      expect(log.lines).toEqual([
        'warn: --root: apt-get and add-apt-repository run on this machine, not inside the directory',
      ]);
      calls.length = 0;
      await addPpa({ $, host: fakeHost(), log: memoryLog() }, true);
      expect(calls).toEqual([['add-apt-repository', '-y', `ppa:${PPA}`]]);
    } finally {
      sim.cleanup();
    }
  });

  it('installs the missing packages, and fails when dpkg still does not list them', async () => {
    const sim = simDir();
    try {
      const { $, calls } = simShell(sim.dir, {
        'apt-get update': {},
        'env DEBIAN_FRONTEND=noninteractive apt-get install -y pciutils': {},
      });
      const done = fakeHost({ '/var/lib/dpkg/status': `${STATUS}\nPackage: pciutils\nStatus: install ok installed\n` });
      await installPackages({ $, host: done, log: memoryLog() }, ['pciutils']);
      expect(calls.at(-1)).toEqual(['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', 'pciutils']);
      const notDone = fakeHost({ '/var/lib/dpkg/status': STATUS });
      const e = await installPackages({ $, host: notDone, log: memoryLog() }, ['pciutils']).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(StepError);
      expect(String(e)).toMatch(/apt-get finished but pciutils is not installed/);
    } finally {
      sim.cleanup();
    }
  });
});

// What runs on the host: parsed from the release files and xapi, decided by identifyPlatform/detect.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RefusedError, StepError } from '../../src/engine/errors.js';
import {
  detect,
  identifyPlatform,
  parseKeyValues,
  readReleaseFiles,
  type ReleaseFiles,
} from '../../src/playbooks/xcp-install/platform.js';
import { seedXe } from '../sim/xe.mjs';
import { fakeHost, simDir, simShell } from './shell.js';

const files = (f: Partial<ReleaseFiles>): ReleaseFiles => ({ os: {}, lsb: {}, inventory: {}, ...f });

describe('parseKeyValues', () => {
  it('reads KEY=value lines, drops matching quotes, skips comments and other lines', () => {
    const text = `# comment\nNAME="Ubuntu"\nVERSION_ID='12.04'\n  ID=ubuntu  \nnot a pair\nEMPTY=\nQ="half'\n`;
    expect(parseKeyValues(text)).toEqual({ NAME: 'Ubuntu', VERSION_ID: '12.04', ID: 'ubuntu', EMPTY: '', Q: `"half'` });
    expect(parseKeyValues(undefined)).toEqual({});
  });
});

describe('identifyPlatform', () => {
  it('knows XCP-ng by the brand xapi reports, with its version', () => {
    const p = identifyPlatform(files({ os: { ID: 'centos' } }), { product_brand: 'XCP-ng', product_version: '8.2.1' });
    expect(p).toEqual({ kind: 'xcp-ng', name: 'XCP-ng', version: '8.2.1', brand: 'XCP-ng' });
  });

  it('knows XenServer by its inventory while xapi is down, and XCP-ng by os-release ID alone', () => {
    const inv = identifyPlatform(files({ inventory: { PRODUCT_BRAND: 'XenServer', PRODUCT_VERSION: '7.1.0' } }), {});
    expect(inv).toMatchObject({ kind: 'xcp-ng', name: 'XenServer', version: '7.1.0' });
    const os = identifyPlatform(files({ os: { ID: 'xcp-ng', NAME: 'XCP-ng', VERSION_ID: '8.3.0' } }), {});
    expect(os).toEqual({ kind: 'xcp-ng', name: 'XCP-ng', version: '8.3.0', brand: '' });
  });

  it('takes Ubuntu 12.04 (codename from lsb-release) and Debian 7.x as the legacy hosts', () => {
    const u = identifyPlatform(
      files({ lsb: { DISTRIB_ID: 'Ubuntu', DISTRIB_RELEASE: '12.04', DISTRIB_CODENAME: 'precise' } }),
      {},
    );
    expect(u).toEqual({
      kind: 'legacy',
      name: 'Ubuntu 12.04',
      version: '12.04',
      distro: 'ubuntu',
      codename: 'precise',
    });
    const d = identifyPlatform(files({ os: { ID: 'debian', VERSION_ID: '7.11' } }), {});
    expect(d).toMatchObject({ kind: 'legacy', distro: 'debian', codename: 'wheezy', version: '7.11' });
  });

  it('leaves other releases unsupported, saying whether they are Ubuntu or Debian', () => {
    expect(
      identifyPlatform(files({ os: { ID: 'ubuntu', VERSION_ID: '14.04', PRETTY_NAME: 'Ubuntu 14.04 LTS' } }), {}),
    ).toEqual({
      kind: 'unsupported',
      pretty: 'Ubuntu 14.04 LTS',
      debianFamily: true,
    });
    expect(identifyPlatform(files({ os: { ID: 'debian', VERSION_ID: '70' } }), {})).toMatchObject({
      kind: 'unsupported',
    });
    expect(identifyPlatform(files({ os: { ID: 'fedora', VERSION_ID: '40' } }), {})).toEqual({
      kind: 'unsupported',
      pretty: 'fedora 40',
      debianFamily: false,
    });
    expect(identifyPlatform(files({}), {})).toMatchObject({ pretty: 'an unknown system' });
  });
});

describe('detect', () => {
  let sim: ReturnType<typeof simDir>;
  beforeEach(() => {
    sim = simDir();
  });
  afterEach(() => sim.cleanup());

  it('reads the release files first, then asks xapi: an XCP-ng host whose xapi answers', async () => {
    seedXe(sim.dir);
    const { $, calls } = simShell(sim.dir);
    const host = fakeHost({ '/etc/os-release': 'ID=xcp-ng\nVERSION_ID=8.2.1\n' });
    expect(await readReleaseFiles(host)).toMatchObject({ os: { ID: 'xcp-ng' }, lsb: {}, inventory: {} });
    const { platform, xapi } = await detect(host, $);
    expect(xapi.up).toBe(true);
    expect(platform).toMatchObject({ kind: 'xcp-ng', name: 'XCP-ng', version: '8.2.1' });
    expect(calls.map((c) => c[1])).toEqual(['host-list', 'host-list']);
  });

  it('fails on an XCP-ng host whose xapi does not answer, naming xe-toolstack-restart', async () => {
    seedXe(sim.dir, { xapi: false });
    const { $ } = simShell(sim.dir);
    const host = fakeHost({ '/etc/xensource-inventory': "PRODUCT_BRAND='XCP-ng'\nPRODUCT_VERSION='8.2.1'\n" });
    const e = await detect(host, $).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StepError);
    expect(String(e)).toMatch(/XCP-ng 8\.2\.1: xapi does not answer \(.*Connection refused/);
    expect((e as StepError).hint).toMatch(/xe-toolstack-restart/);
  });

  it('refuses Ubuntu 14.04 (no XCP packages) and a system that is neither', async () => {
    seedXe(sim.dir, { flavour: 'legacy', xapi: false });
    const { $ } = simShell(sim.dir);
    const trusty = fakeHost({ '/etc/os-release': 'ID=ubuntu\nVERSION_ID="14.04"\nPRETTY_NAME="Ubuntu 14.04.6 LTS"\n' });
    await expect(detect(trusty, $)).rejects.toThrow(/Ubuntu 14\.04\.6 LTS: the XCP packages .* only for Ubuntu 12\.04/);
    const arch = fakeHost({ '/etc/os-release': 'ID=arch\n' });
    const e = await detect(arch, $).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RefusedError);
    expect(String(e)).toMatch(/neither an XCP-ng\/XenServer host/);
  });

  it('takes Ubuntu 12.04 with xapi not yet answering as the legacy host', async () => {
    seedXe(sim.dir, { flavour: 'legacy', xapi: false });
    const { $ } = simShell(sim.dir);
    const precise = fakeHost({
      '/etc/lsb-release': 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=12.04\nDISTRIB_CODENAME=precise\n',
    });
    const { platform, xapi } = await detect(precise, $);
    expect(xapi.up).toBe(false);
    expect(platform).toMatchObject({ kind: 'legacy', codename: 'precise' });
  });
});

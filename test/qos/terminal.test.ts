import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { onTerminal as runOnTerminal } from '../helpers/terminal.js';
import { tool } from '../helpers/tools.js';
import { ROOT, SIM_BIN } from '../helpers/playbook.js';
import { readXl, seedXl } from '../sim/xl.mjs';

let sim: string;
let root: string;
beforeAll(() => {
  tool('script'); // util-linux's script(1) gives the playbook a real terminal
});
beforeEach(() => {
  sim = mkdtempSync(path.join(os.tmpdir(), 'xr-qos-tty-'));
  root = mkdtempSync(path.join(os.tmpdir(), 'xr-qos-tty-root-'));
  // A dom0 kernel older than 4.2: its netback reads the rate only when the interface connects.
  seedXl(sim, {
    info: { nr_cpus: 4, xen_scheduler: 'credit2', release: '3.16.0-4-amd64' },
    domains: [
      {
        name: 'vm01',
        type: 'pv',
        vcpus: 2,
        maxvcpus: 4,
        memory: 1024,
        maxmem: 2048,
        pvDrivers: true,
        vifs: [{ mac: '00:16:3e:2b:11:83', bridge: 'xenbr0' }],
      },
    ],
  });
  mkdirSync(path.join(root, 'etc/xen'), { recursive: true });
  copyFileSync(path.join(ROOT, 'test/fixtures/qos/vm01.cfg'), path.join(root, 'etc/xen/vm01.cfg'));
});
afterEach(() => {
  rmSync(sim, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
});

/** Run the playbook on a pseudo-terminal, answering each question in turn. */
const onTerminal = (args: string[], answers: string[]) =>
  runOnTerminal([process.execPath, path.join(ROOT, 'playbooks/xen-qos.mjs'), ...args], answers, {
    XR_SIM_DIR: sim,
    PATH: `${SIM_BIN}:${process.env.PATH ?? ''}`,
  });

const ARGS = () => ['vm01', '--root', root, '--toolstack', 'xl', '--rate', '8Mb/s@50ms', '--persist'];
const detached = () =>
  readFileSync(path.join(sim, 'calls.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"network-detach"')).length;

describe('re-plugging a VIF is asked for on its own', () => {
  it('a no keeps the interface plugged; the rate is still written for the next start', async () => {
    const r = await onTerminal(ARGS(), ['n', 'y']);
    expect(r.output).toContain('Detach and re-attach vif 0 of vm01: its network stops for a moment. Go ahead? [y/N]');
    expect(r.output).toContain('not re-plugged (not confirmed): vif 0 keeps its rate; the next start uses the new one');
    expect(r.code).toBe(0);
    expect(detached()).toBe(0);
    expect(readXl(sim)?.domains[1]?.vifs[0]?.rate).toBeUndefined();
    expect(readFileSync(path.join(root, 'etc/xen/vm01.cfg'), 'utf8')).toContain('rate=8Mb/s@50ms');
  });

  it('a yes re-plugs it; the question comes even after "all" was answered for the steps', async () => {
    const r = await onTerminal([...ARGS(), '--cpu-weight', '512'], ['a', 'y']);
    expect(r.code).toBe(0);
    const all = r.output.indexOf("Apply 'Set the CPU weight and cap'? [y]es / [n]o / [a]ll");
    expect(all).toBeGreaterThan(-1);
    expect(r.output.indexOf('Go ahead? [y/N]')).toBeGreaterThan(all);
    expect(readXl(sim)?.domains[1]?.weight).toBe(512);
    expect(detached()).toBe(1);
    expect(readXl(sim)?.domains[1]?.vifs[0]?.rate).toBe('8Mb/s@50ms');
  });
});

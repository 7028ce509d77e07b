/**
 * What xen-qos relies on, shown on a real Xen 4.17 host (the lab, credit2, dom0 Linux 6.1) with a
 * PV guest whose initrd loads xen-netfront, so its vif is connected (state 4) as a real guest's is:
 * - a rate written into the backend's xenstore key reaches netback at once (its debugfs io_ring_q0
 *   shows the new credit), without a re-plug: the route xen-qos takes for dom0 kernels from 4.2;
 * - `xl network-detach` then `xl network-attach … devid=0 rate=…` (separate words) brings Idx 0
 *   back with the rate in netback;
 * - `bridge=…,rate=…` joined by a comma is one bridge name: vif-bridge refuses it, and the refused
 *   NIC stays behind (libxl keeps it in the stored configuration, and a reboot after it fails).
 * - what `xl reboot` keeps (weight, cap, memory target, vCPUs set live), on a guest of its own.
 * `xl reboot` after a detach and attach aborted once in real xl 4.17 with "malloc(): corrupted top
 * size" (exit 134); no sequence tried since reproduced it (detach, attach, reboot, the whole
 * sequence with a xenstore rate write), while dom0's programs crashed at random in runs where two
 * files drove dom0 at once or an HVM guest had started: taken for that instability, not xl's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cacheRoot, fetchPackage, guestModules } from 'xen-runbooks/lab';
import { childEnv, runPlaybook, SIM_BIN } from '../helpers/playbook.js';
import { seedXl } from '../sim/xl.mjs';
import { xlRebootKeeps } from 'xen-runbooks/xen/xlversion';
import { startLab, writeMarkerGuest, type Lab } from './lab.js';

let lab: Lab;
let work: string;
const NAME = 'prf';
const MARKER = 'XR-PRF-UP';
const MAC = '00:16:3e:00:00:2a';
const MAC2 = '00:16:3e:00:00:2b';
/** The guest `xl reboot` is tried on: no device was ever detached or attached on it. */
const RBT = 'rbt';
const RBT_MARKER = 'XR-RBT-UP';

beforeAll(async () => {
  lab = await startLab({ sched: 'credit2' });
  work = mkdtempSync(path.join(os.tmpdir(), 'xr-prf-'));
  const m = lab.up.built.manifest;
  const pkg = `linux-image-${m.kernelRelease}`;
  const { deb } = await fetchPackage(pkg, m.versions[pkg]!, path.join(cacheRoot(), 'debs'));
  const modules = await guestModules(deb, m.kernelRelease, ['xen-netfront'], path.join(work, 'modules'));
  const guest = { memory: 128, maxmem: 192, vcpus: 2, maxvcpus: 2, onReboot: 'restart' } as const;
  await writeMarkerGuest(lab, { ...guest, name: NAME, marker: MARKER, modules, vif: `mac=${MAC},bridge=xenbr0` });
  const r = await lab.ssh(`xl create /etc/xen/${NAME}.cfg`);
  if (r.code !== 0) throw new Error(`xl create ${NAME} failed: ${r.stderr}`);
  await lab.waitForConsole(NAME, MARKER);
  await writeMarkerGuest(lab, { ...guest, name: RBT, marker: RBT_MARKER });
}, 1_800_000);

afterAll(async () => {
  await lab?.stop([NAME, RBT]);
  if (work) rmSync(work, { recursive: true, force: true });
}, 120_000);

/** Every command this file runs through sh reads, or sets a value: running it twice is running it once. */
const sh = (cmd: string): Promise<string> => lab.runIdempotent(cmd);

const domid = async () => (await sh(`xl domid ${NAME}`)).trim();

/** `xl network-list NAME`'s rows: Idx, MAC and backend state. */
async function nics(): Promise<{ idx: number; mac: string; state: number }[]> {
  const out = await sh(`xl network-list ${NAME}`);
  return out
    .split('\n')
    .slice(1)
    .filter((l) => /^\d+\s/.test(l))
    .map((l) => l.trim().split(/\s+/))
    .map((f) => ({ idx: Number(f[0]), mac: f[2]!, state: Number(f[4]) }));
}

/** Until N vifs of NAME are listed and every one is connected (state 4, network-list's fifth column). */
async function connected(n: number): Promise<{ idx: number; mac: string; state: number }[]> {
  await lab.waitUntil(
    `xl network-list ${NAME} | awk 'NR > 1 && $1 ~ /^[0-9]+$/ { n++; if ($5 != 4) bad++ } END { exit !(n == ${n} && !bad) }'`,
    60_000,
  );
  return nics();
}

/** netback's own view of vif DOMID.0's first queue (drivers/net/xen-netback/xenbus.c xenvif_read_io_ring). */
async function credit(): Promise<{ credit: string; usec: string }> {
  const out = await sh(
    `grep -q ' /sys/kernel/debug debugfs' /proc/mounts || mount -t debugfs none /sys/kernel/debug; ` +
      `cat /sys/kernel/debug/xen-netback/vif${await domid()}.0/io_ring_q0`,
  );
  const m = /Credit timer_pending: \d+, credit: (\d+), usec: (\d+)/.exec(out);
  if (!m) throw new Error(`no credit line in io_ring_q0:\n${out}`);
  return { credit: m[1]!, usec: m[2]! };
}

const backendRate = async () => (await sh(`xenstore-read /local/domain/0/backend/vif/${await domid()}/0/rate`)).trim();

describe('xl and netback behaviours on a real Xen 4.17 host', () => {
  test('the guest loaded xen-netfront: its vif 0 is connected', async () => {
    expect(await sh('xl info')).toMatch(/^xen_scheduler\s*:\s*credit2$/m);
    expect(await connected(1)).toEqual([{ idx: 0, mac: MAC, state: 4 }]);
  }, 120_000);

  test('a rate written through xenstore reaches netback at once, no re-plug (xen-qos route "xenstore")', async () => {
    // No rate: netback's credit is unlimited (ULONG_MAX bytes, 0 µs).
    expect(await credit()).toEqual({ credit: '18446744073709551615', usec: '0' });
    const r = await runPlaybook('xen-qos', [
      NAME,
      '--rate',
      '8Mb/s@50ms',
      '--yes',
      '--host',
      'root@xenlab',
      '--ssh-config',
      lab.sshConfig,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/write rate 50000,50000 into vif 0's backend: netback applies it at once/);
    expect(r.stdout + r.stderr).not.toMatch(/network-detach|re-attach/i);
    expect(await backendRate()).toBe('50000,50000');
    expect(await nics()).toEqual([{ idx: 0, mac: MAC, state: 4 }]);
    // 8 Mbit/s every 50 ms: 50,000 bytes of credit per 50,000 µs, in netback itself.
    expect(await credit()).toEqual({ credit: '50000', usec: '50000' });
  }, 300_000);

  test('network-detach, then network-attach with devid= and rate= as separate words: Idx 0 again, the rate in netback', async () => {
    expect((await lab.ssh(`xl network-detach ${NAME} 0`)).code).toBe(0);
    expect(await connected(0)).toEqual([]);
    const r = await lab.ssh(`xl network-attach ${NAME} mac=${MAC} bridge=xenbr0 devid=0 rate=2MB/s`);
    expect(r.code, r.stderr).toBe(0);
    expect(await connected(1)).toEqual([{ idx: 0, mac: MAC, state: 4 }]);
    // 2 MB/s at xl's default 50 ms: 100,000 bytes per 50,000 µs, in xenstore and in netback.
    expect(await backendRate()).toBe('100000,50000');
    expect(await credit()).toEqual({ credit: '100000', usec: '50000' });
  }, 300_000);

  test('network-attach with bridge= and rate= joined by a comma: one bridge name, refused by vif-bridge, as the simulator says', async () => {
    const spec = 'bridge=xenbr0,rate=2MB/s';
    const joined = await lab.ssh(`xl network-attach ${NAME} mac=${MAC2} devid=1 ${spec}`);
    // parse_nic_config (tools/xl/xl_parse.c, RELEASE-4.17.0) matches "bridge=" and keeps the rest
    // whole: the bridge is named "xenbr0,rate=2MB/s", which vif-bridge cannot find.
    expect(joined.code).toBe(1);
    expect(joined.stderr).toContain('script: Could not find bridge device xenbr0,rate=2MB/s');
    expect(joined.stderr).toMatch(/Unable to add vif with id 1\nlibxl_device_nic_add failed\.\n$/);
    // What the refusal leaves: vif 1's backend entry (netback still made it, and the guest's
    // netfront may connect to it), on no bridge.
    expect((await nics()).map((n) => [n.idx, n.mac])).toEqual([
      [0, MAC],
      [1, MAC2],
    ]);

    // The simulator, seeded with this host's release and the guest as it was, answers the same.
    const simDir = path.join(work, 'sim');
    const info = Object.fromEntries(
      (await sh('xl info'))
        .split('\n')
        .map((l) => /^(\S+)\s*:\s?(.*)$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1]!, /^\d+$/.test(m[2]!) ? Number(m[2]) : m[2]!]),
    );
    seedXl(simDir, {
      info,
      domains: [
        {
          domid: Number(await domid()),
          name: NAME,
          memory: 150,
          maxmem: 192,
          vcpus: 1,
          maxvcpus: 2,
          vifs: [{ devid: 0, mac: MAC }],
        },
      ],
    });
    const sim = spawnSync(
      process.execPath,
      [path.join(SIM_BIN, 'xl'), 'network-attach', NAME, `mac=${MAC2}`, 'devid=1', spec],
      {
        env: childEnv({ XR_SIM_DIR: simDir }),
        encoding: 'utf8',
      },
    );
    const pids = (t: string) => t.replace(/ \[\d+\] exited/g, ' [pid] exited');
    expect({ code: sim.status, stderr: pids(sim.stderr) }).toEqual({ code: joined.code, stderr: pids(joined.stderr) });
  }, 300_000);
});

describe('what xl reboot keeps, on a real Xen 4.17 host', () => {
  /** What the live domain has: credit2 weight and cap, memory target (KiB), vCPUs online. */
  async function live(): Promise<{ domid: string; weight: number; cap: number; targetKiB: number; online: number }> {
    const domid = (await sh(`xl domid ${RBT}`)).trim();
    const sched = (await sh(`xl sched-credit2 -d ${RBT}`))
      .split('\n')
      .find((l) => l.startsWith(`${RBT} `))!
      .trim()
      .split(/\s+/);
    const target = Number((await sh(`xenstore-read /local/domain/${domid}/memory/target`)).trim());
    const row = (await sh(`xl list ${RBT}`)).split('\n')[1]!.trim().split(/\s+/);
    return { domid, weight: Number(sched[2]), cap: Number(sched[3]), targetKiB: target, online: Number(row[3]) };
  }

  test('weight, cap, memory target and vCPUs set live survive xl reboot, as xlRebootKeeps(4.17) says', async () => {
    await lab.clear(RBT); // an earlier attempt's (vitest.config.ts: retry)
    const c = await lab.ssh(`xl create /etc/xen/${RBT}.cfg`);
    expect(c.code, c.stderr).toBe(0);
    await lab.waitForConsole(RBT, RBT_MARKER);
    await sh(`xl sched-credit2 -d ${RBT} -w 512 -c 50`);
    await sh(`xl mem-set ${RBT} 160m`);
    await sh(`xl vcpu-set ${RBT} 1`);
    const before = await live();
    expect(before).toMatchObject({ weight: 512, cap: 50, targetKiB: 160 * 1024, online: 1 });

    // The guest's kernel restarts itself when asked (drivers/xen/manage.c do_reboot: orderly_reboot,
    // which forces kernel_restart when /sbin/reboot is missing, as in the marker initrd); xl's
    // monitor process creates it again (on_reboot = "restart").
    const r = await lab.ssh(`xl reboot ${RBT}`);
    expect(r.code, r.stderr).toBe(0);
    // The new domain has its domid before xl has finished building it (memory/target is written
    // later): nothing is read from it until its kernel has booted.
    await lab.waitUntil(`d=$(xl domid ${RBT}) && [ "$d" != ${before.domid} ]`, 240_000);
    const domid = (await lab.ssh(`xl domid ${RBT}`)).stdout.trim();
    expect(domid).not.toBe(before.domid);
    // xenconsoled appends to the guest's log: the second boot is done when the marker is there twice
    // (the kernel brings both vCPUs up, then takes vCPU 1 down as its availability key says).
    const log = `/var/log/xen/console/guest-${RBT}.log`;
    await lab.waitUntil(`awk '{ n += gsub("${RBT_MARKER}", "") } END { exit !(n >= 2) }' ${log}`, 900_000);
    const boots = (await lab.runIdempotent(`cat ${log}`)).split(RBT_MARKER).length - 1;
    expect(boots).toBe(2);
    const after = await live();
    expect(after.domid).toBe(domid);

    const keeps = xlRebootKeeps({ major: 4, minor: 17 });
    expect(keeps).toEqual({ memory: true, nics: true, vcpus: true, sched: true });
    expect({ ...after, domid: before.domid }).toEqual(before);
    // Not from the file: it still says what the domain was first created with.
    const cfg = await sh(`cat /etc/xen/${RBT}.cfg`);
    expect(cfg).toMatch(/^memory = 128$/m);
    expect(cfg).toMatch(/^vcpus = 2$/m);
  }, 900_000);
});

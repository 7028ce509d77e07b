/**
 * The lab's second boot, the one test file that needs it (test/lab/lab.ts shares boots by their
 * options, so one file per boot keeps a run to two boots): Xen's command line has no dom0_mem,
 * dom0 owns nearly all the memory, as on a host installed with the distribution's defaults, and
 * the scheduler is credit. In 2048 MiB (dom0's programs live in its initramfs, in RAM).
 * - autoballoon: xl.conf's autoballoon="auto" is on when Xen's command line has no dom0_mem
 *   (tools/xl/xl.c auto_autoballoon, RELEASE-4.17.0), so windows-hvm's preflight accepts a guest
 *   bigger than Xen's free memory, its config passes `xl create -n`, and `xl create` of a guest that
 *   big really starts it, taking the memory from dom0 (xl_vmcontrol.c freemem). The same guest on
 *   the default boot (dom0_mem) is refused by the preflight and really fails `xl create`
 *   (windows-hvm.test.ts).
 * - xen-qos weight and cap under credit, read back from `xl sched-credit`.
 *
 * The guest started here to show autoballoon is a PV one: the memory xl takes from dom0 for it is
 * the same whatever the guest's type, and an HVM guest under emulation makes dom0's programs fail
 * now and then while it runs (windows-hvm.test.ts starts one, on the default boot, for seconds).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runPlaybook } from '../helpers/playbook.js';
import { buildIso, dom0MiB, oversizedGuestMiB, startLab, windowsHvm, writeMarkerGuest, type Lab } from './lab.js';

let lab: Lab;
const BIG = 'big';
const QOS = 'qcr';
const BIGPV = 'bigpv';

beforeAll(async () => {
  lab = await startLab({ sched: 'credit', dom0MemMiB: 'none', memoryMiB: 2048 });
}, 1_800_000);

afterAll(async () => {
  await lab?.stop([BIG, BIGPV, QOS]);
}, 120_000);

/** A command that reads, or sets a value: running it twice is running it once. */
const sh = (cmd: string): Promise<string> => lab.runIdempotent(cmd);

/** A command that must run once (xl create, xl destroy): its output, or an error naming it. */
async function once(cmd: string): Promise<string> {
  const r = await lab.ssh(cmd);
  if (r.code !== 0) throw new Error(`${cmd}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

async function xlInfo(): Promise<Record<string, string>> {
  const info: Record<string, string> = {};
  for (const line of (await sh('xl info')).split('\n')) {
    const m = /^(\S+)\s*:\s?(.*)$/.exec(line);
    if (m) info[m[1]!] = m[2]!;
  }
  return info;
}

describe('autoballoon on a real Xen 4.17 host booted without dom0_mem', () => {
  test('dom0 owns nearly all the memory: Xen has little free', async () => {
    const info = await xlInfo();
    expect(info.xen_commandline).not.toMatch(/dom0_mem/);
    expect(info.xen_scheduler).toBe('credit');
    const total = Number(info.total_memory);
    const free = Number(info.free_memory);
    const dom0 = await dom0MiB(lab);
    expect(dom0).toBeGreaterThan(total * 0.8);
    expect(free).toBeLessThan(total * 0.1);
  }, 300_000);

  test('windows-hvm accepts a guest bigger than free_memory, and its config passes xl create -n', async () => {
    const free = Number((await xlInfo()).free_memory);
    // windows-hvm's smallest guest, bigger than what Xen has free, well within what dom0 can give.
    const memory = oversizedGuestMiB(free);
    expect(memory).toBeGreaterThan(free);
    buildIso(path.join(lab.share, 'big.iso'));
    const r = await windowsHvm(lab, { name: BIG, iso: '/mnt/lab/big.iso', memory }, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.data.xen.autoballoon).toBe(true);
    expect(r.json.data.xen.freeMemory).toBeLessThan(memory);
    expect(r.stderr).toContain('no dom0_mem=');

    const cfg = await sh(`cat /etc/xen/${BIG}.cfg`);
    expect(cfg).toMatch(/^type\s*=\s*"hvm"/m);
    expect(cfg).toContain('/mnt/lab/big.iso');
    const dry = await lab.ssh(`xl create -n /etc/xen/${BIG}.cfg`);
    expect(dry.stderr).not.toMatch(/error|Failed to parse/i);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('"type": "hvm"');
  }, 1_800_000);

  test('xl create of a guest bigger than free_memory starts it, with the memory taken from dom0', async () => {
    const free = Number((await xlInfo()).free_memory);
    const memory = oversizedGuestMiB(free);
    await writeMarkerGuest(lab, { name: BIGPV, marker: 'XR-BIG-UP', memory });
    const before = await dom0MiB(lab);
    await lab.clear(BIGPV); // an earlier attempt's (vitest.config.ts: retry)
    const created = await lab.ssh(`xl create /etc/xen/${BIGPV}.cfg`);
    expect(created.stderr).not.toMatch(/libxl: error/);
    expect(created.code).toBe(0);
    await lab.waitForConsole(BIGPV, 'XR-BIG-UP');
    const row = (await sh(`xl list ${BIGPV}`)).split('\n')[1]!.trim().split(/\s+/);
    expect(Number(row[2])).toBeGreaterThanOrEqual(memory - 1);
    // xl_vmcontrol.c freemem(): dom0's target lowered by what Xen lacked for the new domain.
    const after = await dom0MiB(lab);
    expect(before - after).toBeGreaterThanOrEqual(memory - free);
    await once(`xl destroy ${BIGPV}`);
  }, 1_800_000);
});

describe('xen-qos weight and cap under the credit scheduler, over --host', () => {
  /** `xl sched-credit -d NAME`'s row: weight and cap. */
  async function credit(): Promise<{ weight: number; cap: number }> {
    const out = await sh(`xl sched-credit -d ${QOS}`);
    const f = out
      .split('\n')
      .find((l) => l.startsWith(`${QOS} `))!
      .trim()
      .split(/\s+/);
    return { weight: Number(f[2]), cap: Number(f[3]) };
  }

  test('CPU weight and cap, read back from xl sched-credit', async () => {
    await writeMarkerGuest(lab, { name: QOS, marker: 'XR-QCR-UP', memory: 96 });
    await lab.clear(QOS); // an earlier attempt's (vitest.config.ts: retry)
    await once(`xl create /etc/xen/${QOS}.cfg`);
    await lab.waitForConsole(QOS, 'XR-QCR-UP');

    expect(await credit()).toEqual({ weight: 256, cap: 0 });
    const r = await runPlaybook('xen-qos', [
      QOS,
      '--host',
      'root@xenlab',
      '--ssh-config',
      lab.sshConfig,
      '--yes',
      '--cpu-weight',
      '512',
      '--cpu-cap',
      '50',
    ]);
    expect(r.stderr).not.toMatch(/✗/);
    expect(r.code).toBe(0);
    expect(await credit()).toEqual({ weight: 512, cap: 50 });
  }, 900_000);
});

/**
 * The lab's second boot, the one test file that needs it (test/lab/lab.ts shares boots by their
 * options, so one file per boot keeps a run to two boots): Xen's command line has no dom0_mem,
 * dom0 owns nearly all the memory, as on a host installed with the distribution's defaults, and
 * the scheduler is credit. In 1024 MiB, the least that holds these proofs (a smaller machine
 * boots faster under emulation); dom0, ballooned down to about 490 MiB for the 512 MiB guest, ran
 * out of memory in one run of four (the OOM killer took the device model, sshd and xenstored):
 * - windows-hvm over --host: the config it writes passes `xl create -n` and starts as an HVM
 *   domain (HVM guests run on this boot: on the default one dom0's processes crashed after them);
 * - autoballoon: xl.conf's autoballoon="auto" is on when Xen's command line has no dom0_mem
 *   (tools/xl/xl.c auto_autoballoon, RELEASE-4.17.0), so windows-hvm's preflight accepts a guest
 *   bigger than Xen's free memory, and `xl create` really starts it, taking the memory from dom0
 *   (xl_vmcontrol.c freemem). The same guest on the default boot (dom0_mem) is refused by the
 *   preflight and really fails `xl create` (windows-hvm.test.ts).
 * - xen-qos weight and cap under credit, read back from `xl sched-credit`;
 * - what `xl vcpu-set` does to an HVM guest with no OS (HVM guests run here rather than on the
 *   default boot, which no file may join after HVM guests ran on it: test/lab/lab.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { markerInitrd, pvConfig } from 'xen-runbooks/lab';
import { MODEL } from 'xen-runbooks/xen/qos';
import { runPlaybook } from '../helpers/playbook.js';
import { sharedKernel, startLab, type Lab } from './lab.js';

let lab: Lab;
const BIG = 'big';
const QOS = 'qcr';

beforeAll(async () => {
  lab = await startLab({ sched: 'credit', dom0MemMiB: 'none', memoryMiB: 1024 });
}, 1_800_000);

afterAll(async () => {
  await lab?.stop([BIG, QOS, 'hvmv']);
}, 120_000);

async function sh(cmd: string): Promise<string> {
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

/** Domain-0's memory (MiB), `xl list`'s Mem column. */
async function dom0MiB(): Promise<number> {
  const row = (await sh('xl list Domain-0')).split('\n')[1]!.trim().split(/\s+/);
  return Number(row[2]);
}

/** A small ISO 9660 image built by xorriso (it stands for the installation disc). */
function buildIso(file: string): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xr-iso-'));
  try {
    mkdirSync(path.join(dir, 'sources'));
    writeFileSync(path.join(dir, 'sources', 'README.TXT'), 'xen-runbooks lab disc\n');
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'XRLAB', '-o', file, dir], { stdio: 'pipe' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('autoballoon on a real Xen 4.17 host booted without dom0_mem', () => {
  test('dom0 owns nearly all the memory: Xen has little free', async () => {
    const info = await xlInfo();
    expect(info.xen_commandline).not.toMatch(/dom0_mem/);
    expect(info.xen_scheduler).toBe('credit');
    const total = Number(info.total_memory);
    const free = Number(info.free_memory);
    const dom0 = await dom0MiB();
    expect(dom0).toBeGreaterThan(total * 0.8);
    expect(free).toBeLessThan(total * 0.1);
  }, 300_000);

  test('windows-hvm accepts a guest bigger than free_memory; its config passes xl create -n and starts as HVM, with memory taken from dom0', async () => {
    const free = Number((await xlInfo()).free_memory);
    // windows-hvm's smallest guest, bigger than what Xen has free, well within what dom0 can give.
    const memory = Math.max(512, Math.ceil((free + 96) / 32) * 32);
    expect(memory).toBeGreaterThan(free);
    buildIso(path.join(lab.share, 'big.iso'));
    const r = await runPlaybook('windows-hvm', [
      '--host',
      'root@xenlab',
      '--ssh-config',
      lab.sshConfig,
      '--name',
      BIG,
      '--iso',
      '/mnt/lab/big.iso',
      '--disk',
      '/var/lib/xen/big.img',
      '--disk-size',
      '1',
      '--memory',
      String(memory),
      '--vcpus',
      '1',
      '--yes',
      '--json',
    ]);
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
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

    const before = await dom0MiB();
    // Under QEMU's software emulation an HVM guest needs tsc_mode "native" (the default TSC
    // emulation faults on RDTSCP there); the playbook has no option for extra keys, so a copy of
    // the written config gets that one line.
    await sh(`{ cat /etc/xen/${BIG}.cfg; echo 'tsc_mode = "native"'; } > /tmp/${BIG}-tcg.cfg`);
    const created = await lab.ssh(`xl create /tmp/${BIG}-tcg.cfg`);
    expect(created.stderr).not.toMatch(/libxl: error/);
    expect(created.code).toBe(0);
    expect(await sh(`xl list -l ${BIG}`)).toContain('"type": "hvm"');
    const row = (await sh(`xl list ${BIG}`)).split('\n')[1]!.trim().split(/\s+/);
    expect(Number(row[2])).toBeGreaterThanOrEqual(memory - 1);
    // xl_vmcontrol.c freemem(): dom0's target lowered by what Xen lacked for the new domain.
    const after = await dom0MiB();
    expect(before - after).toBeGreaterThanOrEqual(memory - free);
    // Still there a while later: the device model runs and the guest did not crash.
    await new Promise((res) => setTimeout(res, 15_000));
    expect(await sh(`xl list ${BIG}`)).toMatch(new RegExp(`^${BIG}\\s+\\d+\\s+\\d+\\s+1\\s+[-rbp]+\\s`, 'm'));
    expect(await sh('ps')).toContain('xen-qemu-system-i386');
    await sh(`xl destroy ${BIG}`);
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
    const kernel = await sharedKernel(lab);
    writeFileSync(path.join(lab.share, 'initrd-qcr'), markerInitrd('XR-QCR-UP', { stay: true }));
    await sh(`truncate -s 16M /var/lib/xen/${QOS}.img`);
    const cfg = pvConfig({
      name: QOS,
      kernel,
      disk: `/var/lib/xen/${QOS}.img`,
      memory: 96,
      extra: ['ramdisk = "/mnt/lab/initrd-qcr"', 'extra = "console=hvc0"'],
    });
    await lab.ssh(`cat > /etc/xen/${QOS}.cfg`, cfg);
    await sh(`xl create /etc/xen/${QOS}.cfg`);
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

/**
 * vCPUs of an HVM guest (maxvcpus 2, one online at start) with no guest OS to cooperate: what
 * `xl vcpu-set` really does, against the model's "vcpus" and "vcpus-fewer-hvm" rows
 * (src/xen/qos.ts). libxl_set_vcpuonline (tools/libs/light/libxl_domain.c, RELEASE-4.17.0) asks
 * QEMU for its CPUs (query-cpus-fast), hot-adds the missing ones (device_add), never removes one,
 * and writes every cpu/N/availability key.
 */
describe('xl vcpu-set on an HVM guest, against the QoS model', () => {
  const HVM = 'hvmv';

  /** QEMU's own CPUs, through its QMP socket (libxl_dm.c: /var/run/xen/qmp-libxl-DOMID). */
  async function qemuCpus(id: string): Promise<number[]> {
    const py = [
      'import json,socket,sys',
      's=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1]);f=s.makefile("rw")',
      'def ask(c):',
      '  f.write(json.dumps({"execute":c})+"\\n");f.flush()',
      '  while True:',
      '    m=json.loads(f.readline())',
      '    if "return" in m or "error" in m: return m',
      'f.readline();ask("qmp_capabilities");print(json.dumps(ask("query-cpus-fast")))',
    ].join('\n');
    const r = await lab.ssh(`python3 - /var/run/xen/qmp-libxl-${id}`, py);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const answer = JSON.parse(r.stdout) as { return: { 'cpu-index': number }[] };
    return answer.return.map((c) => c['cpu-index']).sort();
  }

  async function hvmState(id: string) {
    const availability = (await lab.ssh(`xenstore-read /local/domain/${id}/cpu/1/availability`)).stdout.trim();
    const vcpuList = (await lab.ssh(`xl vcpu-list ${HVM}`)).stdout;
    const rows = vcpuList
      .split('\n')
      .filter((l) => l.startsWith(`${HVM} `))
      .map((l) => l.trim().split(/\s+/))
      .map((f) => ({ vcpu: Number(f[2]), state: f[4]! }));
    const listed = (await lab.ssh(`xl list ${HVM}`)).stdout.split('\n')[1]!.trim().split(/\s+/);
    return { availability, rows, online: Number(listed[3]), qemu: await qemuCpus(id) };
  }

  test('up: QEMU hot-adds the vCPU and xenstore says online; down: only xenstore changes, QEMU keeps it', async () => {
    const cfg = [
      `name = "${HVM}"`,
      'type = "hvm"',
      'memory = 96',
      'vcpus = 1',
      'maxvcpus = 2',
      'boot = "c"',
      'vnc = 0',
      // Under QEMU's software emulation (see windows-hvm.test.ts).
      'tsc_mode = "native"',
      'on_poweroff = "destroy"',
      'on_reboot = "destroy"',
      'on_crash = "destroy"',
      '',
    ].join('\n');
    await lab.ssh(`cat > /etc/xen/${HVM}.cfg`, cfg);
    const c = await lab.ssh(`xl create /etc/xen/${HVM}.cfg`);
    expect({ code: c.code, stderr: c.stderr }).toMatchObject({ code: 0 });
    const id = (await lab.ssh(`xl domid ${HVM}`)).stdout.trim();

    // At start: QEMU has one CPU; Xen's vCPU 1 is down (`--p`), its availability key offline.
    const start = await hvmState(id);
    expect(start).toEqual({
      availability: 'offline',
      rows: [
        { vcpu: 0, state: expect.stringMatching(/^[-rb]{2}-$/) as unknown as string },
        { vcpu: 1, state: '--p' },
      ],
      online: 1,
      qemu: [0],
    });

    // Up: QEMU hot-adds cpu-1 (device_add) and the key says online; with no OS to bring it up,
    // Xen's vCPU 1 stays down: one vCPU runs, as `xl list` shows.
    const upSet = await lab.ssh(`xl vcpu-set ${HVM} 2`);
    expect({ code: upSet.code, stderr: upSet.stderr }).toMatchObject({ code: 0 });
    const up = await hvmState(id);
    expect(up).toMatchObject({ availability: 'online', online: 1, qemu: [0, 1] });
    expect(up.rows[1]).toEqual({ vcpu: 1, state: '--p' });

    // Down: only the key changes; QEMU keeps cpu-1 (libxl never removes a CPU from QEMU).
    const downSet = await lab.ssh(`xl vcpu-set ${HVM} 1`);
    expect({ code: downSet.code, stderr: downSet.stderr }).toMatchObject({ code: 0 });
    const down = await hvmState(id);
    expect(down).toMatchObject({ availability: 'offline', online: 1, qemu: [0, 1] });

    // What the model says of it: fewer vCPUs on a running HVM guest is nothing live (the key
    // only), kept for the next start with --persist; more is a QEMU hot-add the guest's OS must
    // bring online.
    const fewer = MODEL['vcpus-fewer-hvm'].xl.running;
    expect(fewer.effect).toBe('restart');
    expect(fewer.how).toContain('cpu/N/availability');
    expect(fewer.why).toContain('hot-adds vCPUs to an HVM guest through QEMU but cannot take them away');
    expect(MODEL.vcpus.xl.running.why).toContain("an HVM guest's OS must bring the new vCPU online");
    await lab.ssh(`xl destroy ${HVM}`);
  }, 900_000);
});

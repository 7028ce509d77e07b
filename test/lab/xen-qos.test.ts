/**
 * xen-qos over ssh against a running PV guest on a real Xen 4.17 host (the lab's default boot:
 * credit2, Xen's own default scheduler): each change is read back from the real xl and xenstore,
 * by the test and by the playbook, whose report (--json data.readBack) must say what the host
 * shows; --persist then a restart keeps the values. Weight and cap under credit are proven on the
 * lab's second boot (credit-no-dom0-mem.test.ts). Then the same through Ansible: the collection's
 * qos module on the lab host through its ssh config, in check mode, applied, and run again.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runPlaybook } from '../helpers/playbook.js';
import { pvConfig } from 'xen-runbooks/lab';
import { domainScheduler, formatCredit } from 'xen-runbooks/xen/qos';
import { labTask } from './ansible.js';
import { sharedKernel, startLab, writeMarkerGuest, type Lab } from './lab.js';

let lab: Lab;
const NAME = 'qos1';
const MARKER = 'XR-QOS-UP';

beforeAll(async () => {
  lab = await startLab();
  await writeMarkerGuest(lab, {
    name: NAME,
    marker: MARKER,
    memory: 128,
    maxmem: 192,
    vcpus: 2,
    maxvcpus: 2,
    vif: 'bridge=xenbr0',
  });
  const r = await lab.ssh(`xl create /etc/xen/${NAME}.cfg`);
  if (r.code !== 0) throw new Error(`xl create ${NAME} failed: ${r.stderr}`);
  await lab.waitForConsole(NAME, MARKER);
}, 1_800_000);

afterAll(async () => {
  await lab?.stop([NAME, 'pool1']);
}, 120_000);

const qos = (args: string[]) =>
  runPlaybook('xen-qos', [NAME, '--host', 'root@xenlab', '--ssh-config', lab.sshConfig, '--yes', ...args]);

/** The playbook's --json report: what it read back after each live change (data.readBack). */
interface ReadBack {
  shown: string;
  done: boolean;
  guestMust?: string;
}
async function qosJson(args: string[]): Promise<{ code: number; stderr: string; readBack: Record<string, ReadBack> }> {
  const r = await qos([...args, '--json']);
  const report = JSON.parse(r.stdout || '{}') as { data?: { readBack?: Record<string, ReadBack> } };
  return { code: r.code ?? -1, stderr: r.stderr, readBack: report.data?.readBack ?? {} };
}

/** `xl list NAME`'s Mem and VCPUs columns (xl_info.c list_domains, RELEASE-4.17.0). */
async function listed(): Promise<{ mem: number; vcpus: number }> {
  const row = (await lab.runIdempotent(`xl list ${NAME}`)).trim().split('\n').at(-1)!.trim().split(/\s+/);
  return { mem: Number(row[2]), vcpus: Number(row[3]) };
}

const domid = async (): Promise<string> => (await lab.runIdempotent(`xl domid ${NAME}`)).trim();

/** `xl sched-credit2 -d NAME`'s row: weight and cap (xl_sched.c sched_credit2_domain_output, RELEASE-4.17.0). */
async function credit2(): Promise<{ weight: number; cap: number }> {
  const out = await lab.runIdempotent(`xl sched-credit2 -d ${NAME}`);
  const row = out.split('\n').find((l) => l.startsWith(`${NAME} `));
  const f = row!.trim().split(/\s+/);
  return { weight: Number(f[2]), cap: Number(f[3]) };
}

describe('xen-qos on a real Xen 4.17 host, over --host', () => {
  test('the host runs the credit2 scheduler', async () => {
    expect(await lab.runIdempotent('xl info')).toMatch(/^xen_scheduler\s*:\s*credit2$/m);
  });

  test('CPU weight and cap under credit2 (a cap from Xen 4.10), read back from xl sched-credit2', async () => {
    expect(await credit2()).toEqual({ weight: 256, cap: 0 });
    const r = await qosJson(['--cpu-weight', '512', '--cpu-cap', '50']);
    expect(r.stderr).not.toMatch(/✗/);
    expect(r.code, r.stderr).toBe(0);
    expect(await credit2()).toEqual({ weight: 512, cap: 50 });
    // What the playbook reported is what the hypervisor holds, read back after the change.
    expect(r.readBack['cpu-scheduler']).toEqual({ shown: 'xl sched-credit2 reads weight 512, cap 50', done: true });
  }, 900_000);

  test('vCPUs down to 1 live: xl vcpu-list shows one online', async () => {
    // An earlier attempt (vitest.config.ts: retry) may have left one online: two again first.
    await lab.runIdempotent(`xl vcpu-set ${NAME} 2`);
    expect(await lab.waitUntil(`[ "$(xl list ${NAME} | awk 'NR==2 { print $4 }')" = 2 ]`, 300_000)).toBe(true);
    const r = await qosJson(['--vcpus', '1']);
    expect(r.code, r.stderr).toBe(0);
    const list = await lab.runIdempotent(`xl vcpu-list ${NAME}`);
    const rows = list.split('\n').filter((l) => l.startsWith(`${NAME} `));
    expect(rows).toHaveLength(2);
    const online = (await lab.runIdempotent(`xenstore-read /local/domain/${await domid()}/cpu/1/availability`)).trim();
    expect(online).toBe('offline');
    // The PV kernel took vCPU 1 offline by itself: the hypervisor shows one online, and so did the report.
    expect((await listed()).vcpus).toBe(1);
    expect(r.readBack.vcpus).toEqual({ shown: 'xl list shows 1 vCPUs online, xenstore asks for 1', done: true });
  }, 900_000);

  test('memory target 160 MiB live: xenstore memory/target, and what the guest holds (xl list)', async () => {
    const r = await qosJson(['--memory', '160']);
    expect(r.code, r.stderr).toBe(0);
    const target = (await lab.runIdempotent(`xenstore-read /local/domain/${await domid()}/memory/target`)).trim();
    expect(Number(target)).toBe(160 * 1024);
    const back = r.readBack.memory!;
    const held = Number(/the domain holds (\d+) MiB/.exec(back.shown)?.[1]);
    expect(back.shown).toMatch(/^xenstore's memory target is 160 MiB; the domain holds \d+ MiB \(xl list\)$/);
    // Done only when what the domain holds reached the target; otherwise the guest's part is named.
    expect(back.done).toBe(Math.abs(held - 160) <= 1.6);
    if (!back.done) expect(back.guestMust).toMatch(/balloon driver/);
    // The hypervisor agrees with the report (the balloon driver only moves towards the target).
    const now = (await listed()).mem;
    expect(Math.abs(now - 160)).toBeLessThanOrEqual(Math.abs(held - 160));
  }, 900_000);

  test("vif rate 8Mb/s@50ms: the backend's rate key holds bytes,usecs", async () => {
    const r = await qosJson(['--rate', '8Mb/s@50ms']);
    expect(r.stderr).not.toMatch(/✗/);
    expect(r.code, r.stderr).toBe(0);
    const id = await domid();
    const rate = await lab.runIdempotent(`xenstore-read /local/domain/0/backend/vif/${id}/0/rate`);
    // 8 Mbit/s = 1,000,000 bytes/s: 50,000 bytes every 50,000 µs.
    expect(rate.trim()).toBe('50000,50000');
    const state = (await lab.runIdempotent(`xenstore-read /local/domain/0/backend/vif/${id}/0/state`)).trim();
    expect(r.readBack['vif-rate']).toMatchObject({
      shown: `/local/domain/0/backend/vif/${id}/0/rate reads 50000,50000 (${formatCredit({ bytesPerInterval: 50_000, intervalUs: 50_000 })}), backend state ${state}`,
      done: state === '4',
    });
  }, 900_000);

  test('--persist, then a restart: the new domain starts with the values', async () => {
    const r = await qos(['--cpu-weight', '768', '--cpu-cap', '25', '--memory', '144', '--persist']);
    expect(r.code, r.stderr).toBe(0);
    const cfg = await lab.runIdempotent(`cat /etc/xen/${NAME}.cfg`);
    expect(cfg).toMatch(/^cpu_weight\s*=\s*768$/m);
    expect(cfg).toMatch(/^cap\s*=\s*25$/m);
    expect(cfg).toMatch(/^memory\s*=\s*144$/m);
    await lab.ssh(`xl destroy ${NAME}`);
    await lab.ssh(`rm -f /var/log/xen/console/guest-${NAME}.log`);
    const c = await lab.ssh(`xl create /etc/xen/${NAME}.cfg`);
    expect(c.code).toBe(0);
    expect(await credit2()).toEqual({ weight: 768, cap: 25 });
    const target = (await lab.runIdempotent(`xenstore-read /local/domain/${await domid()}/memory/target`)).trim();
    expect(Number(target)).toBe(144 * 1024);
  }, 900_000);
});

describe('xen_runbooks.xen.qos under ansible-playbook, the lab host through its ssh config', () => {
  const task = { domain: NAME, toolstack: 'xl', cpu_weight: '384' };

  test('--check --diff: the plan and its diff, and the hypervisor unchanged', async () => {
    const before = await credit2();
    const run = await labTask(lab, 'qos', task, ['--check', '--diff']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const res = run.results.xenlab;
    expect(res.changed).toBe(true);
    expect(res.cmd).toContain('--dry-run');
    expect(res.cmd).toEqual(expect.arrayContaining(['--host', 'root@xenlab', '--ssh-config', lab.sshConfig]));
    // The step's plan, as the default callback prints a "prepared" diff.
    expect(run.stdout).toMatch(/weight.*384/);
    expect(run.recap.xenlab).toMatchObject({ changed: 1, failed: 0 });
    expect(await credit2()).toEqual(before);
  }, 900_000);

  test('applied: changed, and what xl sched-credit2 reads is what the task reports; run again: changed=0', async () => {
    const run = await labTask(lab, 'qos', task);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const res = run.results.xenlab;
    expect(res.changed).toBe(true);
    const now = await credit2();
    expect(now.weight).toBe(384);
    expect(res.data.readBack['cpu-scheduler']).toEqual({
      shown: `xl sched-credit2 reads weight 384, cap ${now.cap}`,
      done: true,
    });
    const again = await labTask(lab, 'qos', task);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.results.xenlab.changed).toBe(false);
    expect(again.recap.xenlab).toMatchObject({ ok: 1, changed: 0, failed: 0 });
  }, 900_000);
});

/**
 * A domain's scheduler is its cpupool's (libxl_dom.c libxl__domain_scheduler, RELEASE-4.17.0);
 * `xl info`'s xen_scheduler is Xen's boot default (sysctl.c XEN_SYSCTL_sched_id). A credit pool on
 * this credit2 host, a guest in it (created paused: nothing needs to run), and what xl answers.
 */
describe('a guest in a credit cpupool on a credit2 host', () => {
  const POOLED = 'pool1';

  test("xl sched-credit answers for it, sched-credit2 refuses, and domainScheduler reads the pool's scheduler", async () => {
    const sh = async (cmd: string) => {
      const r = await lab.ssh(cmd);
      if (r.code !== 0) throw new Error(`${cmd}: exit ${r.code}: ${r.stderr}`);
      return r.stdout;
    };
    const clear = async () => {
      await lab.clear(POOLED);
      // A cpupool goes only once its last domain is gone (a dying one too): destroy it until
      // cpupool-list no longer shows it. A retry found the pool of the first attempt still there.
      const gone = `! xl cpupool-list credit >/dev/null 2>&1 || { xl cpupool-destroy credit >/dev/null 2>&1; false; }`;
      if (!(await lab.waitUntil(gone, 120_000)))
        throw new Error('the cpupool credit was still there after two minutes');
      await lab.ssh('xl cpupool-cpu-add Pool-0 1 2>/dev/null; true');
    };
    await clear(); // what an earlier attempt left (vitest.config.ts: retry)
    try {
      await sh('xl cpupool-cpu-remove Pool-0 1');
      await sh(`xl cpupool-create 'name="credit"' 'sched="credit"' 'cpus=["1"]'`);
      const cfg = pvConfig({
        name: POOLED,
        kernel: await sharedKernel(lab),
        disk: `/var/lib/xen/${NAME}.img`,
        memory: 128,
        extra: [`ramdisk = "/mnt/lab/initrd-${NAME}"`, 'pool = "credit"'],
      }).replace(/^disk = .*\n/m, '');
      await lab.ssh(`cat > /etc/xen/${POOLED}.cfg`, cfg);
      await sh(`xl create -p /etc/xen/${POOLED}.cfg`);
      // Reads are tried again when xl dies under emulation (ssh's exit 255, as in one run).
      expect(await lab.runIdempotent('xl info')).toMatch(/^xen_scheduler\s*:\s*credit2$/m);
      const listC = await lab.runIdempotent(`xl list -c ${POOLED}`);
      const pools = await lab.runIdempotent('xl cpupool-list');
      expect(domainScheduler(listC, pools)).toBe('credit');
      // The credit command answers for the guest, with credit's default weight; credit2's refuses.
      const c1 = await lab.runIdempotent(`xl sched-credit -d ${POOLED}`);
      expect(c1).toMatch(new RegExp(`^${POOLED}\\s+\\d+\\s+256\\s+0$`, 'm'));
      const c2 = await lab.ssh(`xl sched-credit2 -d ${POOLED}`);
      expect(c2.code).not.toBe(0);
    } finally {
      await clear();
    }
  }, 900_000);
});

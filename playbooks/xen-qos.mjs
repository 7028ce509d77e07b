#!/usr/bin/env node
// @ts-check
/**
 * QoS and dynamic resources of a Xen guest: network rate, disk I/O priority, CPU weight and cap,
 * vCPUs and memory, changed live where Xen allows it and kept for the next start with --persist.
 *
 * When each request takes effect (live, after a device re-plug, or only after a restart) comes
 * from one model, src/xen/qos.ts, which also draws the table on the runbook page. Reading the
 * host, deciding and formatting live in src/playbooks/xen-qos/.
 */
import { definePlaybook, ok, change, skip, usage, refuse, fail } from 'xen-runbooks/engine';
import { DEFAULT_INTERVAL_US, IO_CLASSES, WEIGHT_DEFAULT, formatCredit, mib, sameRate } from 'xen-runbooks/xen/qos';
import { versionText } from 'xen-runbooks/xen/xlversion';
import { QosState } from 'xen-runbooks/playbooks/xen-qos/state';
import { wantFromOptions } from 'xen-runbooks/playbooks/xen-qos/want';
import { detectToolstack, readDomain } from 'xen-runbooks/playbooks/xen-qos/read-domain';
import { planRequests } from 'xen-runbooks/playbooks/xen-qos/plan';
import {
  describeFacts,
  describeRequest,
  domainReport,
  planSummary,
  requestsReport,
  xeQosText,
} from 'xen-runbooks/playbooks/xen-qos/report';
import { domRef, replug } from 'xen-runbooks/playbooks/xen-qos/replug';
import { configChanges, planConfigEdit, xeSchedParams } from 'xen-runbooks/playbooks/xen-qos/persist';
import { lostOnRestart, xlRebootNote, xlRebootOutcome } from 'xen-runbooks/playbooks/xen-qos/restart';
import { checkConfigNamesDomain } from 'xen-runbooks/playbooks/xen-qos/config-option';
import * as back from 'xen-runbooks/playbooks/xen-qos/readback';
import { OPTIONS } from 'xen-runbooks/playbooks/xen-qos/option-specs';

/** @typedef {import('xen-runbooks/engine').CheckResult<import('xen-runbooks/playbooks/xen-qos/persist').PersistData>} PersistCheck */

const playbook = definePlaybook({
  name: 'xen-qos',
  summary: 'Set a Xen guest’s network rate, disk I/O priority, CPU weight and cap, vCPUs and memory.',
  description:
    'Reads the domain first (running or halted, scheduler, boot maxima, devices) and says for every request ' +
    'whether it applies live, needs the device re-plugged, or needs a restart, before changing anything. ' +
    'Values outside their bounds are refused (exit 2) with nothing changed. --persist writes the values into ' +
    'the domain configuration file (xl, xm) or xapi (xe) so the next start keeps them; without it the report ' +
    'lists what a restart would lose.',
  args: [
    {
      name: 'DOMAIN',
      // DOMAIN.cfg, the default configuration file, must fit a file name (NAME_MAX, 255 bytes).
      maxLength: 251,
      description: 'The domain: its name (xl, xm), or the VM name-label or uuid (xe).',
    },
  ],
  options: OPTIONS,
  transports: ['local', 'root', 'ssh'],
  examples: [
    'vm01 --cpu-weight 512 --cpu-cap 200 --persist',
    'vm01 --vcpus 4 --memory 4G --dry-run',
    'vm01 --rate 8Mb/s@50ms --vif 0 --yes',
    'vm02 --toolstack xm --cpu-weight High --inbound-rate 8Mb/s@50ms --io-priority 2 --io-class rt --disk xvda --persist',
    'web01 --toolstack xe --rate 10MB/s --persist',
  ],
  state: () => new QosState(),

  async validate(ctx) {
    // Bad values (rate syntax, weight names, priority range, whole MiB) are refused before the host is read.
    ctx.state.want = wantFromOptions(ctx.opts);
    // A --config naming another domain would take this one's values at that domain's next start.
    if (ctx.opts.config && ctx.opts.toolstack !== 'xe')
      await checkConfigNamesDomain(ctx.host, ctx.opts.config, String(ctx.args.DOMAIN));
  },

  steps: ({ step }) => [
    step('read-domain', {
      title: 'Read the domain and the host',
      async check(ctx) {
        const toolstack = ctx.opts.toolstack ?? (await detectToolstack(ctx));
        ctx.state.read(await readDomain(ctx, toolstack, ctx.args.DOMAIN, ctx.opts.config));
        const f = ctx.state.facts;
        const [first, ...lines] = describeFacts(f);
        for (const line of lines) ctx.log.info(`  ${line}`);
        ctx.report.domain = domainReport(f);
        return ok(first ?? f.name);
      },
    }),

    step('plan', {
      title: 'Say when each request takes effect',
      check(ctx) {
        const { want } = ctx.state;
        const { persist, vif, disk } = ctx.opts;
        const { plan, violations } = planRequests(ctx.state.facts, { want, persist, vif, disk }, ctx.log);
        if (violations.length) {
          throw usage(`nothing was changed:\n  ${violations.join('\n  ')}`);
        }
        ctx.state.plan = plan;
        for (const p of plan) ctx.log.info(`  ${describeRequest(p)}`);
        ctx.report.requests = requestsReport(plan);
        return ok(planSummary(plan));
      },
    }),

    step('cpu-scheduler', {
      title: 'Set the CPU weight and cap',
      when: (ctx) => Boolean(ctx.state.request('cpu-weight', 'cpu-cap')) || 'no --cpu-weight or --cpu-cap',
      check(ctx) {
        const { facts: f, want, residentOn, hostUuid } = ctx.state;
        if (f.state === 'halted' && f.toolstack !== 'xe')
          return skip('the domain is halted: step persist writes the config file');
        if (f.state === 'running' && f.toolstack === 'xe' && hostUuid !== residentOn) {
          throw refuse(
            `${f.name} runs on host ${String(residentOn)}, not on this one (${hostUuid ?? 'unknown'}): ` +
              'xl sees only the domains of its own host; run this there (--host root@THAT-HOST)',
          );
        }
        const now =
          f.state === 'running'
            ? (f.sched ?? { weight: WEIGHT_DEFAULT, cap: 0 })
            : { weight: f.stored.weight, cap: f.stored.cap };
        const diff = [];
        if (want.weight && want.weight.weight !== now.weight) diff.push(`weight ${now.weight} → ${want.weight.weight}`);
        if (want.cap !== undefined && want.cap !== (now.cap ?? 0)) diff.push(`cap ${now.cap ?? 0} → ${want.cap}`);
        if (!diff.length) return ok(`weight ${now.weight}, cap ${now.cap ?? 0}: as asked`);
        return change(`set ${diff.join(', ')}`);
      },
      async apply(ctx) {
        const { facts: f, want } = ctx.state;
        if (f.toolstack === 'xe' && f.state === 'halted') {
          const params = xeSchedParams(f, want, false);
          await ctx.$`xe vm-param-set uuid=${f.uuid} ${params}`;
          return `${params.join(' ')} (used when ${f.name} starts)`;
        }
        // In dom0 of XCP-ng too: xapi applies VCPUs-params only when it builds the domain.
        const tool = f.toolstack === 'xm' ? 'xm' : 'xl';
        const cmd = f.scheduler === 'credit2' ? 'sched-credit2' : 'sched-credit';
        const flags = [
          ...(want.weight ? ['-w', String(want.weight.weight)] : []),
          ...(want.cap !== undefined ? ['-c', String(want.cap)] : []),
        ];
        await ctx.$`${tool} ${cmd} -d ${domRef(f)} ${flags}`;
        // Done when the hypervisor shows it: read the parameters back.
        const read = await back.readBackSched(
          ctx,
          { ...f, toolstack: tool },
          { weight: want.weight?.weight, cap: want.cap },
        );
        return back.recordReadBack(ctx, 'cpu-scheduler', read);
      },
    }),

    step('vcpus', {
      title: 'Set the number of vCPUs',
      when: (ctx) => Boolean(ctx.state.request('vcpus', 'vcpus-above-max', 'vcpus-fewer-hvm')) || 'no --vcpus',
      check(ctx) {
        const f = ctx.state.facts;
        const n = ctx.state.wanted('vcpus');
        const r = ctx.state.planned('vcpus', 'vcpus-above-max', 'vcpus-fewer-hvm');
        if (r.decision.kind === 'vcpus-fewer-hvm')
          return skip(
            `${f.name} is an HVM guest: ${f.toolstack} vcpu-set cannot take vCPUs away from it (it ignores cpu/N/availability); step persist writes ${n} for the next start`,
          );
        if (r.decision.effect === 'restart')
          return skip(`above the boot maximum ${f.maxVcpus}: step persist writes it for the next start`);
        if (f.state === 'halted' && f.toolstack !== 'xe')
          return skip('the domain is halted: step persist writes the config file');
        if (f.toolstack === 'xe' && f.state === 'halted') {
          if (n === f.stored.vcpus && n <= (f.stored.maxVcpus ?? f.maxVcpus))
            return ok(`${n} vCPUs at startup already`);
          return change(
            `set VCPUs-at-startup ${f.stored.vcpus} → ${n}${n > f.maxVcpus ? `, VCPUs-max ${f.maxVcpus} → ${n}` : ''}`,
          );
        }
        if (n === f.vcpus) return ok(`${n} vCPUs online already`);
        if (n === f.vcpusAsked)
          return ok(
            `${n} vCPUs asked for already (xenstore); ${f.vcpus} online: the guest's OS must bring the rest up`,
          );
        return change(`set ${f.vcpus} → ${n} vCPUs online (boot maximum ${f.maxVcpus})`);
      },
      async apply(ctx) {
        const f = ctx.state.facts;
        const n = String(ctx.state.wanted('vcpus'));
        if (f.toolstack === 'xe') {
          if (f.state === 'running') {
            await ctx.$`xe vm-vcpu-hotplug uuid=${f.uuid} new-vcpus=${n}`;
            return back.recordReadBack(ctx, 'vcpus', await back.readBackVcpusXe(ctx, f, Number(n)));
          } else {
            // VCPUs-at-startup ≤ VCPUs-max at every moment: raise the maximum first, lower it last.
            if (Number(n) > f.maxVcpus) await ctx.$`xe vm-param-set uuid=${f.uuid} VCPUs-max=${n}`;
            await ctx.$`xe vm-param-set uuid=${f.uuid} VCPUs-at-startup=${n}`;
          }
        } else {
          await ctx.$`${f.toolstack} vcpu-set ${domRef(f)} ${n}`;
          return back.recordReadBack(ctx, 'vcpus', await back.readBackVcpus(ctx, f, Number(n)));
        }
        return `${n} vCPUs`;
      },
    }),

    step('memory', {
      title: 'Set the memory',
      when: (ctx) => Boolean(ctx.state.request('memory', 'memory-above-max')) || 'no --memory',
      check(ctx) {
        const f = ctx.state.facts;
        const m = ctx.state.wanted('memory');
        const r = ctx.state.planned('memory', 'memory-above-max');
        if (r.decision.effect === 'restart')
          return skip(`above the boot maximum ${mib(f.maxMemory)} MiB: step persist writes it for the next start`);
        if (f.state === 'halted' && f.toolstack !== 'xe')
          return skip('the domain is halted: step persist writes the config file');
        const pinned = f.toolstack !== 'xe' || !ctx.state.dynamicRange;
        if (m === f.memory && pinned && (f.toolstack !== 'xe' || m <= f.maxMemory)) return ok(`${mib(m)} MiB already`);
        return change(
          `set the memory ${mib(f.memory)} → ${mib(m)} MiB${f.state === 'running' ? ' (the balloon driver gives or takes the difference)' : ''}`,
        );
      },
      async apply(ctx) {
        const f = ctx.state.facts;
        const m = ctx.state.wanted('memory');
        if (f.toolstack === 'xe') {
          if (m > f.maxMemory) {
            // Halted only (the plan refused it otherwise): the static maximum moves with it.
            await ctx.$`xe vm-memory-limits-set uuid=${f.uuid} static-min=${String(f.minMemory)} static-max=${String(m)} dynamic-min=${String(m)} dynamic-max=${String(m)}`;
          } else {
            await ctx.$`xe vm-memory-dynamic-range-set uuid=${f.uuid} min=${String(m)} max=${String(m)}`;
            if (f.state === 'running')
              return back.recordReadBack(ctx, 'memory', await back.readBackMemoryXe(ctx, f, m));
          }
          return `memory target ${mib(m)} MiB`;
        }
        if (f.toolstack === 'xl') await ctx.$`xl mem-set ${domRef(f)} ${`${mib(m)}m`}`;
        else await ctx.$`xm mem-set ${domRef(f)} ${String(mib(m))}`;
        return back.recordReadBack(ctx, 'memory', await back.readBackMemory(ctx, f, m));
      },
    }),

    step('vif-rate', {
      title: 'Limit the network rate',
      when: (ctx) => Boolean(ctx.state.request('vif-rate')) || 'no --rate',
      async check(ctx) {
        const f = ctx.state.facts;
        const r = ctx.state.plannedVif();
        const { vif } = r;
        const rate = ctx.state.wanted('rate');
        const { persist, 'no-replug': noReplug } = ctx.opts;
        const replugAsk = async (/** @type {string} */ what) => {
          if (f.state !== 'running' || noReplug) return false;
          if (ctx.dryRun) return true;
          return ctx.confirm(`${what} vif ${vif.index} of ${f.name}: its network stops for a moment. Go ahead?`);
        };
        if (f.toolstack === 'xe') {
          // The same limit: the same kbps over the same interval (timeslice_us, or xenopsd's 50 ms).
          const same =
            vif.qosType === 'ratelimit' &&
            vif.kbps === r.kbps &&
            (vif.timesliceUs ?? DEFAULT_INTERVAL_US) === r.xeIntervalUs;
          if (same)
            return ok(
              `vif ${vif.index} already has ${xeQosText(r)}${f.state === 'running' ? ' (in force since it was last plugged)' : ''}`,
            );
          const replug = vif.attached === true && (await replugAsk('Unplug and plug'));
          const then = replug
            ? `, then unplug and plug it${ctx.dryRun && !ctx.common.yes ? ' (after asking)' : ''}`
            : f.state === 'running'
              ? '; it takes effect when the VIF is next plugged (next start)'
              : '';
          return change(`set ${xeQosText(r)} on vif ${vif.index}${then}`, { data: { replug } });
        }
        if (f.state === 'halted') return skip('the domain is halted: step persist writes rate= into its vif line');
        if (r.route === 'emulated')
          return skip(
            `vif ${vif.index} is not limited: ${f.name} has no PV network driver (xenbus state ${vif.backendState}, not connected) and its traffic goes through QEMU's emulated NIC`,
          );
        if (r.route === 'next-start')
          return skip(`xl ${versionText(f.xen)} applies no rate= (Xen 4.2 does): nothing limits vif ${vif.index}`);
        if (sameRate(vif.credit, rate)) return ok(`vif ${vif.index} already gives ${formatCredit(rate)}`);
        if (r.route === 'xenstore') {
          return change(
            `write rate ${rate.bytesPerInterval},${rate.intervalUs} into vif ${vif.index}'s backend: netback applies it at once (dom0 kernel ${f.dom0Kernel}), no re-plug`,
            { data: { replug: false } },
          );
        }
        if (noReplug)
          return skip(
            `--no-replug: vif ${vif.index} keeps its rate until the next start${persist ? '' : ' (and without --persist, nothing keeps the new one)'}`,
          );
        if (!(await replugAsk('Detach and re-attach'))) {
          return skip(
            `not re-plugged (not confirmed): vif ${vif.index} keeps its rate${persist ? '; the next start uses the new one' : ''}`,
          );
        }
        const asked = ctx.dryRun && !ctx.common.yes ? ' (after asking)' : '';
        const devid = r.route === 'replug' ? '' : ' (under a new devid: this release takes no devid=)';
        return change(
          `detach vif ${vif.index} (${vif.mac}) and attach it again with rate=${rate.text}${devid}${asked}`,
          { data: { replug: true } },
        );
      },
      async apply(ctx, c) {
        const f = ctx.state.facts;
        const r = ctx.state.plannedVif();
        const { vif } = r;
        const rate = ctx.state.wanted('rate');
        if (f.toolstack === 'xe') {
          // timeslice_us is written when the rate names its interval, and put back to 50 ms when a
          // previous one is there and this rate names none.
          const ts = r.timesliceUs ?? (vif.timesliceUs !== undefined ? DEFAULT_INTERVAL_US : undefined);
          const slice = ts !== undefined ? [`qos_algorithm_params:timeslice_us=${ts}`] : [];
          await ctx.$`xe vif-param-set uuid=${vif.uuid} qos_algorithm_type=ratelimit qos_algorithm_params:kbps=${String(r.kbps)} ${slice}`;
          if (!c.data?.replug) return `${xeQosText(r)} set on vif ${vif.index}`;
          await ctx.$`xe vif-unplug uuid=${vif.uuid}`;
          await ctx.$`xe vif-plug uuid=${vif.uuid}`;
          return `${xeQosText(r)} set on vif ${vif.index}, unplugged and plugged`;
        }
        if (r.route === 'xenstore') {
          const key = `/local/domain/0/backend/vif/${String(f.domid)}/${String(vif.index)}/rate`;
          const value = `${rate.bytesPerInterval},${rate.intervalUs}`;
          await ctx.$`xenstore-write ${key} ${value}`;
          return back.recordReadBack(ctx, 'vif-rate', await back.readBackRate(ctx, Number(f.domid), vif.index, rate));
        }
        const devid = await replug(ctx, f, vif, rate, r.route === 'replug');
        const read = await back.readBackRate(ctx, Number(f.domid), devid, rate);
        return back.recordReadBack(ctx, 'vif-rate', {
          ...read,
          shown: `vif ${vif.index} attached again as devid ${devid}: ${read.shown}`,
        });
      },
    }),

    step('io-priority', {
      title: 'Set the disk I/O priority',
      when: (ctx) => Boolean(ctx.state.request('io-priority')) || 'no --io-priority or --io-class',
      check(ctx) {
        const f = ctx.state.facts;
        const { cls, prio } = ctx.state.wanted('io');
        const { disk } = ctx.state.plannedDisk();
        if (f.toolstack !== 'xe')
          return skip('Oracle VM reads disk_other_config when the domain starts: step persist writes it');
        const ionice = `${IO_CLASSES[cls].title}${prio !== undefined ? ` ${prio}` : ''}`;
        if (disk.ioClass === cls && (cls === 'idle' || disk.ioPriority === prio))
          return ok(`${disk.vdev} already has ionice ${ionice}`);
        ctx.log.info(
          '  ionice acts only where the disk’s I/O scheduler honours it (CFQ, BFQ): on XCP-ng set other-config:scheduler=cfq on the SR',
        );
        return change(
          `set ionice ${ionice} on ${disk.vdev}${f.state === 'running' ? ' (applied when the disk is next plugged: the next start)' : ''}`,
        );
      },
      async apply(ctx) {
        const f = ctx.state.facts;
        const { cls, prio } = ctx.state.wanted('io');
        const { disk } = ctx.state.plannedDisk();
        const sched = IO_CLASSES[cls].xe;
        if (prio === undefined) {
          await ctx.$`xe vbd-param-set uuid=${disk.uuid} qos_algorithm_type=ionice qos_algorithm_params:sched=${sched}`;
        } else {
          await ctx.$`xe vbd-param-set uuid=${disk.uuid} qos_algorithm_type=ionice qos_algorithm_params:sched=${sched} qos_algorithm_params:class=${String(prio)}`;
        }
        return `${disk.vdev}: sched=${sched}${prio !== undefined ? ` class=${prio}` : ''}${f.state === 'running' ? ', from the next start' : ''}`;
      },
    }),

    step('persist', {
      title: 'Keep the values for the next start',
      when(ctx) {
        const f = ctx.state.facts;
        if (!ctx.opts.persist && f.state === 'running')
          return 'no --persist: the live changes last until the domain stops';
        if (f.toolstack === 'xe' && f.state === 'halted') return 'xapi already keeps what the steps above set';
        return true;
      },
      /** @returns {Promise<PersistCheck>} */
      async check(ctx) {
        const { facts: f, want, plan } = ctx.state;
        if (f.toolstack === 'xe') {
          // xapi keeps vCPUs, memory, rates and I/O priorities as the steps above set them; the
          // scheduler's VCPUs-params it applies only when it builds the domain.
          const params = xeSchedParams(f, want, true);
          if (!params.length) return ok('xapi keeps everything asked for');
          return change(`run xe vm-param-set ${params.join(' ')}`, { data: { params } });
        }
        const changes = configChanges(f, want, plan, ctx.opts.persist);
        if (Object.keys(changes).length === 0) return ok('nothing to write');
        const edit = await planConfigEdit(ctx, f, changes);
        if (!edit.changed) return ok(`${edit.path} already says so`);
        return change(`edit ${edit.path}`, { diff: edit.diff, data: { edit } });
      },
      async apply(ctx, c) {
        const f = ctx.state.facts;
        const { params, edit } = c.data ?? {};
        if (params) {
          await ctx.$`xe vm-param-set uuid=${f.uuid} ${params}`;
          return `${params.join(' ')} (used when ${f.name} next starts)`;
        }
        if (!edit) throw fail('persist: nothing was planned');
        const backup = await ctx.applyEdit(edit);
        return `${edit.path} written${backup ? ` (backup: ${backup})` : ''}`;
      },
    }),
  ],

  finish(ctx, outcomes) {
    if (!ctx.state.hasFacts || outcomes.some((o) => o.status === 'failed' || o.status === 'declined')) return;
    const { facts: f, want, plan } = ctx.state;
    const lost = lostOnRestart(f, want, plan, outcomes);
    ctx.report.lostOnRestart = lost;
    if (lost.length) {
      ctx.log.info(
        `A restart of ${f.name} would lose: ${lost.join('; ')}. Run again with --persist to keep ${lost.length === 1 ? 'it' : 'them'}.`,
      );
    }
    if (f.toolstack === 'xl' && f.state === 'running') {
      // What an xl reboot keeps: libxl's record of the domain, not the file (xl_vmcontrol.c reload_domain_config).
      const reboot = xlRebootOutcome(f, plan, outcomes);
      ctx.report.rebootKeeps = reboot.keeps;
      if (reboot.keeps.length || reboot.restores.length) ctx.log.info(xlRebootNote(f, reboot));
    }
  },
});

export default playbook;
await playbook.run();

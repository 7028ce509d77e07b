#!/usr/bin/env node
// @ts-check
/**
 * npm run lab -- up|status|down: a throwaway Xen 4.17 host (Debian dom0) under QEMU, reached as
 * `ssh -F .lab/ssh_config xenlab`. Built from Debian packages, cached under ~/.cache/xen-runbooks/lab.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { down, missingHostTools, status, up } from 'xen-runbooks/lab';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIR = path.join(root, '.lab');

const HELP = `Usage: npm run lab -- up|status|down [options]

A throwaway Xen 4.17 host to rehearse runbooks on: Debian's hypervisor with a Debian dom0,
booted under QEMU (software emulation, no KVM needed), built from Debian packages and cached
under ~/.cache/xen-runbooks/lab (rebuilt only when the package versions change).

Commands:
  up        Build (or reuse) the lab, boot it, wait for ssh, write .lab/ssh_config.
  status    Is it running, does ssh answer, what xl info says.
  down      Stop QEMU; nothing is left running.

Options for up:
  --memory MiB              The machine's memory (default: 3072).
  --dom0-mem MiB|none       dom0's memory; none gives dom0 all of it (default: 1024).
  --sched credit|credit2    Xen's scheduler (default: credit2, Xen's own default).
  -h, --help                This help.

Then:
  ssh -F .lab/ssh_config xenlab xl info
  npx zx playbooks/xen-qos.mjs --host root@xenlab --ssh-config .lab/ssh_config ...

Exit codes: 0 done, 1 failed, 2 bad usage.`;

/** @param {string} msg */
function usage(msg) {
  process.stderr.write(`lab: ${msg}\n\n${HELP}\n`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      memory: { type: 'string' },
      'dom0-mem': { type: 'string' },
      sched: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
} catch (e) {
  usage(/** @type {Error} */ (e).message);
}
const { values, positionals } = parsed;
if (values.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const [command, ...extra] = positionals;
if (!command) usage('a command is needed: up, status or down');
if (extra.length) usage(`unexpected arguments: ${extra.join(' ')}`);

const t0 = Date.now();
/** @param {string} msg */
const progress = (msg) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${msg}\n`);

if (command === 'up') {
  const memoryMiB = values.memory === undefined ? undefined : Number(values.memory);
  if (memoryMiB !== undefined && !(Number.isInteger(memoryMiB) && memoryMiB >= 1024))
    usage(`--memory wants a whole number of MiB, at least 1024: ${values.memory}`);
  /** @type {number | 'none' | undefined} */
  let dom0MemMiB;
  if (values['dom0-mem'] === 'none') dom0MemMiB = 'none';
  else if (values['dom0-mem'] !== undefined) {
    dom0MemMiB = Number(values['dom0-mem']);
    if (!(Number.isInteger(dom0MemMiB) && dom0MemMiB >= 256))
      usage(`--dom0-mem wants MiB (at least 256) or none: ${values['dom0-mem']}`);
  }
  const sched = values.sched;
  if (sched !== undefined && sched !== 'credit' && sched !== 'credit2') usage(`--sched is credit or credit2: ${sched}`);
  const tools = missingHostTools();
  if (tools.install) {
    process.stderr.write(`lab: missing ${tools.missing.join(', ')}. Install with:\n  ${tools.install}\n`);
    process.exit(1);
  }
  try {
    const r = await up({ dir: DIR, memoryMiB, dom0MemMiB, sched, progress });
    progress(
      `ready: Xen ${r.built.manifest.versions['xen-hypervisor-4.17-amd64']}, dom0 ${r.built.manifest.kernelRelease}`,
    );
    process.stdout.write(
      `build ${r.buildSeconds.toFixed(1)} s${r.built.fresh ? '' : ' (cached)'}, boot to ssh ${r.bootSeconds.toFixed(1)} s\n` +
        `ssh -F ${path.relative(process.cwd(), r.sshConfig) || r.sshConfig} xenlab xl info\n`,
    );
  } catch (e) {
    process.stderr.write(`lab: ${/** @type {Error} */ (e).message}\n`);
    process.exit(1);
  }
} else if (command === 'status') {
  const s = await status({ dir: DIR });
  if (!s.running) {
    process.stdout.write('lab: not running\n');
    process.exit(0);
  }
  const st = s.state;
  process.stdout.write(
    `lab: running (QEMU pid ${st?.pid}, ssh 127.0.0.1:${st?.port}, ${st?.memoryMiB} MiB, sched=${st?.sched})\n`,
  );
  if (!s.reachable) process.stdout.write('ssh: not answering (yet)\n');
  else {
    const i = s.xlInfo ?? {};
    process.stdout.write(
      `xen ${i.xen_major}.${i.xen_minor}${i.xen_extra ?? ''}, scheduler ${i.xen_scheduler}, free ${i.free_memory} of ${i.total_memory} MiB, dom0 ${i.release}\n`,
    );
  }
} else if (command === 'down') {
  const was = await down({ dir: DIR });
  process.stdout.write(was ? 'lab: stopped\n' : 'lab: was not running\n');
} else usage(`unknown command: ${command}`);

/**
 * A new rate on a running xl/xm interface by detaching it and attaching it again with rate=
 * (libxl's network-attach writes `rate` into the new backend, libxl_nic.c; xend's likewise).
 */
import { fail } from '../../engine/errors.js';
import type { Context } from '../../engine/runner.js';
import type { DomainFacts, Rate, VifFacts } from '../../xen/qos.js';

/** The domain as xl and xm name it on their command line: its domid when running, else its name. */
export function domRef(f: Pick<DomainFacts, 'domid' | 'name'>): string {
  return f.domid !== undefined ? String(f.domid) : f.name;
}

/** `key=value` words for network-attach. */
const words = (params: Record<string, string>) => Object.entries(params).map(([k, v]) => `${k}=${v}`);

/** The interface's limit as a rate= it can be attached back with (bytes/s at its interval), if exact. */
export function oldRateParam(vif: VifFacts): Record<string, string> {
  const old = vif.credit;
  return old && (old.bytesPerInterval * 1_000_000) % old.intervalUs === 0
    ? { rate: `${(old.bytesPerInterval * 1_000_000) / old.intervalUs}B/s@${old.intervalUs}us` }
    : {};
}

/** The network-attach words: the interface as it is, the devid where xl takes it, the new rate. */
export function attachSpec(
  f: Pick<DomainFacts, 'guestType'>,
  vif: VifFacts,
  rate: Rate,
  withDevid: boolean,
): { spec: string[]; original: string[]; sameDevid: string[] } {
  const params: Record<string, string> = { ...vif.params };
  // A NIC hot-plugged into an HVM guest is PV only: let libxl choose (libxl_nic.c setdefault).
  if (f.guestType === 'hvm') delete params.type;
  const devid: Record<string, string> = withDevid ? { devid: String(vif.index) } : {};
  return {
    spec: words({ ...params, ...devid, rate: rate.text }),
    original: words({ ...params, ...oldRateParam(vif) }),
    sameDevid: words(devid),
  };
}

/**
 * Detach an interface and attach it again with a new rate; never leave the guest without it.
 * The devid is given only where xl takes devid= (Xen 4.9); elsewhere the interface comes back
 * under the next free devid, which is reported. If the attach with the rate fails, the interface
 * is attached back as it was (without devid, which every release takes) and its presence is
 * checked by MAC. Detach first: two interfaces with one MAC on a bridge would confuse it.
 */
export async function replug(
  ctx: Pick<Context, '$' | 'log' | 'report'>,
  f: DomainFacts,
  vif: VifFacts,
  rate: Rate,
  withDevid: boolean,
): Promise<number> {
  const tool = f.toolstack;
  const { spec, original, sameDevid } = attachSpec(f, vif, rate, withDevid);
  const present = async () => {
    const listed = await ctx.$({ nothrow: true })`${tool} network-list ${domRef(f)}`;
    const row = listed.stdout.split('\n').find((l) => l.toLowerCase().includes(vif.mac));
    return row ? Number(row.trim().split(/\s+/)[0]) : undefined;
  };
  await ctx.$`${tool} network-detach ${domRef(f)} ${String(vif.index)}`;
  const attached = await ctx.$({ nothrow: true })`${tool} network-attach ${domRef(f)} ${spec}`;
  if (attached.exitCode !== 0) {
    // Put the interface back as it was: a guest without its network is worse than no limit.
    const put = await ctx.$({ nothrow: true })`${tool} network-attach ${domRef(f)} ${[...original, ...sameDevid]}`;
    if (put.exitCode !== 0 && sameDevid.length)
      await ctx.$({ nothrow: true })`${tool} network-attach ${domRef(f)} ${original}`;
    const back = await present();
    throw fail(
      `${tool} network-attach with rate=${rate.text} failed: ${attached.stderr.trim()}; ` +
        (back !== undefined
          ? `vif ${vif.index} was attached again without the new rate${back !== vif.index ? `, as devid ${back}` : ''}`
          : `vif ${vif.index} is DETACHED, attach it by hand: ${tool} network-attach ${domRef(f)} ${original.join(' ')}`),
    );
  }
  const now = await present();
  if (now !== undefined && now !== vif.index) {
    ctx.log.warn(`vif ${vif.index} (${vif.mac}) came back as devid ${now}: this release cannot keep the devid`);
    ctx.report.vifDevid = { was: vif.index, now };
  }
  return now ?? vif.index;
}

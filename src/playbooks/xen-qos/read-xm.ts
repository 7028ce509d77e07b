/**
 * A running domain as xend sees it: `xm list --long` prints the domain as an S-expression;
 * `xm network-list` gives the devids and the backends' xenbus state.
 */
import { configVifs, parseRate, parseSxp, sxpAll, sxpGet, type DiskFacts, type VifFacts } from '../../xen/qos.js';
import type { XlConfig } from '../../xen/xlcfg.js';
import type { HostAccess } from './read-domain.js';
import type { LiveFacts } from './read-xl.js';

const MiB = 1024 ** 2;

/** The running domain NAME under xm. */
export async function readXmLive(ctx: HostAccess, name: string, cfg: XlConfig | undefined): Promise<LiveFacts> {
  const [dom = []] = parseSxp((await ctx.$`xm list --long ${name}`).stdout);
  const domid = Number(sxpGet(dom, 'domid'));
  const maxVcpus = Number(sxpGet(dom, 'vcpus'));
  const avail = sxpGet(dom, 'vcpu_avail');
  const online =
    sxpGet(dom, 'online_vcpus') ?? (avail ? String(Number(avail).toString(2).replace(/0/g, '').length) : undefined);
  const fromConfig = cfg ? configVifs(cfg, 'xm') : [];
  const devices = sxpAll(dom, 'device').map((d) => d[1]);
  const vifs: VifFacts[] = [];
  const disks: DiskFacts[] = [];
  for (const d of devices) {
    if (!Array.isArray(d)) continue;
    if (d[0] === 'vif') {
      const mac = (sxpGet(d, 'mac') ?? '').toLowerCase();
      const rate = sxpGet(d, 'rate');
      const index = vifs.length;
      const known = fromConfig.find((v) => v.mac === mac);
      const credit = rate ? parseRate(rate) : undefined;
      const bridge = sxpGet(d, 'bridge');
      const type = sxpGet(d, 'type');
      const script = sxpGet(d, 'script');
      vifs.push({
        index,
        mac,
        credit: credit ? { bytesPerInterval: credit.bytesPerInterval, intervalUs: credit.intervalUs } : undefined,
        params: {
          ...(known?.params ?? {
            ...(bridge ? { bridge } : {}),
            ...(type ? { type } : {}),
            ...(script ? { script } : {}),
          }),
          mac: known?.params?.mac ?? mac,
        },
      });
    } else if (d[0] === 'vbd' || d[0] === 'tap' || d[0] === 'tap2') {
      const dev = (sxpGet(d, 'dev') ?? '').replace(/:(disk|cdrom)$/, '');
      if (dev) disks.push({ vdev: dev });
    }
  }
  // xend's devids and the xenbus state (4: the guest's netfront connected; 1 until then): `xm network-list`,
  // which prints the frontend's keys (xm/main.py xm_network_list → DevController.sxprs, RELEASE-4.1.0).
  const listed = await ctx.$({ nothrow: true })`xm network-list ${name}`;
  for (const line of listed.exitCode === 0 ? listed.stdout.split('\n').slice(1) : []) {
    const cols = line.trim().split(/\s+/);
    const vif = vifs.find((v) => v.mac === (cols[2] ?? '').toLowerCase());
    if (!vif || !/^\d+$/.test(cols[0] ?? '') || !/^\d+$/.test(cols[4] ?? '')) continue;
    vif.index = Number(cols[0]);
    vif.backendState = Number(cols[4]);
  }
  const image = sxpAll(dom, 'image')[0]?.[1];
  return {
    domid,
    guestType: Array.isArray(image) && image[0] === 'hvm' ? 'hvm' : 'pv',
    vcpus: Number(online ?? maxVcpus),
    maxVcpus,
    memory: Number(sxpGet(dom, 'memory')) * MiB,
    maxMemory: Number(sxpGet(dom, 'maxmem')) * MiB,
    vifs,
    disks,
  };
}

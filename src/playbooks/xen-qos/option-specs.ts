/**
 * xen-qos's options, declared once: parsing, --help, the checks before the first step and the
 * options table on the runbook page all read them.
 */
import type { OptionSpecs } from '../../engine/index.js';

const MiB = 1024 ** 2;

export const OPTIONS = {
  toolstack: {
    type: 'enum',
    choices: ['xl', 'xe', 'xm'],
    description:
      'The toolstack that manages the domain. Default: xe when /etc/xensource-inventory exists (XCP-ng, XenServer), else xl, else xm.',
  },
  config: {
    type: 'string',
    placeholder: 'FILE',
    file: 'xl-config',
    description:
      'xl, xm: the domain configuration file. Default: /etc/xen/DOMAIN.cfg or /etc/xen/DOMAIN (xm also /OVS/running_pool/DOMAIN/vm.cfg).',
  },
  'cpu-weight': {
    type: 'string',
    placeholder: 'W',
    description:
      'CPU weight, 1 to 65535 (default 256), or Oracle VM’s High (100), Intermediate (50), Low (1): the share of CPU time under contention.',
  },
  'cpu-cap': {
    type: 'integer',
    placeholder: 'PERCENT',
    description:
      'CPU cap in percent of one physical CPU: 0 for none, 100 for one CPU, at most 100 × the host’s CPUs. Holds even when the host is idle.',
  },
  vcpus: {
    type: 'integer',
    min: 1,
    description: 'vCPUs: live from 1 to the boot maximum; above it only with --persist, for the next start.',
  },
  memory: {
    type: 'size',
    defaultUnit: 'M',
    min: MiB,
    description:
      'Memory target, in whole MiB: live up to the boot maximum (maxmem); above it only with --persist, for the next start.',
  },
  rate: {
    type: 'string',
    placeholder: 'RATE',
    description:
      'Outbound rate limit of a network interface: NUMBER(GB|MB|KB|B|Gb|Mb|Kb|b)/s[@NUMBER(s|ms|us)], e.g. 8Mb/s@50ms.',
  },
  'inbound-rate': {
    type: 'string',
    placeholder: 'RATE',
    description: 'xm / Oracle VM only: inbound rate limit (vif_other_config, tc tbf), same syntax as --rate.',
  },
  vif: {
    type: 'integer',
    placeholder: 'N',
    description:
      'The network interface for --rate: its device number (vif N, ethN in most guests). Default: the only one.',
  },
  'io-priority': {
    type: 'integer',
    placeholder: '0-7',
    description: 'Disk I/O priority, 0 (highest) to 7, within the --io-class.',
  },
  'io-class': {
    type: 'enum',
    choices: ['rt', 'be', 'idle'],
    description:
      'I/O scheduling class: rt (real-time), be (best-effort, the default), idle (only when the disk is otherwise unused).',
  },
  disk: {
    type: 'string',
    placeholder: 'VDEV',
    pattern: /^[a-z0-9]{1,16}$/,
    patternHint: 'a virtual disk such as xvda, hda, sda, or its number',
    description: 'The disk for --io-priority, e.g. xvda (xe: also its userdevice number). Default: the only one.',
  },
  persist: {
    type: 'boolean',
    description:
      'Also keep the values for the next start: the configuration file (xl, xm, with a .orig backup) or xapi (xe).',
  },
  'no-replug': {
    type: 'boolean',
    description: 'Never unplug a network interface: a new rate then waits for the next start (with --persist).',
  },
} as const satisfies OptionSpecs;

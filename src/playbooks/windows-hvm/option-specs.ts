/**
 * windows-hvm's options, declared once: parsing, --help, the checks before the first step (a file's
 * kind, an address, bounds) and the options table on the runbook page all read them.
 */
import type { OptionSpecs } from '../../engine/index.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

export const OPTIONS = {
  name: {
    type: 'string',
    required: true,
    placeholder: 'NAME',
    pattern: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/,
    patternHint: 'letters, digits, dot, dash and underscore, up to 64 (it becomes a file name and the domain name)',
    description: 'Name of the guest: the domain name, and the configuration file NAME.cfg.',
  },
  iso: {
    type: 'string',
    placeholder: 'FILE',
    file: 'iso',
    description: 'The Windows installation ISO, put in the CD drive (not needed with --installed).',
  },
  disk: {
    type: 'string',
    required: true,
    placeholder: 'FILE|DEVICE',
    file: 'disk-target',
    description:
      'The guest disk: an image file (created as a sparse raw image when missing, see --disk-size) or an existing logical volume or block device.',
  },
  'disk-size': {
    type: 'size',
    defaultUnit: 'G',
    min: GiB,
    // ext4's largest file with 4 KiB blocks (Documentation/filesystems/ext4/overview.rst, "Size limits").
    max: 16 * 1024 * GiB,
    description:
      'Size of the image to create when --disk does not exist yet (Windows 7 needs 16G at least; 40G leaves room).',
  },
  memory: {
    type: 'size',
    defaultUnit: 'M',
    min: 512 * MiB,
    default: '4G',
    description: 'Memory of the guest; also its maximum (maxmem) unless --pv-drivers and --max-memory say otherwise.',
  },
  'max-memory': {
    type: 'size',
    defaultUnit: 'M',
    description: 'With --pv-drivers: the maximum the balloon driver may give the guest (maxmem), above --memory.',
  },
  vcpus: { type: 'integer', min: 1, max: 128, default: 2, description: 'Virtual CPUs.' },
  bridge: {
    type: 'string',
    default: 'xenbr0',
    pattern: /^[A-Za-z0-9_.-]{1,15}$/,
    patternHint: 'a network interface name',
    description: 'The dom0 bridge the guest NIC is plugged into.',
  },
  mac: {
    type: 'mac',
    description:
      'MAC address of the NIC, unicast (default: the one in an existing file, else a new 00:16:3e:xx:xx:xx).',
  },
  'vnc-listen': {
    type: 'string',
    default: '127.0.0.1',
    placeholder: 'ADDRESS',
    address: 'ip',
    description: 'Address the VNC console listens on. The default keeps it on dom0: reach it through an ssh tunnel.',
  },
  'vnc-display': {
    type: 'integer',
    min: 0,
    max: 99,
    description: 'VNC display number (port 5900 + N); default: the first free one when the guest starts.',
  },
  'vnc-password-file': {
    type: 'string',
    placeholder: 'FILE',
    file: 'secret',
    description:
      'File holding the VNC password (first line; VNC uses 8 characters). Required when VNC listens beyond localhost.',
  },
  toolstack: {
    type: 'enum',
    choices: ['xl', 'xm'],
    default: 'xl',
    description: 'xl (Xen 4.1 and later) or xm for xend (Xen 3.x, 4.0 to 4.4): the legacy configuration form.',
  },
  'config-dir': {
    type: 'string',
    default: '/etc/xen',
    placeholder: 'DIR',
    file: 'dir',
    description: 'Where NAME.cfg is written.',
  },
  start: { type: 'boolean', description: 'Create the domain when everything is in place (xl create / xm create).' },
  'pv-drivers': {
    type: 'boolean',
    description: 'The guest has Xen PV drivers with a balloon driver: allows --max-memory above --memory.',
  },
  installed: {
    type: 'boolean',
    description:
      'Windows is installed: boot from the disk (boot = "c"); the CD drive keeps --iso if given, else is left empty.',
  },
  force: { type: 'boolean', description: 'Use a --disk that already holds a partition table or data.' },
} as const satisfies OptionSpecs;

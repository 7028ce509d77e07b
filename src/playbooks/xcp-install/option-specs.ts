/**
 * xcp-install's options, declared once: parsing, --help, the checks before the first step (a file's
 * kind, an address, a pattern) and the options table on the runbook page all read them.
 */
import type { OptionSpecs } from '../../engine/index.js';

export const OPTIONS = {
  'sr-device': {
    type: 'string',
    placeholder: 'DEVICE',
    description:
      'Block device for the local storage repository, best a stable /dev/disk/by-id/… path. Whatever it holds is lost.',
  },
  'sr-type': {
    type: 'enum',
    choices: ['lvm', 'ext', 'nfs'],
    default: 'lvm',
    description:
      'lvm (thick, LVM volumes), ext (thin, VHD files on ext3) or nfs (shared). When lvm is missing and this option was not given, ext is used.',
  },
  'sr-name': {
    type: 'string',
    placeholder: 'NAME',
    default: 'Local storage',
    description: 'Name of the storage repository (the VM is installed on it by uuid, never by this name).',
  },
  'nfs-server': {
    type: 'string',
    placeholder: 'HOST',
    address: 'host',
    description: 'NFS server, with --sr-type nfs.',
  },
  'nfs-path': {
    type: 'string',
    placeholder: 'PATH',
    pattern: /^\/[^\s,:]*$/,
    patternHint: 'an absolute path on the NFS server, e.g. /export/vms',
    maxLength: 4095,
    description: 'Exported directory, with --sr-type nfs (e.g. /export/vms).',
  },
  force: {
    type: 'boolean',
    description:
      'Use --sr-device although it holds a partition table, a filesystem or an LVM label (never when it is mounted or in use).',
  },
  'join-pool': {
    type: 'string',
    placeholder: 'MASTER',
    address: 'host',
    description: 'Join the pool whose master has this address (xe pool-join) before storage and VM are set up.',
  },
  'pool-user': { type: 'string', placeholder: 'USER', default: 'root', description: 'User name on the pool master.' },
  'pool-password-file': {
    type: 'string',
    placeholder: 'FILE',
    file: 'secret',
    local: true,
    description:
      "File holding the pool master's password (- reads standard input). Without it the password is asked on the terminal; it is never an option value.",
  },
  'vm-name': { type: 'string', placeholder: 'NAME', description: 'Create (or find) and start a VM with this name.' },
  template: {
    type: 'string',
    placeholder: 'NAME',
    default: 'CentOS 5 (64-bit)',
    description: 'Template the VM is installed from (xe template-list params=name-label).',
  },
  'install-repository': {
    type: 'string',
    placeholder: 'URL',
    pattern: /^(?:https?|ftp|nfs):\/\/[^\s]+$/,
    patternHint: 'an http://, https://, ftp:// or nfs:// URL',
    maxLength: 2048,
    description:
      "Installer repository for the VM (other-config:install-repository), e.g. a distribution's os/x86_64 URL.",
  },
  'network-bridge': {
    type: 'string',
    placeholder: 'BRIDGE',
    default: 'xenbr0',
    description: 'Bridge of the network the VM is attached to.',
  },
  memory: {
    type: 'size',
    defaultUnit: 'M',
    min: 128 * 1024 ** 2,
    max: 1024 ** 4,
    description: 'Memory of the VM (its static and dynamic maximum), e.g. 1G.',
  },
  vcpus: { type: 'integer', min: 1, max: 64, description: 'Virtual CPUs of the VM.' },
} as const satisfies OptionSpecs;

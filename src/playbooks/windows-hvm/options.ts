/** windows-hvm's options checked together, before any step: paths, memory, the VNC console and its password. */
import { formatSize, readSecretFile, usage, type Logger, type Transport } from '../../engine/index.js';
import { statFollow } from './host.js';

const MiB = 1024 ** 2;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** The options these checks read (windows-hvm's, as parsed). */
export interface CheckedOptions {
  disk: string;
  iso?: string | undefined;
  'config-dir': string;
  'vnc-password-file'?: string | undefined;
  'vnc-listen': string;
  'disk-size'?: number | undefined;
  memory: number;
  'max-memory'?: number | undefined;
  'pv-drivers': boolean;
  installed: boolean;
}

/** VNC listening on the loopback only: reached through an ssh tunnel, no password needed. */
export function isLocalListen(listen: string): boolean {
  return listen.startsWith('127.') || listen === '::1';
}

/**
 * Every check of the options but the password, in the order the administrator reads the errors:
 * absolute paths, the ISO, memory (whole MiB; maxmem above memory only with PV drivers), the
 * disk size (for an image only), the VNC address.
 */
export async function checkOptions(o: CheckedOptions, host: Transport): Promise<void> {
  for (const opt of ['disk', 'iso', 'config-dir', 'vnc-password-file'] as const) {
    const v = o[opt];
    if (v !== undefined && !v.startsWith('/')) throw usage(`--${opt} ${v}: give an absolute path`);
  }
  if (o.iso === undefined && !o.installed) {
    throw usage('--iso is required to install Windows (or give --installed once it is installed)');
  }
  if (o.iso !== undefined) {
    const iso = await statFollow(host, o.iso);
    if (!iso.stat) throw usage(`--iso ${o.iso}: no such file`);
    if (iso.stat.type !== 'file' && iso.stat.type !== 'other') throw usage(`--iso ${o.iso} is not a file`);
  }
  const memory = o.memory;
  if (memory % MiB !== 0) throw usage(`--memory ${formatSize(memory)}: give a whole number of MiB`);
  const max = o['max-memory'];
  if (max !== undefined) {
    if (!o['pv-drivers']) {
      throw usage(
        '--max-memory needs --pv-drivers: without a balloon driver in the guest, memory must equal maxmem',
        'a guest started below its maximum is populated on demand; Windows touches all its memory at boot and reboots in a loop',
      );
    }
    if (max % MiB !== 0) throw usage('--max-memory: give a whole number of MiB');
    if (max < memory) throw usage(`--max-memory ${formatSize(max)} is below --memory ${formatSize(memory)}`);
  }
  if (o['disk-size'] !== undefined && o.disk.startsWith('/dev/')) {
    throw usage(`--disk-size goes with an image file; ${o.disk} is a device (create the LV with lvcreate)`);
  }
  const listen = o['vnc-listen'];
  if (!IPV4.test(listen) && !/^[0-9a-fA-F:]+$/.test(listen)) {
    throw usage(`--vnc-listen ${listen}: give an IP address (127.0.0.1, 0.0.0.0, or an address of dom0)`);
  }
}

/**
 * The VNC password: the first line of the file, read on the host, never passed as an argument
 * (it would show in ps and in shell history). VNC uses its first 8 characters.
 */
export async function readVncPassword(file: string, host: Transport, log: Logger): Promise<string> {
  const text = await readSecretFile(file, '--vnc-password-file', (f, max) => host.readSecret(f, max));
  const password = text.split('\n')[0]?.replace(/\r$/, '') ?? '';
  if (password === '') throw usage(`--vnc-password-file ${file}: the first line is empty`);
  if (/[\x00-\x1f\x7f]/.test(password)) throw usage(`--vnc-password-file ${file}: control characters in the password`);
  if (password.length > 8) log.warn(`the VNC password has ${password.length} characters; VNC uses only the first 8`);
  return password;
}

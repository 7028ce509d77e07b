/** The guest windows-hvm writes: its configuration file, its VNC display, and the HvmGuest the options describe. */
import path from 'node:path';
import { maskPasswords, type HvmGuest } from '../../xen/hvmconfig.js';
import type { WindowsHvmState } from './state.js';

const MiB = 1024 ** 2;

/** The options the guest is made of (windows-hvm's, as parsed). */
export interface GuestOptions {
  name: string;
  'config-dir': string;
  memory: number;
  'max-memory'?: number | undefined;
  vcpus: number;
  disk: string;
  iso?: string | undefined;
  bridge: string;
  'vnc-listen': string;
  'vnc-display'?: number | undefined;
  installed: boolean;
}

/** CONFIG-DIR/NAME.cfg. */
export function configFile(o: Pick<GuestOptions, 'name' | 'config-dir'>): string {
  return path.posix.join(o['config-dir'], `${o.name}.cfg`);
}

/** The VNC display: --vnc-display, else the one the existing file fixes, else none (the first free one). */
export function vncDisplay(o: Pick<GuestOptions, 'vnc-display'>, state: WindowsHvmState): number | undefined {
  return o['vnc-display'] ?? state.existingVncDisplay;
}

/** The guest as the options, the existing file and the host describe it. Memory in MiB; maxmem = memory unless given. */
export function guestOf(o: GuestOptions, state: WindowsHvmState): HvmGuest {
  const memory = Math.floor(o.memory / MiB);
  return {
    name: o.name,
    memory,
    maxmem: o['max-memory'] !== undefined ? Math.floor(o['max-memory'] / MiB) : memory,
    vcpus: o.vcpus,
    disk: o.disk,
    diskIsBlockDevice: state.diskIsBlockDevice,
    iso: o.iso,
    bridge: o.bridge,
    mac: state.mac ?? '',
    vncListen: o['vnc-listen'],
    vncDisplay: vncDisplay(o, state),
    vncPassword: state.vncPassword,
    boot: o.installed ? 'c' : 'dc',
    ...(state.deviceModel ? { deviceModel: state.deviceModel } : {}),
  };
}

/** A diff of the configuration as it may be shown: vncpasswd values masked, and the password itself wherever it appears. */
export function withoutPassword(diff: string, password: string | undefined): string {
  const masked = maskPasswords(diff);
  return password ? masked.split(password).join('********') : masked;
}

/**
 * What the xcp-install playbook's steps share, and the options they read: one run's state, typed once.
 */
import type { CommandFn, Logger } from '../../engine/runner.js';
import type { Transport } from '../../engine/transport.js';
import type { Platform } from './platform.js';
import type { Pool } from './xapi.js';
import type { StoragePlan } from './storage.js';
import type { VmPlan } from './vm.js';

/** The playbook's option values (the declaration lives in the playbook). */
export interface XcpOptions {
  'sr-device'?: string | undefined;
  'sr-type': 'lvm' | 'ext' | 'nfs';
  'sr-name': string;
  'nfs-server'?: string | undefined;
  'nfs-path'?: string | undefined;
  force: boolean;
  'join-pool'?: string | undefined;
  'pool-user': string;
  'pool-password-file'?: string | undefined;
  'vm-name'?: string | undefined;
  template: string;
  'install-repository'?: string | undefined;
  'network-bridge': string;
  memory?: number | undefined;
  vcpus?: number | undefined;
}

/** What one step found and the next ones use. */
export interface State {
  /** What runs here: set by detect-platform. */
  platform?: Platform;
  /** Does xapi answer (xe host-list)? */
  xapi: boolean;
  /** This host's uuid and name, and its pool, once xapi answers. */
  host?: string;
  hostName?: string;
  pool?: Pool;
  /** What the preflight decided, reused by the steps unless a pool join came in between. */
  storagePlan?: StoragePlan;
  vmPlan?: VmPlan;
  /** The XCP packages are still to be installed by this (dry) run. */
  packagesPending: boolean;
  /** The Xen version of the boot entry chosen (legacy hosts: where xenconsole lives). */
  xenVersion?: string;
  /** Read from --pool-password-file by validate. */
  poolPassword?: string;
  sr?: string;
  network?: string;
  vm?: string;
  domid?: string;
}

/** What the machinery sees of a step's context: commands, files, options, state. */
export interface XcpContext {
  readonly $: CommandFn;
  readonly host: Transport;
  readonly opts: XcpOptions;
  readonly given: ReadonlySet<string>;
  readonly state: State;
  readonly log: Logger;
}

/** What the steps of xen-upgrade-check find, passed from one to the next. */
import type { Hosts } from './boot.js';
import type { GuestWork } from './check-guest.js';
import type { ConfigFile, XapiVm } from './guests.js';
import type { Target } from './target.js';
import type { GuestRecord } from './verdict.js';

export class UpgradeState {
  private _target: Target | undefined;
  private _hosts: Hosts | undefined;
  files: ConfigFile[] = [];
  vms: XapiVm[] = [];
  guests: GuestWork[] = [];
  /** xapi VMs, judged from their records. */
  xapi: GuestRecord[] = [];

  set target(t: Target) {
    this._target = t;
  }
  get target(): Target {
    if (!this._target) throw new Error('the target is read by step read-target first');
    return this._target;
  }
  set hosts(h: Hosts) {
    this._hosts = h;
  }
  get hosts(): Hosts {
    if (!this._hosts) throw new Error('the hosts are set by step read-target first');
    return this._hosts;
  }
  /** Every guest's record, config files first. */
  records(): GuestRecord[] {
    return [...this.guests.map((g) => g.record), ...this.xapi];
  }
}

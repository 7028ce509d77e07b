/** The diagnosis as pygrub-fix weighs it: what the chosen strategy fixes, what blocks it, and how it is said. */
import {
  entry,
  groupRange,
  readsMenuLstFirst,
  strategyNeeds,
  versionLabel,
  type Finding,
  type Strategy,
  type XenVersion,
} from '../../grub/index.js';

/** The release the diagnosis is made for, as the --json report gives it. */
export function xenReport(version: XenVersion) {
  return {
    given: version.text,
    release: version.release,
    group: version.group.id,
    releases: groupRange(version.group),
    offsetOption: version.group.options.includes('offset'),
  };
}

export function line(x: Finding): string {
  return `    ${x.severity === 'error' ? '✗' : '!'} [${x.id}] ${x.message}`;
}

/** Errors the strategy cannot fix. activate and offset run the rewrite too, for what the config needs besides. */
export function blocking(findings: readonly Finding[], strategy: Strategy): Finding[] {
  const resolves = (x: Finding) =>
    x.strategies.includes(strategy) || (strategy !== 'pvgrub' && x.strategies.includes('rewrite'));
  return findings.filter((x) => x.severity === 'error' && !resolves(x));
}

/** Every strategy some finding names, with what it needs: the --json report's waysOut. */
export function waysOut(findings: readonly Finding[]): { strategy: Strategy; needs: string }[] {
  return [...new Set(findings.flatMap((x) => x.strategies))].map((w) => ({ strategy: w, needs: strategyNeeds(w) }));
}

/** Why the run stops: each blocking cause once, with its fix and the strategies that resolve it here. */
export function cannotFix(blocking: readonly Finding[], strategy: Strategy): string {
  const ways = [...new Set(blocking.map((x) => x.id))]
    .map((id) => {
      const here = blocking.find((x) => x.id === id)?.strategies ?? [];
      const use = here.length ? ` (here: ${here.map((w) => `--strategy ${w}, ${strategyNeeds(w)}`).join('; ')})` : '';
      return `  [${id}] ${entry(id).fix}${use}`;
    })
    .join('\n');
  const n = blocking.length;
  return `${n} problem${n === 1 ? '' : 's'} that --strategy ${strategy} cannot fix; nothing was changed. Ways out:\n${ways}`;
}

/** The diagnosis in one line: the entries pygrub reads, or how many problems and warnings. */
export function summary(findings: readonly Finding[], entries: number, version: XenVersion): string {
  const errors = findings.filter((x) => x.severity === 'error').length;
  const warnings = findings.length - errors;
  if (!findings.length) return `the pygrub of ${versionLabel(version)} reads this image: ${entries} entries`;
  return `${errors} problem${errors === 1 ? '' : 's'} for pygrub of ${versionLabel(version)}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
}

/** The release's pygrub does not reach /boot, and the active flag would make it: the diagnosis says so. */
export function activationNeeded(findings: readonly Finding[]): boolean {
  return findings.some(
    (x) => (x.id === 'boot-not-tried' || x.id === 'partition-raises') && x.strategies.includes('activate'),
  );
}

/** After a rewrite: the guest's next update-grub undoes it, and what lasts instead. */
export function durableWaysOut(version?: XenVersion): string {
  const menuLst =
    version && readsMenuLstFirst(version)
      ? `, or a hand-written GRUB legacy /boot/grub/menu.lst (/grub/menu.lst on a separate /boot): the pygrub of ${versionLabel(version)} reads it before grub.cfg, and update-grub leaves it alone`
      : '';
  return (
    "the guest's next update-grub (every kernel update runs it) writes (hd0,msdos1) again. Durable ways out: boot through pv-grub " +
    `(--strategy pvgrub), upgrade the host (msdos names: ${entry('grub2-partition-name').xen}; submenus: ${entry('grub2-submenu').xen}; ` +
    `\${saved_entry}/\${next_entry}: ${entry('grub2-default-variable').xen} fail), or change the guest: GRUB_DEFAULT=0 in /etc/default/grub, ` +
    `a custom script in /etc/grub.d that writes legacy names${menuLst}.`
  );
}

/**
 * What pygrub-fix runs on a host over ssh, checked before anything else: a host that lacks one
 * is bad input (exit 2) naming the tool and its package, not a failure half-way.
 *
 * Besides POSIX sh, stat -c, dd, cat, cut, mktemp, mv and rm (GNU coreutils and BusyBox both
 * have them), it needs e2fsprogs (debugfs, e2fsck; e2undo to write), util-linux's flock (its
 * -w and -E options; BusyBox's flock has neither, Debian's BusyBox 1.35 has no flock at all),
 * GNU coreutils' stdbuf to write (debugfs's output must be line-buffered through a pipe; BusyBox
 * has no stdbuf), and util-linux's sfdisk for --strategy activate.
 */
import { usage } from '../../engine/index.js';
import { isRemote, type DiskHost } from '../../disk/index.js';

const PACKAGE: Record<string, string> = {
  debugfs: 'e2fsprogs',
  e2fsck: 'e2fsprogs',
  e2undo: 'e2fsprogs',
  flock: 'util-linux',
  sfdisk: 'util-linux',
  stdbuf: 'GNU coreutils',
};

/** The tools a run needs on the host. */
export function remoteTools(o: { write: boolean; activate: boolean }): string[] {
  return [
    ...['sh', 'stat', 'dd', 'cat', 'cut', 'mktemp', 'mv', 'rm', 'flock', 'debugfs', 'e2fsck'],
    ...(o.write ? ['stdbuf', 'e2undo', 'sync'] : []),
    ...(o.activate && o.write ? ['sfdisk'] : []),
  ];
}

/**
 * Each tool missing on the host, and a flock that is not util-linux's, in one round trip.
 * `command -v` finds it on the remote PATH, as the commands will.
 */
const SCRIPT = [
  'for t; do command -v "$t" >/dev/null 2>&1 || echo "missing $t"; done',
  'if command -v flock >/dev/null 2>&1; then flock -V 2>&1 | grep -q util-linux || echo "foreign flock"; fi',
].join('\n');

export async function checkRemoteTools(host: DiskHost, tools: readonly string[]): Promise<void> {
  const r = await host.exec(['sh', '-c', SCRIPT, 'sh', ...tools], { nothrow: true });
  const missing = [...r.stdout.matchAll(/^missing (\S+)$/gm)].map((m) => m[1] as string);
  const problems = missing.map((t) => `${t}${PACKAGE[t] ? ` (${PACKAGE[t]})` : ''}`);
  if (/^foreign flock$/m.test(r.stdout)) problems.push("util-linux's flock (the host's flock has no -w and -E)");
  if (problems.length)
    throw usage(
      `${host.label} lacks what pygrub-fix runs there: ${problems.join(', ')}`,
      `install ${[...new Set(missing.map((t) => PACKAGE[t] ?? t).concat(/^foreign flock$/m.test(r.stdout) ? ['util-linux'] : []))].join(', ')} on the host, or run the playbook where the image is`,
    );
}

/**
 * Over ssh, before anything runs there (nothing to check on this machine or under --root): the image is an absolute path on the host, the backend is
 * debugfs (a mount would be on the host, beyond this process's reach), and the host has the tools.
 */
export async function checkSshRun(
  host: DiskHost,
  o: { image: string; backend: string; strategy: string; write: boolean },
): Promise<void> {
  if (!isRemote(host)) return;
  if (!o.image.startsWith('/'))
    throw usage(`IMAGE ${o.image}: with --host, give the image's absolute path on the host`);
  if (o.backend === 'mount')
    throw usage('--backend mount runs only on the host itself: with --host, the image is read by debugfs');
  await checkRemoteTools(host, remoteTools({ write: o.write, activate: o.strategy === 'activate' }));
}

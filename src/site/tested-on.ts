/**
 * What a runbook's playbook is proven against, read at build time from the suite itself: which
 * test files run the playbook (or the model it decides with), and what those files run it on —
 * the lab's real Xen (src/lab/packages.ts), the pygrub of every release the oracle recorded
 * (src/grub/pygrub-releases.ts, generated from test/fixtures/oracle/pygrub/results.json), Xen's
 * own pygrub, and the xe / xl / xm simulators at the releases the tests seed them with
 * (test/sim/xe.mjs ERA_TAGS). Nothing here is a hand-written list of releases: an environment
 * shows only when a test file that exercises it exists, and its releases come from the data.
 * And when the page was last checked: the page file's last commit, or its file date without git.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { PYGRUB_GROUPS } from '../grub/pygrub-releases.js';
import { DOWNLOADED } from '../lab/packages.js';
import { REPO_ROOT } from './playbooks.js';

export interface Proven {
  /** What it ran on, for people: "Xen 4.17, a real hypervisor …". */
  label: string;
  /** How, in a few words. */
  how: string;
  /** The test files that prove it (repository paths). */
  files: string[];
}

/** The test folder of each playbook's own tests. */
const TEST_FOLDER: Record<string, string> = {
  'pygrub-fix': 'test/pygrub',
  'xcp-install': 'test/xcp',
  'windows-hvm': 'test/windows',
  'xen-qos': 'test/qos',
  'xen-upgrade-check': 'test/upgrade',
};

function testFiles(root: string, dir: string): string[] {
  const abs = path.join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs)
    .filter((f) => /\.test\.ts$/.test(f))
    .sort()
    .map((f) => `${dir}/${f}`);
}

const read = (root: string, file: string) => readFileSync(path.join(root, file), 'utf8');

/** The Xen release the lab boots: its hypervisor package, `xen-hypervisor-4.17-amd64`. */
export function labXen(): string {
  const pkg = DOWNLOADED.find((p) => p.startsWith('xen-hypervisor-')) ?? '';
  const m = /^xen-hypervisor-(\d+\.\d+)-/.exec(pkg);
  if (!m?.[1]) throw new Error(`the lab's hypervisor package names no release: ${pkg}`);
  return m[1];
}

/** The xapi tag each simulated xe era follows (test/sim/xe.mjs ERA_TAGS), read from its source. */
export function xeEras(root = REPO_ROOT): Record<string, string> {
  const text = read(root, 'test/sim/xe.mjs');
  const m = /export const ERA_TAGS = \{([^}]*)\}/.exec(text);
  if (!m?.[1]) throw new Error('test/sim/xe.mjs has no ERA_TAGS');
  const eras: Record<string, string> = {};
  for (const e of m[1].matchAll(/'?([\w.-]+)'?\s*:\s*'([^']+)'/g)) eras[e[1] as string] = e[2] as string;
  return eras;
}

const ERA_NAME: Record<string, string> = { 'xcp-1.5': 'XCP 1.5', '8.2': 'XCP-ng 8.2', '8.3': 'XCP-ng 8.3' };

/** Which xe era a test file seeds the simulator with. */
function erasIn(text: string): string[] {
  const found: string[] = [];
  if (/release: '8\.3'/.test(text)) found.push('8.3');
  if (/flavour: 'legacy'/.test(text) || /hostTree\('ubuntu-12\.04/.test(text)) found.push('xcp-1.5');
  // The simulator answers as XCP-ng 8.2 unless a release is seeded.
  if (/seedXe\((?![^)\n]*(legacy|release))/.test(text) || /hostTree\('xcp-ng-8\.2'/.test(text)) found.push('8.2');
  return found;
}

/** The Xen releases a test file has the xl simulator answer as (4.17 unless seeded otherwise). */
function xlReleasesIn(text: string): number[] {
  if (!/seedXl\(|xen_minor|\bhost\(\{/.test(text)) return [];
  const minors = new Set<number>();
  for (const m of text.matchAll(/xen_minor: (\d+)|\bat\((\d+),/g)) minors.add(Number(m[1] ?? m[2]));
  if (/seedXl\(/.test(text)) minors.add(17);
  return [...minors].sort((a, b) => a - b);
}

const versionsText = (minors: number[]) => minors.map((m) => `4.${m}`).join(', ');

/** Every environment the suite proves the playbook against, each with its test files. */
export function testedOn(playbook: string, root = REPO_ROOT): Proven[] {
  const own = testFiles(root, TEST_FOLDER[playbook] ?? `test/${playbook}`);
  const lab = testFiles(root, 'test/lab').filter((f) => read(root, f).includes(playbook));
  const out: Proven[] = [];
  if (lab.length) {
    out.push({
      label: `Xen ${labXen()}`,
      how: 'a real hypervisor with a Debian dom0, booted under QEMU (the lab)',
      files: lab,
    });
  }
  const texts = own.map((f) => ({ f, text: read(root, f) }));
  const oracle = texts.filter((t) => /oracle-data\.js|oracles\.js/.test(t.text)).map((t) => t.f);
  if (oracle.length) {
    const releases = PYGRUB_GROUPS.flatMap((g) => g.releases);
    out.push({
      label: `pygrub of Xen ${releases[0]} – ${releases.at(-1)}`,
      how: `what each of ${releases.length} releases' own, unmodified pygrub did with a corpus of configs and partition tables (${PYGRUB_GROUPS.length} groups of identical code)`,
      files: oracle,
    });
  }
  const realPygrub = texts.filter((t) => /pygrubList|tool\('pygrub'\)/.test(t.text)).map((t) => t.f);
  if (realPygrub.length) {
    out.push({
      label: `Xen ${labXen()}'s own pygrub`,
      how: `Debian's xen-utils-${labXen()}: it must list the kernel after every fix`,
      files: realPygrub,
    });
  }
  const eras = xeEras(root);
  for (const era of ['8.3', '8.2', 'xcp-1.5']) {
    const files = texts.filter((t) => erasIn(t.text).includes(era)).map((t) => t.f);
    if (!files.length) continue;
    out.push({
      label: `${ERA_NAME[era] ?? era} (xe)`,
      how: `simulated from xapi ${eras[era] ?? '?'}'s own code and messages`,
      files,
    });
  }
  const xl = texts.map((t) => ({ f: t.f, minors: xlReleasesIn(t.text) })).filter((t) => t.minors.length);
  if (xl.length) {
    const minors = [...new Set(xl.flatMap((t) => t.minors))].sort((a, b) => a - b);
    out.push({
      label: `xl of Xen ${versionsText(minors)}`,
      how: "simulated where a release's xl differs, from xl's and libxl's sources",
      files: xl.map((t) => t.f),
    });
  }
  const xm = texts.filter((t) => /xend: true|toolstack', 'xm'|'--toolstack', 'xm'/.test(t.text)).map((t) => t.f);
  if (xm.length) out.push({ label: 'xm (xend)', how: 'simulated from xend’s behaviour', files: xm });
  return out;
}

export interface Checked {
  /** YYYY-MM-DD. */
  date: string;
  /** Where the date comes from. */
  source: 'git' | 'file';
}

/** When the page was last changed: its file's last commit, or the file's date where there is no git history. */
export function lastChecked(file: string, root = REPO_ROOT): Checked {
  try {
    const out = execFileSync('git', ['log', '-1', '--format=%cs', '--', file], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    if (/^\d{4}-\d{2}-\d{2}$/.test(out)) return { date: out, source: 'git' };
  } catch {
    // no git, or not a repository: the file's date below
  }
  return { date: statSync(path.join(root, file)).mtime.toISOString().slice(0, 10), source: 'file' };
}

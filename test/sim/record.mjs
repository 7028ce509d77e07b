// @ts-check
/**
 * Recording stand-ins for commands that would change the machine: apt-get, add-apt-repository,
 * update-rc.d, update-grub, pvcreate. Each call appends {"cmd", "argv"} to $XR_SIM_DIR/calls.jsonl
 * and never touches this machine.
 *
 * When XR_SIM_ROOT names a host tree (the directory a playbook got as --root), the stand-in also
 * makes the change the real command would make there, so a second run sees it:
 * - apt-get install: copies each package's files from the package catalogue
 *   (XR_SIM_PACKAGES, default test/fixtures/xcp/packages: packages.json + one tree per package) and
 *   records it in var/lib/dpkg/status; unknown packages fail as apt does ("E: Unable to locate
 *   package …", status 100); packages from a PPA need its sources.list.d entry; without -y apt
 *   asks and, with no terminal to answer, aborts;
 * - add-apt-repository ppa:OWNER/NAME: writes etc/apt/sources.list.d/OWNER-NAME-CODENAME.list;
 * - update-rc.d NAME disable: renames the S links of runlevels 2–5 to K links (100 − NN), as sysv-rc;
 * - update-grub: regenerates only the `set default="…"` line of boot/grub/grub.cfg from GRUB_DEFAULT
 *   in etc/default/grub (the menu entries come from the packages' trees);
 * - pvcreate: records only.
 */
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const CALLS_FILE = 'calls.jsonl';
const HERE = path.dirname(fileURLToPath(import.meta.url));
export const DEFAULT_PACKAGES = path.resolve(HERE, '../fixtures/xcp/packages');

/** Append one call to $XR_SIM_DIR/calls.jsonl. */
export function record(/** @type {string} */ cmd, /** @type {string[]} */ argv) {
  const dir = process.env.XR_SIM_DIR;
  if (!dir) {
    process.stderr.write(`${cmd} (recording stand-in): XR_SIM_DIR is not set; refusing to run\n`);
    process.exit(70);
  }
  mkdirSync(dir, { recursive: true });
  appendFileSync(path.join(dir, CALLS_FILE), `${JSON.stringify({ cmd, argv })}\n`);
}

/** A path inside the host tree, or undefined when there is no tree. */
function inRoot(/** @type {string} */ p) {
  const root = process.env.XR_SIM_ROOT;
  if (!root) return undefined;
  const full = path.resolve(root, `.${path.posix.resolve('/', p)}`);
  if (!full.startsWith(path.resolve(root))) throw new Error(`${p} leaves ${root}`);
  return full;
}

function readText(/** @type {string} */ p) {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

/** @typedef {{ stdout?: string, stderr?: string, code?: number }} Outcome */

/* ---------------------------------------------------------------- apt-get */

/**
 * @typedef {{ version: string, ppa?: string, depends?: string[], section?: string, description: string }} Package
 */

function catalogue() {
  const dir = process.env.XR_SIM_PACKAGES ?? DEFAULT_PACKAGES;
  /** @type {Record<string, Package>} */
  const pkgs = JSON.parse(readFileSync(path.join(dir, 'packages.json'), 'utf8')).packages;
  return { dir, pkgs };
}

/** Packages dpkg lists as installed in the tree. */
export function installedPackages(/** @type {string} */ statusText) {
  const out = new Set();
  for (const para of statusText.split(/\n\s*\n/)) {
    const name = /^Package: (.+)$/m.exec(para)?.[1];
    if (name && /^Status: install ok installed$/m.test(para)) out.add(name.trim());
  }
  return out;
}

/** @param {string[]} argv @returns {Outcome} */
export function aptGet(argv) {
  const yes = argv.some((a) => ['-y', '--yes', '--assume-yes', '-qy', '-yq'].includes(a));
  const words = [];
  for (let i = 0; i < argv.length; i++) {
    const a = /** @type {string} */ (argv[i]);
    if (a === '-o' || a === '-c' || a === '-t') i++;
    else if (!a.startsWith('-')) words.push(a);
  }
  const [sub, ...names] = words;
  if (sub === 'update') {
    return { stdout: 'Reading package lists... Done\n' };
  }
  if (sub !== 'install') {
    return { stderr: `E: Invalid operation ${sub ?? ''}\n`, code: 100 };
  }
  const { dir, pkgs } = catalogue();
  const statusFile = inRoot('/var/lib/dpkg/status');
  const installed = statusFile ? installedPackages(readText(statusFile) ?? '') : new Set();
  const sources = inRoot('/etc/apt/sources.list.d');
  const listed =
    sources && existsSync(sources) ? readdirSync(sources).map((f) => readText(path.join(sources, f)) ?? '') : [];
  /** @type {string[]} */
  const plan = [];
  const visit = (/** @type {string} */ name) => {
    const p = pkgs[name];
    if (!p)
      throw {
        stderr: `Reading package lists...\nBuilding dependency tree...\nE: Unable to locate package ${name}\n`,
        code: 100,
      };
    if (p.ppa && statusFile && !listed.some((t) => t.includes(`ppa.launchpad.net/${p.ppa}/`))) {
      throw {
        stderr: `Reading package lists...\nBuilding dependency tree...\nE: Unable to locate package ${name}\n`,
        code: 100,
      };
    }
    for (const d of p.depends ?? []) visit(d);
    if (!installed.has(name) && !plan.includes(name)) plan.push(name);
  };
  try {
    for (const n of names) visit(n);
  } catch (e) {
    return /** @type {Outcome} */ (e);
  }
  let out = 'Reading package lists...\nBuilding dependency tree...\nReading state information...\n';
  if (plan.length === 0) return { stdout: `${out}0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n` };
  out += `The following NEW packages will be installed:\n  ${plan.join(' ')}\n0 upgraded, ${plan.length} newly installed, 0 to remove and 0 not upgraded.\n`;
  if (!yes) return { stdout: `${out}Do you want to continue [Y/n]? Abort.\n`, code: 1 };
  if (statusFile) {
    const root = /** @type {string} */ (process.env.XR_SIM_ROOT);
    for (const name of plan) {
      const tree = path.join(dir, name);
      if (existsSync(tree)) cpSync(tree, root, { recursive: true, verbatimSymlinks: true, force: true });
      const p = /** @type {Package} */ (pkgs[name]);
      const entry = [
        `Package: ${name}`,
        'Status: install ok installed',
        `Section: ${p.section ?? 'admin'}`,
        'Architecture: amd64',
        `Version: ${p.version}`,
        ...(p.depends?.length ? [`Depends: ${p.depends.join(', ')}`] : []),
        `Description: ${p.description}`,
      ].join('\n');
      const before = readText(statusFile) ?? '';
      mkdirSync(path.dirname(statusFile), { recursive: true });
      writeFileSync(statusFile, `${before.replace(/\n*$/, '\n\n')}${entry}\n`.replace(/^\n+/, ''));
      out += `Setting up ${name} (${p.version}) ...\n`;
    }
  }
  return { stdout: out };
}

/* ---------------------------------------------------------------- add-apt-repository */

/** @param {string[]} argv @returns {Outcome} */
export function addAptRepository(argv) {
  const repo = argv.find((a) => !a.startsWith('-'));
  const m = /^ppa:([a-z0-9.+-]+)\/([a-z0-9.+-]+)$/.exec(repo ?? '');
  if (!m) return { stderr: `Error: need a repository as argument\n`, code: 1 };
  const target = inRoot('/etc/apt/sources.list.d');
  if (target) {
    const lsb = readText(/** @type {string} */ (inRoot('/etc/lsb-release'))) ?? '';
    const codename = /^DISTRIB_CODENAME=(\S+)/m.exec(lsb)?.[1] ?? 'precise';
    mkdirSync(target, { recursive: true });
    const url = `http://ppa.launchpad.net/${m[1]}/${m[2]}/ubuntu`;
    writeFileSync(
      path.join(target, `${m[1]}-${m[2]}-${codename}.list`),
      `deb ${url} ${codename} main\ndeb-src ${url} ${codename} main\n`,
    );
  }
  return {
    stdout: `You are about to add the following PPA to your system:\n\n More info: https://launchpad.net/~${m[1]}/+archive/${m[2]}\n`,
  };
}

/* ---------------------------------------------------------------- update-rc.d */

/** @param {string[]} argv @returns {Outcome} */
export function updateRcD(argv) {
  const args = argv.filter((a) => a !== '-f' && a !== '-n');
  const [name, action] = args;
  if (!name || !action)
    return { stderr: 'usage: update-rc.d [-n] [-f] <basename> remove|defaults|disable|enable\n', code: 1 };
  const script = inRoot(`/etc/init.d/${name}`);
  if (script && !existsSync(script))
    return { stderr: `update-rc.d: /etc/init.d/${name}: file does not exist\n`, code: 1 };
  if (action !== 'disable' || !script) return {};
  for (const level of ['2', '3', '4', '5']) {
    const d = /** @type {string} */ (inRoot(`/etc/rc${level}.d`));
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)) {
      const m = /^S(\d\d)(.+)$/.exec(f);
      if (!m || m[2] !== name) continue;
      const k = `K${String(100 - Number(m[1])).padStart(2, '0')}${name}`;
      renameSync(path.join(d, f), path.join(d, k));
    }
  }
  return {};
}

/* ---------------------------------------------------------------- update-grub */

/** GRUB_DEFAULT as the shell would read it from /etc/default/grub (last assignment wins). */
export function grubDefault(/** @type {string} */ text) {
  let value = '0';
  for (const line of text.split('\n')) {
    const m = /^\s*GRUB_DEFAULT=(.*)$/.exec(line);
    if (!m) continue;
    const raw = (m[1] ?? '').trim();
    const q = /^"((?:[^"\\]|\\.)*)"|^'([^']*)'/.exec(raw);
    value = q ? (q[1] !== undefined ? q[1].replace(/\\(.)/g, '$1') : (q[2] ?? '')) : (raw.split(/\s/)[0] ?? '');
  }
  return value;
}

/** @param {string[]} _argv @returns {Outcome} */
export function updateGrub(_argv) {
  const cfg = inRoot('/boot/grub/grub.cfg');
  const stderr = 'Generating grub.cfg ...\ndone\n';
  if (!cfg) return { stderr };
  const def = grubDefault(readText(/** @type {string} */ (inRoot('/etc/default/grub'))) ?? '');
  const text = readText(cfg);
  if (text === undefined)
    return { stderr: '/usr/sbin/grub-probe: error: cannot find a device for /boot/grub\n', code: 1 };
  // 00_header writes the value as it is, inside double quotes.
  const value = def === 'saved' ? '${saved_entry}' : def;
  writeFileSync(
    cfg,
    text.replace(/^set default=".*"$/m, () => `set default="${value}"`),
  );
  return { stderr };
}

/* ---------------------------------------------------------------- pvcreate */

/** @param {string[]} argv @returns {Outcome} */
export function pvcreate(argv) {
  const devs = argv.filter((a) => !a.startsWith('-'));
  if (devs.length === 0) return { stderr: '  Please enter a physical volume path\n', code: 3 };
  return { stdout: devs.map((d) => `  Physical volume "${d}" successfully created\n`).join('') };
}

const BEHAVIOUR = {
  'apt-get': aptGet,
  'add-apt-repository': addAptRepository,
  'update-rc.d': updateRcD,
  'update-grub': updateGrub,
  pvcreate,
};

/** What a stand-in answers, without recording the call (test/sim/in-process.mjs records it first). */
export function runStandIn(/** @type {keyof typeof BEHAVIOUR} */ cmd, /** @type {string[]} */ argv) {
  return BEHAVIOUR[cmd](argv);
}

/** The body of each bin/ stand-in. */
export function standIn(/** @type {keyof typeof BEHAVIOUR} */ cmd, argv = process.argv.slice(2)) {
  record(cmd, argv);
  const r = runStandIn(cmd, argv);
  if (r.stdout) process.stdout.write(r.stdout);
  if (r.stderr) process.stderr.write(r.stderr);
  process.exitCode = r.code ?? 0;
}

// `node record.mjs NAME ARGS…`: for stand-ins whose name node cannot load as a module (update-rc.d).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const cmd = /** @type {keyof typeof BEHAVIOUR} */ (process.argv[2] ?? '');
  if (!(cmd in BEHAVIOUR)) {
    process.stderr.write(`record.mjs: no stand-in named '${cmd}'\n`);
    process.exit(70);
  }
  standIn(cmd, process.argv.slice(3));
}

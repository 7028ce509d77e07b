/**
 * What the site serves for download: the package as `npm pack` writes it, and the Ansible collection
 * as `ansible-galaxy collection build` writes it, each with its SHA-256. Built at site build into a
 * cache folder named for the digest of their inputs, so every page and endpoint of one build (and
 * the next build from the same inputs) serves the same bytes.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { COLLECTION_DIR } from '../../scripts/gen-ansible-contract.mjs';
import { PACKAGE_NAME, packageVersion, tarballName } from './install.ts';

export interface Download {
  /** The file name, also its name under /downloads/. */
  name: string;
  /** The site path it is served at. */
  href: string;
  file: string;
  sha256: string;
  bytes: number;
}

/** Where the source is read; the downloads are built from it. */
export const SOURCE_URL = 'https://github.com/xen-runbooks/xen-runbooks';
export const DOWNLOADS_PATH = '/downloads/';

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The files each download is made of (what `npm pack` takes per package.json `files`, and the collection). */
function inputsDigest(root: string): string {
  const hash = createHash('sha256');
  const add = (rel: string): void => {
    const abs = path.join(root, rel);
    if (!existsSync(abs)) return;
    if (statSync(abs).isDirectory()) {
      for (const e of readdirSync(abs).sort()) if (!e.endsWith('.tar.gz')) add(path.join(rel, e));
      return;
    }
    hash.update(`${rel}\0`).update(readFileSync(abs)).update('\0');
  };
  for (const rel of ['package.json', 'README.md', 'lib', 'playbooks', COLLECTION_DIR]) add(rel);
  return hash.digest('hex').slice(0, 16);
}

/** ansible-galaxy, or undefined where ansible-core is not installed (the site then serves the package alone). */
function ansibleGalaxy(): string | undefined {
  for (const p of ['/usr/bin/ansible-galaxy', '/usr/local/bin/ansible-galaxy']) if (existsSync(p)) return p;
  return undefined;
}

/** Said once per build where the collection cannot be packed. */
export const NO_GALAXY =
  'ansible-galaxy is not installed: this build of the site serves the package without the Ansible collection (apt-get install --no-install-recommends ansible-core, then build again)';

/** Build both files into `dir` (a fresh folder, renamed into place when complete). */
function build(root: string, dir: string): void {
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  // The engine is compiled before the site is built (npm run build): no prepare script again here.
  execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', tmp], {
    cwd: root,
    stdio: 'pipe',
  });
  const galaxy = ansibleGalaxy();
  if (galaxy) {
    execFileSync(galaxy, ['collection', 'build', path.join(root, COLLECTION_DIR), '--output-path', tmp, '--force'], {
      stdio: 'pipe',
    });
  } else console.warn(`warning: ${NO_GALAXY}`);
  try {
    renameSync(tmp, dir);
  } catch (e) {
    // Another build of the same inputs got there first: its files serve as well.
    if (!existsSync(dir)) throw e;
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The package tarball and the collection tarball, built once per set of inputs. */
export function downloads(root: string = process.cwd()): { pkg: Download; collection: Download | undefined } {
  // A build without ansible-galaxy has no collection: it is built again once ansible-galaxy is there.
  const dir = path.join(
    root,
    'node_modules/.cache/xen-runbooks-downloads',
    `${inputsDigest(root)}${ansibleGalaxy() ? '' : '-package-only'}`,
  );
  if (!existsSync(dir)) build(root, dir);
  const version = packageVersion(root);
  const collectionName = `xen_runbooks-xen-${version}.tar.gz`;
  const one = (name: string): Download => {
    const file = path.join(dir, name);
    if (!existsSync(file)) throw new Error(`the site's download ${name} was not built (in ${dir})`);
    return { name, href: `${DOWNLOADS_PATH}${name}`, file, sha256: sha256(file), bytes: statSync(file).size };
  };
  return {
    pkg: one(tarballName(version)),
    collection: existsSync(path.join(dir, collectionName)) ? one(collectionName) : undefined,
  };
}

export { PACKAGE_NAME };

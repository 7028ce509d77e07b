/**
 * The ways to get a playbook running, as the README and the site give them. The package is not on
 * the npm registry: it is installed from a checkout of the repository, linked or packed.
 * test/site/install.test.ts runs each of these lines in a throwaway copy and prefix.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const PACKAGE_NAME = 'xen-runbooks';

/** In a checkout: installs the dependencies and compiles the engine (the `prepare` script). */
export const CHECKOUT_SETUP = 'npm ci';

/** The two equivalent ways to run a playbook file in a checkout. */
export function runFromCheckout(playbook: string, args = ''): [zx: string, node: string] {
  const tail = args ? ` ${args}` : '';
  return [`npx zx playbooks/${playbook}.mjs${tail}`, `node playbooks/${playbook}.mjs${tail}`];
}

/** Every playbook on the PATH, linked to this checkout (which must stay where it is). */
export const INSTALL_LINKED = 'npm install --global .';

/** The package file `npm pack` writes. */
export function tarballName(version: string): string {
  return `${PACKAGE_NAME}-${version}.tgz`;
}

/** A package file with the compiled engine, to install here or to copy to another machine. */
export function installPacked(version: string): [pack: string, install: string] {
  return ['npm pack', `npm install --global ./${tarballName(version)}`];
}

export function packageVersion(root: string): string {
  return (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

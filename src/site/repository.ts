/**
 * Where the site's sources live, for the "edit this page" links and the links to a page's
 * source: the `repository` of package.json when it has one, else the project's address.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The project's address, used while package.json names no repository. */
export const DEFAULT_REPOSITORY = 'https://github.com/xen-runbooks/xen-runbooks';

export function repositoryUrl(root = process.cwd()): string {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    repository?: string | { url?: string };
  };
  const raw = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
  if (!raw) return DEFAULT_REPOSITORY;
  return raw
    .replace(/^git\+/, '')
    .replace(/\.git$/, '')
    .replace(/^github:/, 'https://github.com/');
}

/** The address that opens a file of the repository in the host's editor. */
export function editUrl(file: string, root = process.cwd()): string {
  return `${repositoryUrl(root)}/edit/main/${file}`;
}

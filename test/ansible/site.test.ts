// Published from the site: the built site serves the package and the collection with their SHA-256,
// `ansible-galaxy collection install URL` installs the collection from a local preview of it, and
// each runbook shows its Ansible task, valid for its module.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { argumentSpec, moduleName } from '../../scripts/gen-ansible-contract.mjs';
import { describeAll } from '../../scripts/gen-ansible.mjs';
import { childEnv } from '../helpers/playbook.js';
import { DIST, ensureSite, serveDist } from '../helpers/site.js';
import { ansibleTool, installCollection } from './ansible.js';

let site: Awaited<ReturnType<typeof serveDist>>;
const work = mkdtempSync(path.join(os.tmpdir(), 'xr-site-ansible-'));
const version = JSON.parse(readFileSync(path.join(DIST, '..', 'package.json'), 'utf8')).version as string;
const html = (p: string) => readFileSync(path.join(DIST, p, 'index.html'), 'utf8');

beforeAll(async () => {
  await ensureSite();
  site = await serveDist();
}, 900_000);
afterAll(async () => {
  await site?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('the downloads', () => {
  it('are served with the SHA-256 the page gives, and the collection installs from the site', async () => {
    const page = html('get-the-playbooks');
    for (const name of [`xen-runbooks-${version}.tgz`, `xen_runbooks-xen-${version}.tar.gz`]) {
      const res = await fetch(`${site.url}/downloads/${name}`);
      expect(res.status, name).toBe(200);
      const bytes = Buffer.from(await res.arrayBuffer());
      const digest = createHash('sha256').update(bytes).digest('hex');
      expect(page, name).toContain(digest);
      expect(page).toContain(`/downloads/${name}`);
    }
    expect(page).toMatch(/npm install --global https:\/\/[^ <]+\/downloads\/xen-runbooks-/);
    expect(page).toMatch(/ansible-galaxy collection install https:\/\/[^ <]+\/downloads\/xen_runbooks-xen-/);
    // The package holds the playbooks and the compiled engine (package.json "files").
    const listing = execFileSync('tar', ['-tzf', path.join(DIST, 'downloads', `xen-runbooks-${version}.tgz`)], {
      encoding: 'utf8',
    });
    expect(listing).toContain('package/playbooks/xen-qos.mjs');
    expect(listing).toContain('package/lib/engine/index.js');

    const collections = await installCollection(`${site.url}/downloads/xen_runbooks-xen-${version}.tar.gz`, work);
    expect(existsSync(path.join(collections, 'ansible_collections/xen_runbooks/xen/plugins/action/playbook.py'))).toBe(
      true,
    );
    const doc = execFileSync(ansibleTool('ansible-doc'), ['xen_runbooks.xen.qos'], {
      encoding: 'utf8',
      env: childEnv({ ANSIBLE_COLLECTIONS_PATH: collections }),
    });
    expect(doc).toContain('cpu_cap');

    // And the package, as the page says: npm install --global URL (here into a throwaway prefix).
    const prefix = path.join(work, 'npm');
    await promisify(execFile)(
      'npm',
      [
        'install',
        '--global',
        '--prefix',
        prefix,
        `${site.url}/downloads/xen-runbooks-${version}.tgz`,
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
      ],
      { cwd: work, env: childEnv() },
    );
    const { stdout } = await promisify(execFile)(path.join(prefix, 'bin/xen-qos'), ['--version'], { cwd: work });
    expect(stdout.trim()).toBe(`xen-qos (xen-runbooks) ${version}`);
  }, 120_000);
});

describe('the runbook pages', () => {
  it('show each playbook as an Ansible task whose options its module has', () => {
    for (const d of describeAll()) {
      const page = html(`runbooks/${d.name}`);
      // The task as the copy button holds it (Expressive Code: lines joined by U+007F).
      const at = page.indexOf('class="xr-ansible-task"');
      const code = /data-code="([^"]*)"/.exec(page.slice(at))?.[1] ?? '';
      const yaml = code
        .replace(/&#x22;/g, '"')
        .replace(/&#x27;/g, "'")
        .replace(/&#x26;/g, '&')
        .split('\u007f');
      expect(yaml.join('\n'), d.name).toContain(`xen_runbooks.xen.${moduleName(d.name)}:`);
      // Every key the task sets is an option of the module (from the same --describe).
      const keys = yaml.map((l) => /^ {8}([a-z_]+):/.exec(l)?.[1]).filter((k): k is string => Boolean(k));
      expect(keys.length, `${d.name}: ${yaml.join('\n')}`).toBeGreaterThan(0);
      const spec = argumentSpec(d);
      for (const k of keys) expect(Object.keys(spec), d.name).toContain(k);
    }
  });
});

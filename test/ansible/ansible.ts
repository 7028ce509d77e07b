// Ansible as an administrator runs it: the collection built and installed by ansible-galaxy into a
// throwaway collections path, ansible-playbook run with the tree callback writing each host's last
// result as JSON (ansible-core 2.14: lib/ansible/plugins/callback/tree.py).
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { COLLECTION_DIR } from '../../scripts/gen-ansible-contract.mjs';
import { childEnv, ROOT } from '../helpers/playbook.js';

export function ansibleTool(name: 'ansible-playbook' | 'ansible-galaxy' | 'ansible-doc'): string {
  const p = `/usr/bin/${name}`;
  if (existsSync(p)) return p;
  throw new Error(
    `${name} is not installed: run 'npm test' as root on Debian/Ubuntu, or: sudo apt-get install -y ansible-core`,
  );
}

/** `ansible-galaxy collection build` of the collection in this repository: the tarball's path. */
export function buildCollection(outDir: string): string {
  execFileSync(
    ansibleTool('ansible-galaxy'),
    ['collection', 'build', path.join(ROOT, COLLECTION_DIR), '--output-path', outDir, '--force'],
    { stdio: 'pipe', env: childEnv() },
  );
  const tarball = readdirSync(outDir).find((f) => /^xen_runbooks-xen-.*\.tar\.gz$/.test(f));
  if (!tarball) throw new Error(`ansible-galaxy wrote no collection tarball in ${outDir}`);
  return path.join(outDir, tarball);
}

/**
 * `ansible-galaxy collection install SOURCE -p DIR` (a file or a URL): the collections path to use.
 * Asynchronous, so that a server in this same process (the site's preview) can answer it.
 */
export async function installCollection(source: string, dir: string): Promise<string> {
  await promisify(execFile)(ansibleTool('ansible-galaxy'), ['collection', 'install', source, '-p', dir, '--force'], {
    env: childEnv(),
  });
  return dir;
}

export interface AnsibleRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Each host's last task result (ok or failed), by inventory name. */
  results: Record<string, any>;
  /** The PLAY RECAP line of each host: ok, changed, failed, … */
  recap: Record<string, Record<string, number>>;
}

export function runAnsiblePlaybook(
  args: readonly string[],
  opts: { cwd: string; collections: string; env?: Record<string, string> },
): Promise<AnsibleRun> {
  const tree = mkdtempSync(path.join(os.tmpdir(), 'xr-ansible-tree-'));
  const env = childEnv({
    ANSIBLE_COLLECTIONS_PATH: opts.collections,
    ANSIBLE_CALLBACKS_ENABLED: 'ansible.builtin.tree',
    ANSIBLE_CALLBACK_TREE_DIR: tree,
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_RETRY_FILES_ENABLED: 'false',
    ANSIBLE_LOCAL_TEMP: path.join(tree, '.tmp'),
    ...opts.env,
  });
  return new Promise((resolve, reject) => {
    const child = spawn(ansibleTool('ansible-playbook'), args, {
      cwd: opts.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const results: Record<string, any> = {};
      for (const f of readdirSync(tree)) {
        if (!f.startsWith('.')) results[f] = JSON.parse(readFileSync(path.join(tree, f), 'utf8'));
      }
      rmSync(tree, { recursive: true, force: true });
      resolve({ code, stdout, stderr, results, recap: recap(stdout) });
    });
  });
}

/** `host : ok=1 changed=1 unreachable=0 failed=0 …` lines of the PLAY RECAP. */
export function recap(stdout: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  const at = stdout.lastIndexOf('PLAY RECAP');
  if (at < 0) return out;
  for (const line of stdout.slice(at).split('\n').slice(1)) {
    const m = /^(\S+)\s+:\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    out[m[1] as string] = Object.fromEntries(
      [...(m[2] as string).matchAll(/(\w+)=(\d+)/g)].map((x) => [x[1] as string, Number(x[2])]),
    );
  }
  return out;
}

/**
 * Ansible against the lab: the collection built and installed by ansible-galaxy (once per test
 * process), an inventory of one host, `xenlab`, reached through the lab's own ssh config file
 * (xen_runbooks_ssh_config), and ansible-playbook running one task of xen_runbooks.xen on it.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildCollection, installCollection, runAnsiblePlaybook, type AnsibleRun } from '../ansible/ansible.js';
import { ROOT } from '../helpers/playbook.js';
import type { Lab } from './lab.js';

let installed: Promise<{ work: string; collections: string }> | undefined;

function collection(): Promise<{ work: string; collections: string }> {
  installed ??= (async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'xr-lab-ansible-'));
    mkdirSync(path.join(work, 'build'));
    const collections = await installCollection(
      buildCollection(path.join(work, 'build')),
      path.join(work, 'collections'),
    );
    return { work, collections };
  })();
  return installed;
}

/**
 * ansible-playbook with one task, `xen_runbooks.xen.MODULE: PARAMS`, on the lab host, then ARGS
 * (`--check`, `--diff`). The run and each host's result.
 */
export async function labTask(
  lab: Lab,
  module: string,
  params: Record<string, unknown>,
  args: readonly string[] = [],
): Promise<AnsibleRun> {
  const { work, collections } = await collection();
  const inventory = {
    all: {
      hosts: {
        xenlab: {
          ansible_user: 'root',
          xen_runbooks_ssh_config: lab.sshConfig,
          xen_runbooks_path: ROOT,
        },
      },
    },
  };
  // JSON is YAML: the yaml inventory plugin and ansible-playbook both read it.
  writeFileSync(path.join(work, 'hosts.yml'), JSON.stringify(inventory));
  const play = [{ hosts: 'xenlab', gather_facts: false, tasks: [{ [`xen_runbooks.xen.${module}`]: params }] }];
  writeFileSync(path.join(work, 'site.yml'), JSON.stringify(play));
  return runAnsiblePlaybook(['-i', 'hosts.yml', 'site.yml', ...args], { cwd: work, collections });
}

// One contract: the collection's modules are generated from the playbooks' --describe, and
// ansible-doc documents exactly the options and arguments --help lists.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  COLLECTION_DIR,
  moduleName,
  optionName,
  argName,
  taskFromCommandLine,
} from '../../scripts/gen-ansible-contract.mjs';
import { describeAll, stale } from '../../scripts/gen-ansible.mjs';
import { childEnv, ROOT } from '../helpers/playbook.js';
import { ansibleTool } from './ansible.js';

const described = describeAll();

describe('the generated collection', () => {
  it('is as the playbooks describe themselves (npm run gen:ansible writes it)', () => {
    const { wrong, extra } = stale();
    expect([...wrong, ...extra], 'stale generated files: run npm run gen:ansible').toEqual([]);
  });

  it('has one module per playbook, and ansible-doc lists exactly the arguments and options of --help', () => {
    const names = described.map((d) => `xen_runbooks.xen.${moduleName(d.name)}`);
    const doc = JSON.parse(
      execFileSync(ansibleTool('ansible-doc'), ['--json', ...names], {
        encoding: 'utf8',
        env: childEnv({ ANSIBLE_COLLECTIONS_PATH: ROOT }),
      }),
    );
    for (const d of described) {
      const m = doc[`xen_runbooks.xen.${moduleName(d.name)}`];
      expect(m, d.name).toBeDefined();
      const help = execFileSync(process.execPath, [path.join(ROOT, 'playbooks', `${d.name}.mjs`), '--help'], {
        encoding: 'utf8',
      });
      // The options --help lists (its "Options:" section, before the common ones).
      const own = help.split('\nOptions:\n')[1]?.split('\nCommon options:')[0] ?? '';
      const fromHelp = [...own.matchAll(/^ {2}(?:-\w, )?--([\w-]+)/gm)].map((x) => optionName(x[1] as string));
      const args = d.args.map((a) => argName(a.name));
      expect(Object.keys(m.doc.options).sort(), d.name).toEqual([...args, ...fromHelp].sort());
      for (const o of d.options) {
        const opt = m.doc.options[optionName(o.name)];
        expect(opt.description.join(' '), `${d.name} --${o.name}`).toContain(o.details);
        if (o.choices) expect(opt.choices.map(String), `${d.name} --${o.name}`).toEqual([...o.choices]);
        expect(Boolean(opt.required), `${d.name} --${o.name}`).toBe(Boolean(o.required));
      }
      // Every example of --help is an example task whose options the module has.
      for (const e of d.examples) {
        for (const k of Object.keys(taskFromCommandLine(d, e).args)) expect(Object.keys(m.doc.options)).toContain(k);
      }
      expect(m.examples.match(/^- name: /gm)?.length, d.name).toBe(d.examples.length);
      expect(Object.keys(m.return).sort()).toEqual(['applied', 'cmd', 'data', 'msg', 'rc', 'steps']);
    }
  });

  it('routes every module to the one action plugin', () => {
    const runtime = readFileSync(path.join(ROOT, COLLECTION_DIR, 'meta/runtime.yml'), 'utf8');
    for (const d of described) {
      expect(runtime).toContain(`  ${moduleName(d.name)}:\n      action_plugin: xen_runbooks.xen.playbook`);
    }
  });
});

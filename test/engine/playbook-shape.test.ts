// A playbook is its procedure: options, steps and the lines that tie them together. What reads a
// host, decides and formats lives in src/ with its own tests. These limits hold that shape.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/playbook.js';

const DIR = path.join(ROOT, 'playbooks');
const PLAYBOOKS = readdirSync(DIR).filter((f) => f.endsWith('.mjs'));
const MAX_LINES = 500;

describe('the playbook files', () => {
  it('are the five runbooks', () => {
    expect(PLAYBOOKS.sort()).toEqual([
      'pygrub-fix.mjs',
      'windows-hvm.mjs',
      'xcp-install.mjs',
      'xen-qos.mjs',
      'xen-upgrade-check.mjs',
    ]);
  });

  it.each(PLAYBOOKS)(`%s is at most ${MAX_LINES} lines`, (file) => {
    const lines = readFileSync(path.join(DIR, file), 'utf8').split('\n').length - 1;
    expect(lines).toBeLessThanOrEqual(MAX_LINES);
  });

  it.each(PLAYBOOKS)('%s declares its state once and its steps see it typed: no cast reaches ctx', (file) => {
    const text = readFileSync(path.join(DIR, file), 'utf8');
    expect(text).toMatch(/\bstate: \(\) =>/);
    expect(text).toMatch(/\bsteps: \(\{ [^}]*\bstep\b[^}]*\}\) => \[/);
    // A JSDoc cast of anything read from ctx (state, options, args): `/** @type {X} */ (ctx.state…)`.
    const casts = text.split('\n').filter((l) => /@type \{[^}]*\}\s*\*\/\s*\(\s*ctx\./.test(l));
    expect(casts).toEqual([]);
    // The accessor helpers the steps needed before: found(ctx), facts(ctx), options(ctx).
    expect(text).not.toMatch(/=\s*\(ctx\)\s*=>\s*\/\*\*\s*@type/);
  });

  it.each(PLAYBOOKS)('%s exports its playbook, so runPlaybookFile can run it in-process', (file) => {
    const text = readFileSync(path.join(DIR, file), 'utf8');
    expect(text).toMatch(/^export default playbook;\nawait playbook\.run\(\);\n$/m);
  });
});

import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describePlaybook, extractSteps, listPlaybooks, stepsShownOnPage } from '../../src/site/playbooks.js';
import { ROOT } from '../helpers/playbook.js';

const PAGES = path.join(ROOT, 'content/docs');
function allPages(dir = PAGES): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? allPages(path.join(dir, e.name)) : e.name.endsWith('.mdx') ? [path.join(dir, e.name)] : [],
  );
}

describe('reading steps from a playbook', () => {
  it('finds step() and fileStep() calls with their code and lines', () => {
    const src = readFileSync(path.join(ROOT, 'test/fixtures/playbooks/sample.mjs'), 'utf8');
    const steps = extractSteps(src);
    expect(steps.map((s) => s.id)).toEqual(['echo-value', 'write-settings']);
    expect(steps[0]?.code.startsWith("step('echo-value', {")).toBe(true);
    expect(steps[0]?.code.trimEnd().endsWith('})')).toBe(true);
    expect(steps[1]?.code).toContain("title: 'Write the settings file'");
    const lines = src.split('\n');
    expect(lines[(steps[1]?.startLine ?? 0) - 1]).toContain("fileStep('write-settings'");
  });

  it('finds what a page shows', () => {
    expect(
      stepsShownOnPage(`a\n<PlaybookStep playbook="x" id="one" />\n<PlaybookStep id='two' playbook='x'/>`),
    ).toEqual([
      { playbook: 'x', id: 'one' },
      { playbook: 'x', id: 'two' },
    ]);
  });
});

const playbooks = listPlaybooks(ROOT);

describe('pages and playbooks stay in step', () => {
  it('there are playbooks, each with a runbook page', () => {
    expect(playbooks.length).toBeGreaterThan(0);
    for (const name of playbooks) expect(existsSync(path.join(PAGES, 'runbooks', `${name}.mdx`)), name).toBe(true);
  });

  it.each(playbooks)('every step of %s is shown on its page, once', (name) => {
    const source = readFileSync(path.join(ROOT, 'playbooks', `${name}.mjs`), 'utf8');
    const ids = extractSteps(source).map((s) => s.id);
    expect(ids.length).toBeGreaterThan(0);
    // The steps the runner knows are the steps the source shows: none made up at run time.
    expect(describePlaybook(name, ROOT).steps.map((s) => s.id)).toEqual(ids);
    const shown = stepsShownOnPage(readFileSync(path.join(PAGES, 'runbooks', `${name}.mdx`), 'utf8'))
      .filter((s) => s.playbook === name)
      .map((s) => s.id);
    expect([...shown].sort()).toEqual([...ids].sort());
  });

  it('every step a page names exists in its playbook', () => {
    const missing: string[] = [];
    for (const page of allPages()) {
      for (const s of stepsShownOnPage(readFileSync(page, 'utf8'))) {
        const file = path.join(ROOT, 'playbooks', `${s.playbook}.mjs`);
        const ids = existsSync(file) ? extractSteps(readFileSync(file, 'utf8')).map((x) => x.id) : [];
        if (!ids.includes(s.id)) missing.push(`${path.relative(ROOT, page)}: ${s.playbook}/${s.id}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

// The transcripts the runbook pages show (src/site/transcripts/NAME.json) are what the scenarios
// of test/transcripts/ record now: run each scenario in-process, compare. `npm run transcripts`
// (XR_WRITE_TRANSCRIPTS=1) writes them instead. Every step of every playbook is recorded by some
// scenario, or named in UNRECORDED with the reason.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { format } from 'prettier';
import { describePlaybook, listPlaybooks } from '../../src/site/playbooks.js';
import { readTranscript, transcriptFile, type Transcript } from '../../src/site/transcript.js';
import { record } from './record.js';
import { existsSync, readFileSync } from 'node:fs';
import { LAB, LAB_EVIDENCE, PARTIAL, SCENARIOS, UNRECORDED } from './scenarios.js';
import { ROOT } from '../helpers/playbook.js';
import { tool } from '../helpers/tools.js';

const WRITE = process.env.XR_WRITE_TRANSCRIPTS === '1';
const dirs: string[] = [];
beforeAll(() => {
  // Images (pygrub-fix), a loop device for the SR (xcp-install), grubenv (windows-hvm).
  for (const t of ['sfdisk', 'mke2fs', 'debugfs', 'e2fsck', 'losetup', 'grub-script-check'] as const) tool(t);
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function transcriptOf(name: string): Promise<Transcript> {
  const scenarios = [];
  for (const sc of SCENARIOS[name] ?? []) {
    const dir = mkdtempSync(path.join(os.tmpdir(), `xr-transcript-${sc.id}-`));
    dirs.push(dir);
    scenarios.push(await record(sc, dir));
  }
  return {
    playbook: name,
    scenarios,
    unrecorded: UNRECORDED[name] ?? {},
    partial: PARTIAL[name] ?? {},
    lab: LAB[name] ?? {},
  };
}

const ran = (t: Transcript, id: string) =>
  t.scenarios.some((sc) => sc.steps.some((s) => s.id === id && s.status !== 'not-run' && s.status !== 'skipped'));

describe.each(listPlaybooks())('%s', (name) => {
  let fresh: Transcript;
  it('records the same commands, outputs and diffs as the committed transcript', async () => {
    fresh = await transcriptOf(name);
    const text = await format(JSON.stringify(fresh), { parser: 'json' });
    if (WRITE) {
      mkdirSync(path.dirname(transcriptFile(name)), { recursive: true });
      writeFileSync(transcriptFile(name), text);
    }
    expect(readTranscript(name), `src/site/transcripts/${name}.json is stale: npm run transcripts`).toEqual(
      JSON.parse(text),
    );
  });

  it('records every step in some scenario, or says why it cannot', () => {
    const steps = describePlaybook(name).steps.map((s) => s.id);
    const missing = steps.filter((id) => !ran(fresh, id) && !(id in (UNRECORDED[name] ?? {})));
    expect(missing, 'steps no scenario runs: add a scenario (test/transcripts/) or say why in UNRECORDED').toEqual([]);
    // A step said to be unrecordable that a scenario does record is no longer unrecordable.
    for (const id of Object.keys(UNRECORDED[name] ?? {})) expect(ran(fresh, id), id).toBe(false);
    for (const id of Object.keys({ ...LAB[name], ...PARTIAL[name] })) expect(steps, `names ${id}`).toContain(id);
  });

  it('names lab tests that run this playbook, with the options the steps named need', () => {
    for (const [id, { file }] of Object.entries(LAB[name] ?? {})) {
      const f = path.join(ROOT, file);
      expect(existsSync(f), file).toBe(true);
      const needs = LAB_EVIDENCE[name]?.[id];
      if (needs) expect(readFileSync(f, 'utf8'), `${file} runs ${id}`).toContain(needs);
      expect(readFileSync(f, 'utf8'), file).toMatch(
        new RegExp(`runPlaybook\\('${name}'|${name === 'windows-hvm' ? 'windowsHvm\\(' : '$^'}`),
      );
    }
  });
});

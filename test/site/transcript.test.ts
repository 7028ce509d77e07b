// How a step's recorded runs become what its runbook page shows (src/site/transcript.ts).
import { describe, expect, it } from 'vitest';
import {
  diffInCommands,
  readTranscript,
  shownOutputs,
  stepBranches,
  stepSkips,
  typedInStep,
  type Transcript,
  type TranscriptCommand,
  type TranscriptStep,
} from '../../src/site/transcript.js';
import { listPlaybooks } from '../../src/site/playbooks.js';

const cmd = (command: string, over: Partial<TranscriptCommand> = {}): TranscriptCommand => ({
  command,
  exitCode: 0,
  stdout: '',
  stderr: '',
  ...over,
});
const step = (commands: TranscriptCommand[], over: Partial<TranscriptStep> = {}): TranscriptStep => ({
  id: 's',
  status: 'changed',
  message: 'done',
  commands,
  ...over,
});
const transcript = (steps: TranscriptStep[]): Transcript => ({
  playbook: 'x',
  scenarios: steps.map((s, i) => ({ id: `sc${i}`, label: `run ${i}`, run: 'x', exitCode: 0, steps: [s] })),
  unrecorded: {},
  partial: {},
  lab: {},
});

describe('stepBranches', () => {
  it('merges runs of the same programs, says when their values differ, and keeps another way apart', () => {
    const t = transcript([
      step([cmd('xl sched-credit2 -d 1 -w 512')]),
      step([cmd('xl sched-credit2 -d 7 -w 100')]),
      step([cmd('xe vm-param-set uuid=u VCPUs-params:weight=512')]),
      step([], { status: 'skipped' }),
    ]);
    const b = stepBranches(t, 's');
    expect(b.map((x) => [x.labels, x.valuesDiffer])).toEqual([
      [['run 0', 'run 1'], true],
      [['run 2'], false],
    ]);
    expect(b[0]?.step.commands[0]?.command).toBe('xl sched-credit2 -d 1 -w 512');
  });

  it('a command that failed is another way than one that succeeded', () => {
    const t = transcript([step([cmd('xl list vm01')]), step([cmd('xl list vm01', { exitCode: 1 })])]);
    expect(stepBranches(t, 's')).toHaveLength(2);
  });
});

describe('stepSkips', () => {
  it("says a reason once for every run that skipped the step for it, in the runs' order", () => {
    const t = transcript([
      step([], { status: 'skipped', message: 'XCP-ng runs xapi already' }),
      step([cmd('cat /etc/os-release')]),
      step([], { status: 'skipped', message: 'no pool to join' }),
      step([], { status: 'skipped', message: 'XCP-ng runs xapi already' }),
    ]);
    expect(stepSkips(t, 's')).toEqual([
      { labels: ['run 0', 'run 3'], message: 'XCP-ng runs xapi already' },
      { labels: ['run 2'], message: 'no pool to join' },
    ]);
  });
});

describe('typedInStep and diffInCommands', () => {
  const created = '--- a/etc/xen/w.cfg\n+++ b/etc/xen/w.cfg\n@@ -0,0 +1,2 @@\n+a = 1\n+b = 2\n';
  it('a new file is a here-document, and its diff is then not shown again', () => {
    const c = cmd('tee /etc/xen/w.cfg', { file: 'write', input: 'a = 1\nb = 2\n' });
    expect(typedInStep(c, created)).toBe("cat > /etc/xen/w.cfg <<'EOF'\na = 1\nb = 2\nEOF");
    expect(diffInCommands(step([c], { diff: created }))).toBe(true);
  });

  it('a long file edited is the patch of its diff; a short one its text, with the diff beside it', () => {
    const long = Array.from({ length: 40 }, (_, i) => `k${i} = ${i}`).join('\n') + '\n';
    const edit = '--- a/etc/f\n+++ b/etc/f\n@@ -1,1 +1,1 @@\n-k0 = 1\n+k0 = 0\n';
    const c = cmd('tee /etc/f', { file: 'write', input: long });
    expect(typedInStep(c, edit)).toBe(`patch /etc/f <<'EOF'\n${edit.trimEnd()}\nEOF`);
    expect(diffInCommands(step([c], { diff: edit }))).toBe(true);
    const short = cmd('tee /etc/f', { file: 'write', input: 'k0 = 0\n' });
    expect(typedInStep(short, edit)).toBe("cat > /etc/f <<'EOF'\nk0 = 0\nEOF");
    expect(diffInCommands(step([short], { diff: edit }))).toBe(false);
  });

  it("ends a here-document with a word that is none of its lines, and gives a command's input", () => {
    expect(typedInStep(cmd('debugfs -f - img', { input: 'stat /a\nEOF\n' }), undefined)).toBe(
      "debugfs -f - img <<'EOF_'\nstat /a\nEOF\nEOF_",
    );
  });
});

describe('shownOutputs', () => {
  it('shows what printed or failed, once, cut to a few lines, binary as its size', () => {
    const many = Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n') + '\n';
    const out = shownOutputs(
      step([
        cmd('true'),
        cmd('cat /etc/long', { stdout: many }),
        cmd('cat /etc/long', { stdout: many }),
        cmd('test -e /nope', { exitCode: 1 }),
        cmd('debugfs cat /vmlinuz', { binary: 4096 }),
      ]),
    );
    expect(out.map((o) => [o.command, o.exitCode, o.more])).toEqual([
      ['cat /etc/long', 0, 12],
      ['test -e /nope', 1, 0],
      ['debugfs cat /vmlinuz', 0, 0],
    ]);
    expect(out[2]?.text).toBe('(4096 bytes of binary data)');
  });
});

it.each(listPlaybooks())('the committed transcript of %s gives every step it ran at least one way', (name) => {
  const t = readTranscript(name);
  expect(t, `src/site/transcripts/${name}.json`).toBeDefined();
  const ran = new Set(
    t!.scenarios.flatMap((s) => s.steps.filter((x) => !['skipped', 'not-run'].includes(x.status)).map((x) => x.id)),
  );
  expect(ran.size).toBeGreaterThan(0);
  for (const id of ran) expect(stepBranches(t!, id).length, id).toBeGreaterThan(0);
});

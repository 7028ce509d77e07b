/**
 * Transcripts: what a playbook's steps ran on the host in the suite's scenario runs, as a person
 * would type it, with what it printed. Written by `npm run transcripts` (test/transcripts/) into
 * src/site/transcripts/NAME.json; the runbook pages show them under each step, and a test fails
 * when they no longer match a fresh run.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './playbooks.js';

/** One command of a step (or one file the step read or wrote, as the command that does the same). */
export interface TranscriptCommand {
  command: string;
  /** Text given on its standard input. */
  input?: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** The output was binary (a kernel read to be checked): its size, not its bytes. */
  binary?: number;
  /** `read`/`write`: a file read or written through the transport, shown as the equivalent command. */
  file?: 'read' | 'write';
}

export interface TranscriptStep {
  id: string;
  status: string;
  message: string;
  diff?: string;
  commands: TranscriptCommand[];
}

export interface TranscriptScenario {
  id: string;
  /** How the page names it: "on a running guest (xl)". */
  label: string;
  /** The playbook's command line as an administrator types it. */
  run: string;
  exitCode: number;
  steps: TranscriptStep[];
}

export interface Transcript {
  playbook: string;
  scenarios: TranscriptScenario[];
  /** Steps no scenario can run here, and why. */
  unrecorded: Record<string, string>;
  /** What a step does that its recorded commands leave out. */
  partial: Record<string, string>;
  /** Steps a lab test (test/lab/FILE) also ran against the lab's real Xen 4.17 (`commands`), or whose result booted there. */
  lab: Record<string, { file: string; proves: 'commands' | 'result' }>;
}

export function transcriptFile(name: string, root = REPO_ROOT): string {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`not a playbook name: ${name}`);
  return path.join(root, 'src/site/transcripts', `${name}.json`);
}

/** The committed transcript of a playbook, or undefined when none was recorded. */
export function readTranscript(name: string, root = REPO_ROOT): Transcript | undefined {
  const f = transcriptFile(name, root);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Transcript) : undefined;
}

/** One way a step went: the scenarios it went that way in, and what it ran in the first of them. */
export interface StepBranch {
  labels: string[];
  scenarioIds: string[];
  step: TranscriptStep;
  /** The scenarios ran the same programs, each with its own values: those shown are the first's. */
  valuesDiffer: boolean;
}

/** A command's program and subcommand (`xl sched-credit2`, `xe vm-list`, `cat`): what decides its branch. */
function programOf(c: TranscriptCommand): string {
  const [prog = '', sub = ''] = c.command.split(' ');
  const words = /^[a-z][a-z0-9-]*$/.test(sub) ? [prog, sub] : [prog];
  return `${c.file ?? ''}${words.join(' ')}${c.exitCode === 0 ? '' : '!'}`;
}

/**
 * A step's branches: the scenarios where it ran (not skipped, not left unrun). Scenarios that ran
 * the same programs to the same outcome are one branch (if this, then that): the page shows the
 * first one's commands. Order: as the scenarios come.
 */
export function stepBranches(t: Transcript, id: string): StepBranch[] {
  const branches: (StepBranch & { key: string; exact: string })[] = [];
  for (const sc of t.scenarios) {
    const st = sc.steps.find((s) => s.id === id);
    if (!st || st.status === 'not-run' || st.status === 'skipped') continue;
    const key = JSON.stringify([st.status, st.commands.map(programOf), Boolean(st.diff)]);
    const exact = JSON.stringify([st.commands, st.diff ?? '']);
    const same = branches.find((b) => b.key === key);
    if (same) {
      same.labels.push(sc.label);
      same.scenarioIds.push(sc.id);
      if (same.exact !== exact) same.valuesDiffer = true;
    } else branches.push({ key, exact, labels: [sc.label], scenarioIds: [sc.id], step: st, valuesDiffer: false });
  }
  return branches.map(({ labels, scenarioIds, step, valuesDiffer }) => ({ labels, scenarioIds, step, valuesDiffer }));
}

/** Scenarios where the step did not apply, grouped by the reason it gave (said once for all of them). */
export function stepSkips(t: Transcript, id: string): { labels: string[]; message: string }[] {
  const byMessage = new Map<string, string[]>();
  for (const sc of t.scenarios) {
    const st = sc.steps.find((s) => s.id === id);
    if (st?.status !== 'skipped') continue;
    const labels = byMessage.get(st.message) ?? [];
    byMessage.set(st.message, [...labels, sc.label]);
  }
  return [...byMessage].map(([message, labels]) => ({ labels, message }));
}

/** A command as typed: its input as a here-document when it had one. */
export function typed(c: TranscriptCommand): string {
  if (c.file === 'write' && c.command.startsWith('tee ') && c.input !== undefined)
    return hereDoc(`cat > ${c.command.slice(4)}`, c.input);
  if (c.input !== undefined && c.input !== '') return hereDoc(c.command, c.input);
  return c.command;
}

/** `COMMAND <<'EOF'` with the text, ended by a word no line of it is. */
function hereDoc(command: string, text: string): string {
  const lines = text.replace(/\n$/, '').split('\n');
  let end = 'EOF';
  while (lines.includes(end)) end += '_';
  return `${command} <<'${end}'\n${lines.join('\n')}\n${end}`;
}

/** At most `max` lines of text; the rest counted. */
export function trimOutput(text: string, max = 12): { shown: string; more: number } {
  const lines = text.replace(/\s+$/, '').split('\n');
  if (lines.length <= max) return { shown: lines.join('\n'), more: 0 };
  return { shown: lines.slice(0, max).join('\n'), more: lines.length - max };
}

/** A file's part of a step's unified diff (the diff names it a/PATH, b/PATH or PATH). */
export function fileDiff(diff: string | undefined, file: string): string | undefined {
  if (!diff) return undefined;
  const parts = diff.split(/^(?=--- )/m);
  const rel = file.replace(/^\//, '');
  return parts.find((p) => {
    const m = /^\+\+\+ (\S+)/m.exec(p);
    return m !== null && [file, rel, `b/${rel}`].includes(m[1] as string);
  });
}

/** Above this many lines a file written whole is shown as the patch of its diff instead. */
const HEREDOC_LINES = 30;

/** How a file the step wrote whole is typed: the text itself, or the patch of its diff. */
function writeForm(c: TranscriptCommand, diff: string | undefined): 'text' | 'patch' | undefined {
  if (c.file !== 'write' || !c.command.startsWith('tee ') || c.input === undefined) return undefined;
  const part = fileDiff(diff, c.command.slice(4).replace(/^'|'$/g, ''));
  // A new file is its text; a long one edited, the few lines that change.
  if (!part || /^@@ -0,0 /m.test(part)) return 'text';
  return c.input.split('\n').length > HEREDOC_LINES ? 'patch' : 'text';
}

/**
 * What a person types for one command of a step: the command, its standard input as a
 * here-document, a written file as `cat > FILE` or, when long and the step's diff has it, as
 * `patch FILE` with that diff (the same result).
 */
export function typedInStep(c: TranscriptCommand, diff: string | undefined): string {
  if (writeForm(c, diff) === 'patch') {
    const file = c.command.slice(4);
    const part = fileDiff(diff, file.replace(/^'|'$/g, '')) ?? '';
    return hereDoc(`patch ${file}`, part);
  }
  return typed(c);
}

/**
 * The step's diff says nothing its commands do not show: each file in it is created whole by a
 * here-document or patched with its part of the diff. The page then shows the commands alone.
 */
export function diffInCommands(step: TranscriptStep): boolean {
  if (!step.diff) return true;
  const parts = step.diff.split(/^(?=--- )/m).filter((p) => p.trim());
  return parts.every((part) =>
    step.commands.some((c) => {
      const form = writeForm(c, step.diff);
      if (!form || fileDiff(step.diff, c.command.slice(4).replace(/^'|'$/g, '')) !== part) return false;
      return form === 'patch' || /^@@ -0,0 /m.test(part);
    }),
  );
}

/** One command's output as the page shows it (cut to a few lines; the rest counted). */
export interface ShownOutput {
  command: string;
  exitCode: number | null;
  text: string;
  more: number;
}

/**
 * The outputs worth showing: a command that printed something, or failed; a command run again
 * with the same output is shown once.
 */
export function shownOutputs(step: TranscriptStep, max = 8): ShownOutput[] {
  const out: ShownOutput[] = [];
  const seen = new Set<string>();
  for (const c of step.commands) {
    const printed = c.binary
      ? `(${c.binary} bytes of binary data)`
      : [c.stdout, c.stderr].filter((t) => t.trim() !== '').join(c.stdout.endsWith('\n') ? '' : '\n');
    if (!printed.trim() && c.exitCode === 0) continue;
    const key = JSON.stringify([c.command, c.exitCode, printed]);
    if (seen.has(key)) continue;
    seen.add(key);
    const { shown, more } = trimOutput(printed, max);
    out.push({ command: c.command, exitCode: c.exitCode, text: shown, more });
  }
  return out;
}

/** The labels of a branch as one phrase: "on a running guest (xl), on XCP-ng (xe)". */
export function whenText(labels: readonly string[]): string {
  const t = labels.join('; ');
  return t.charAt(0).toUpperCase() + t.slice(1);
}

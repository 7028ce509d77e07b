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
  /** Steps whose commands a lab test (test/lab/FILE) also ran against the lab's real Xen 4.17. */
  lab: Record<string, string>;
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

/** One way a step went: the scenarios it went that way in, and what it ran. */
export interface StepBranch {
  labels: string[];
  scenarioIds: string[];
  step: TranscriptStep;
}

/**
 * A step's branches: the scenarios where it ran (not skipped, not left unrun), those that ran the
 * same commands with the same outcome merged into one branch. Order: as the scenarios come.
 */
export function stepBranches(t: Transcript, id: string): StepBranch[] {
  const branches: (StepBranch & { key: string })[] = [];
  for (const sc of t.scenarios) {
    const st = sc.steps.find((s) => s.id === id);
    if (!st || st.status === 'not-run' || st.status === 'skipped') continue;
    const key = JSON.stringify([st.commands.map((c) => [c.command, c.input, c.exitCode, c.stdout]), st.diff ?? '']);
    const same = branches.find((b) => b.key === key);
    if (same) {
      same.labels.push(sc.label);
      same.scenarioIds.push(sc.id);
    } else branches.push({ key, labels: [sc.label], scenarioIds: [sc.id], step: st });
  }
  return branches.map(({ labels, scenarioIds, step }) => ({ labels, scenarioIds, step }));
}

/** Scenarios where the step did not apply, with the reason it gave. */
export function stepSkips(t: Transcript, id: string): { label: string; message: string }[] {
  const out: { label: string; message: string }[] = [];
  for (const sc of t.scenarios) {
    const st = sc.steps.find((s) => s.id === id);
    if (st?.status === 'skipped') out.push({ label: sc.label, message: st.message });
  }
  return out;
}

/** A command as typed: its input as a here-document when it had one. */
export function typed(c: TranscriptCommand): string {
  if (c.file === 'write' && c.command.startsWith('tee ') && c.input !== undefined) {
    return `cat > ${c.command.slice(4)} <<'EOF'\n${c.input.replace(/\n$/, '')}\nEOF`;
  }
  if (c.input !== undefined && c.input !== '') return `${c.command} <<'EOF'\n${c.input.replace(/\n$/, '')}\nEOF`;
  return c.command;
}

/** At most `max` lines of text; the rest counted. */
export function trimOutput(text: string, max = 12): { shown: string; more: number } {
  const lines = text.replace(/\n$/, '').split('\n');
  if (lines.length <= max) return { shown: lines.join('\n'), more: 0 };
  return { shown: lines.slice(0, max).join('\n'), more: lines.length - max };
}

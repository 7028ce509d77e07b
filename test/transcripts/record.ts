/**
 * Runs a scenario of a playbook in this process (test/helpers/playbook.ts), keeps every command
 * its steps ran (onCommand) with each step's outcome and diff, and makes it readable: temporary
 * paths become the paths a host has, and repeated reads of one file within a step are shown once.
 */
import path from 'node:path';
import type { CommandRecord } from '../../src/engine/io.js';
import type { TranscriptCommand, TranscriptScenario, TranscriptStep } from '../../src/site/transcript.js';
import { ROOT, runInProcess } from '../helpers/playbook.js';

export interface Prepared {
  /** The playbook's arguments as run (with --root, the test's paths…). */
  args: string[];
  /** The arguments as the page shows them; default: args without --root DIR. */
  shown?: string[];
  sim?: string;
  env?: Record<string, string>;
  input?: string;
  /** Texts replaced in everything recorded: [as run, as shown]; a RegExp needs the g flag. */
  names?: [string | RegExp, string][];
  /**
   * Outputs that differ from one machine to the next (free space): the part that varies is
   * replaced by a placeholder in angle brackets, so the transcript stays the same.
   */
  vary?: { command: RegExp; output: RegExp; as: string }[];
  /** Removes what prepare made outside `dir`. */
  cleanup?: () => void;
}

export interface Scenario {
  playbook: string;
  id: string;
  label: string;
  /** Builds the host (images, trees, simulator state) in `dir`, a fresh temporary directory. */
  prepare(dir: string): Promise<Prepared> | Prepared;
  /** The exit code the scenario shows (default 0). */
  exitCode?: number;
}

/** A stdout or stderr longer than this is cut in the data (the page folds what is left). */
const MAX_OUTPUT = 6000;

export async function record(sc: Scenario, dir: string): Promise<TranscriptScenario> {
  const p = await sc.prepare(dir);
  try {
    return await recordPrepared(sc, dir, p);
  } finally {
    p.cleanup?.();
  }
}

async function recordPrepared(sc: Scenario, dir: string, p: Prepared): Promise<TranscriptScenario> {
  const records: CommandRecord[] = [];
  const r = await runInProcess(path.join(ROOT, 'playbooks', `${sc.playbook}.mjs`), [...p.args, '--json'], {
    ...(p.sim ? { sim: p.sim } : {}),
    ...(p.env ? { env: p.env } : {}),
    ...(p.input !== undefined ? { input: p.input } : {}),
    onCommand: (c) => records.push(c),
  });
  if (!r.json) throw new Error(`${sc.playbook} ${sc.id}: no JSON report (exit ${r.code}): ${r.stderr}`);
  if (r.code !== (sc.exitCode ?? 0))
    throw new Error(`${sc.playbook} ${sc.id}: exit ${r.code}, expected ${sc.exitCode ?? 0}: ${r.stderr}`);
  // The longest names first, then the patterns: a pattern must not rewrite a path before the path's
  // own name applies (/dev/loop3 would become loop0, and the page would show whichever device was free).
  const size = (from: string | RegExp) => (typeof from === 'string' ? from.length : -1);
  const names = [...(p.names ?? []), [dir, '/tmp/work'] as [string, string]].sort((a, b) => size(b[0]) - size(a[0]));
  const norm = (s: string) =>
    names.reduce((t, [from, to]) => (typeof from === 'string' ? t.split(from).join(to) : t.replace(from, to)), s);
  const steps: TranscriptStep[] = (
    r.json.steps as { id: string; status: string; message: string; diff?: string }[]
  ).map((s) => ({
    id: s.id,
    status: s.status,
    message: norm(s.message),
    ...(s.diff ? { diff: norm(s.diff) } : {}),
    commands: commandsOf(
      records.filter((c) => c.step === s.id).map((c) => varied(c, p.vary ?? [])),
      norm,
    ),
  }));
  const shown = p.shown ?? withoutRoot(p.args);
  return {
    id: sc.id,
    label: sc.label,
    run: norm([sc.playbook, ...shown].map(quote).join(' ')),
    exitCode: r.code,
    steps,
  };
}

function varied(c: CommandRecord, vary: NonNullable<Prepared['vary']>): CommandRecord {
  let { stdout, stderr } = c;
  for (const v of vary)
    if (v.command.test(c.command)) {
      stdout = stdout.replace(v.output, v.as);
      stderr = stderr.replace(v.output, v.as);
    }
  return { ...c, stdout, stderr };
}

function withoutRoot(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--root') i++;
    else out.push(args[i] as string);
  }
  return out;
}

const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

function cut(text: string): string {
  if (text.length <= MAX_OUTPUT) return text;
  const head = text.slice(0, MAX_OUTPUT);
  const rest = text.slice(MAX_OUTPUT).split('\n').length;
  return `${head.slice(0, head.lastIndexOf('\n') + 1)}… (${rest} more lines)\n`;
}

function commandsOf(records: CommandRecord[], norm: (s: string) => string): TranscriptCommand[] {
  const out: TranscriptCommand[] = [];
  const seen = new Set<string>();
  for (const c of records) {
    // A kernel or an MBR read to be checked: its bytes are no reading for a person.
    const binary = /[\0-\x08\x0e-\x1f]/.test(c.stdout);
    const cmd: TranscriptCommand = {
      command: norm(c.command),
      ...(c.input !== undefined ? { input: norm(c.input) } : {}),
      exitCode: c.exitCode,
      stdout: binary ? '' : cut(norm(c.stdout)),
      ...(binary ? { binary: Buffer.byteLength(c.stdout) } : {}),
      stderr: cut(norm(c.stderr)),
      ...(c.file ? { file: c.file } : {}),
    };
    // A file read again (before its edit is written, say), a directory made again: nothing new.
    const key = JSON.stringify(cmd);
    if ((c.file === 'read' || /^mkdir -p /.test(c.command)) && seen.has(key)) continue;
    seen.add(key);
    out.push(cmd);
  }
  return out;
}

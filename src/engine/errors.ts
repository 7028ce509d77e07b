/** Exit codes shared by every playbook. */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  refused: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES: readonly { code: ExitCode; name: string; meaning: string }[] = [
  { code: 0, name: 'done', meaning: 'Done, or nothing to do: the host already was as asked.' },
  {
    code: 1,
    name: 'failed',
    meaning: 'A step failed; the message names it and what ran. What it was writing is left as it was.',
  },
  {
    code: 2,
    name: 'usage',
    meaning: 'Bad input or usage, refused before the step concerned changed anything (most before the first step).',
  },
  {
    code: 3,
    name: 'refused',
    meaning:
      'Refused for safety (no --yes without a terminal, a disk in use, …), before the step concerned changed anything.',
  },
];

/** What a run that stops part way leaves: shown under the exit codes (--help, the site). */
export const AFTER_A_FAILURE =
  'A run that stops at a step does not undo the steps before it: every step that changed something is ' +
  'listed as left applied (and under "applied" in --json), each with its backup where it edited a file. ' +
  'Run the playbook again once the cause is fixed: the steps already applied are found in place and the ' +
  'rest is done. Interrupted (Ctrl-C, SIGTERM, or SIGHUP when its terminal or ssh session goes away), a ' +
  'run cleans up what it holds (a mounted image, its lock) and exits 130, 143 or 129.';

/** An error that ends the run with a given exit code and a message for the administrator. */
export class PlaybookError extends Error {
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;
  constructor(exitCode: ExitCode, message: string, hint?: string) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = hint;
  }
}

/** Bad input or usage (exit 2). */
export class UsageError extends PlaybookError {
  constructor(message: string, hint?: string) {
    super(EXIT.usage, message, hint);
  }
}

/** Refused for safety (exit 3). */
export class RefusedError extends PlaybookError {
  constructor(message: string, hint?: string) {
    super(EXIT.refused, message, hint);
  }
}

/** A step failed (exit 1). */
export class StepError extends PlaybookError {
  constructor(message: string, hint?: string) {
    super(EXIT.failed, message, hint);
  }
}

/** A command exited non-zero. */
export class CommandError extends StepError {
  readonly command: string;
  readonly exitCodeOfCommand: number | null;
  readonly stdout: string;
  readonly stderr: string;
  constructor(command: string, code: number | null, stdout: string, stderr: string) {
    const detail = stderr.trim() || stdout.trim();
    super(`command failed (exit ${code ?? 'signal'}): ${command}${detail ? `\n${detail}` : ''}`);
    this.command = command;
    this.exitCodeOfCommand = code;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

export const usage = (message: string, hint?: string) => new UsageError(message, hint);
export const refuse = (message: string, hint?: string) => new RefusedError(message, hint);
export const fail = (message: string, hint?: string) => new StepError(message, hint);

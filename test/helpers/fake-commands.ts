/** A command runner for unit tests: each command's argv goes to `answer`, which says what it printed and how it ended. */
import { templateToArgv, type CommandFn, type CommandResult, type RunOptions } from 'xen-runbooks/engine';

export type Answer = { exitCode?: number; stdout?: string; stderr?: string };

export function fakeCommands(answer: (argv: string[]) => Answer | Promise<Answer>, seen: string[][] = []): CommandFn {
  const run = async (pieces: TemplateStringsArray, values: unknown[], nothrow: boolean): Promise<CommandResult> => {
    const argv = templateToArgv(pieces, values);
    seen.push(argv);
    const a = await answer(argv);
    const exitCode = a.exitCode ?? 0;
    const r: CommandResult = {
      argv,
      command: argv.join(' '),
      exitCode,
      ok: exitCode === 0,
      stdout: a.stdout ?? '',
      stderr: a.stderr ?? '',
      bytes: Buffer.from(a.stdout ?? ''),
    };
    if (!r.ok && !nothrow) throw new Error(`${r.command}: exit ${exitCode}`);
    return r;
  };
  function fn(pieces: TemplateStringsArray, ...values: unknown[]): Promise<CommandResult>;
  function fn(opts: RunOptions): (pieces: TemplateStringsArray, ...values: unknown[]) => Promise<CommandResult>;
  function fn(first: TemplateStringsArray | RunOptions, ...values: unknown[]) {
    if ('raw' in first) return run(first, values, false);
    const nothrow = Boolean(first.nothrow);
    return (pieces: TemplateStringsArray, ...vals: unknown[]) => run(pieces, vals, nothrow);
  }
  return fn;
}

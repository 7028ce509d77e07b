// A host for the unit tests of src/playbooks/xen-qos/: files under a --root directory, commands
// answered in-process by the simulators of test/sim/ (xl, xm, xenstore-read, xe), every command kept.
import { templateToArgv } from '../../src/engine/command.js';
import type { CommandFn } from '../../src/engine/runner.js';
import { RootTransport, type CommandResult, type RunOptions } from '../../src/engine/transport.js';
import type { HostAccess } from '../../src/playbooks/xen-qos/read-domain.js';
import { runXenstoreRead, runXl } from '../sim/xl.mjs';
import { runXe } from '../sim/xe.mjs';

export type Answer = { code: number; stdout: string; stderr: string };

/** The simulators whose state is in `sim`. */
export function simulated(sim: string): (argv: string[]) => Answer {
  return ([cmd = '', ...args]) => {
    if (cmd === 'xl' || cmd === 'xm') return runXl(cmd, args, sim);
    if (cmd === 'xenstore-read') return runXenstoreRead(args, sim);
    if (cmd === 'xe') return runXe(args, { dir: sim });
    return { code: 127, stdout: '', stderr: `${cmd}: command not found\n` };
  };
}

/** A HostAccess whose commands `answer` gives; `commands` lists them as run. */
export function testHost(root: string, answer: (argv: string[]) => Answer): HostAccess & { commands: string[] } {
  const commands: string[] = [];
  const exec = async (argv: string[], opts: RunOptions = {}): Promise<CommandResult> => {
    commands.push(argv.join(' '));
    const a = answer(argv);
    if (a.code !== 0 && !opts.nothrow) throw new Error(`${argv.join(' ')} exited ${a.code}: ${a.stderr}`);
    return {
      argv,
      command: argv.join(' '),
      exitCode: a.code,
      ok: a.code === 0,
      stdout: a.stdout,
      stderr: a.stderr,
      bytes: Buffer.from(a.stdout),
    };
  };
  const $ = ((first: TemplateStringsArray | RunOptions, ...values: unknown[]) => {
    if (Array.isArray(first)) return exec(templateToArgv(first as TemplateStringsArray, values));
    return (pieces: TemplateStringsArray, ...vals: unknown[]) =>
      exec(templateToArgv(pieces, vals), first as RunOptions);
  }) as CommandFn;
  return { $, host: new RootTransport(root), commands };
}

/**
 * What the xcp-install modules see of a host, for their unit tests: a `ctx.$` whose xe is the
 * simulator (test/sim/xe.mjs, in-process, its state in a directory) and whose other commands are
 * answered from a table, and a host whose files are a table too.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatCommand, templateToArgv } from '../../src/engine/command.js';
import type { CommandFn, Logger } from '../../src/engine/runner.js';
import type { CommandResult, RunOptions, Transport, TransportKind } from '../../src/engine/transport.js';
import { SIM_BIN } from '../helpers/playbook.js';
import { runXe } from '../sim/xe.mjs';

export interface Answer {
  stdout?: string;
  stderr?: string;
  code?: number;
}

/**
 * A `$`: xe runs on the simulator state in `dir`; `sh` really runs, with the simulator's xe first on
 * its PATH; any other command must be in `answers` (by its command line).
 */
export function simShell(dir: string, answers: Record<string, Answer> = {}): { $: CommandFn; calls: string[][] } {
  const calls: string[][] = [];
  const run =
    (opts: RunOptions) =>
    async (pieces: TemplateStringsArray, ...values: unknown[]): Promise<CommandResult> => {
      const argv = templateToArgv(pieces, values);
      calls.push(argv);
      const command = formatCommand(argv);
      let a: Answer | undefined;
      if (argv[0] === 'xe') {
        const r = runXe(argv.slice(1), { dir });
        a = { stdout: r.stdout, stderr: r.stderr, code: r.code };
      } else if (argv[0] === 'sh') {
        const env = { ...process.env, PATH: `${SIM_BIN}:${process.env.PATH ?? ''}`, XR_SIM_DIR: dir };
        const r = spawnSync('sh', argv.slice(1), { env, input: opts.input ?? '', encoding: 'utf8' });
        a = { stdout: r.stdout, stderr: r.stderr, code: r.status ?? 1 };
      } else {
        a = answers[command];
        if (!a) throw new Error(`unexpected command: ${command}`);
      }
      const code = a.code ?? 0;
      const stdout = a.stdout ?? '';
      const result = {
        argv,
        command,
        exitCode: code,
        ok: code === 0,
        stdout,
        stderr: a.stderr ?? '',
        bytes: Buffer.from(stdout),
      };
      if (code !== 0 && !opts.nothrow) throw new Error(`${command} exited with ${code}`);
      return result;
    };
  const $ = ((first: TemplateStringsArray | RunOptions, ...values: unknown[]) =>
    Array.isArray(first) ? run({})(first as TemplateStringsArray, ...values) : run(first as RunOptions)) as CommandFn;
  return { $, calls };
}

/** A host whose files are `files` (path → text; a directory is listed from the paths under it). */
export function fakeHost(
  files: Record<string, string> = {},
  kind: TransportKind = 'local',
  label = 'this host',
): Transport {
  const host = {
    kind,
    label,
    readText: async (p: string) => files[p],
    exists: async (p: string) => p in files || Object.keys(files).some((f) => f.startsWith(`${p}/`)),
    readdir: async (p: string) => {
      const names = Object.keys(files)
        .filter((f) => f.startsWith(`${p}/`))
        .map((f) => f.slice(p.length + 1).split('/')[0] as string);
      return names.length ? [...new Set(names)] : undefined;
    },
  };
  return host as unknown as Transport;
}

/** A logger that keeps what it was told. */
export function memoryLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (t) => lines.push(`info: ${t}`),
    warn: (t) => lines.push(`warn: ${t}`),
    detail: (t) => lines.push(`detail: ${t}`),
  };
}

/** A temporary directory for the simulator state, removed by cleanup(). */
export function simDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xr-xcp-unit-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

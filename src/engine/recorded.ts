import { formatCommand } from './command.js';
import { CommandError } from './errors.js';
import type { CommandRecord, Io, ProcessRecord } from './io.js';
import type { FileStat, RunOptions, Transport } from './transport.js';

/**
 * The transport as the run's steps see it: each command they run is told (`tell`, a
 * processTeller) once it ended, in the order the commands started, with the step running it. What they read or change in files through the
 * transport is told too, as the command that does the same (`cat`, `ls -A1`, `cp -p`…, what the
 * ssh transport runs): a reader following the run by hand needs those as much as the commands.
 * Locks the engine takes around an edit are its own safety, not the procedure: not told.
 */
export function recordedTransport(transport: Transport, tell: Teller): Transport {
  const text = (b: Buffer | string | undefined) =>
    b === undefined ? '' : typeof b === 'string' ? b : b.includes(0) ? '' : b.toString('utf8');
  /** Run a file operation of the transport and tell it as `argv`; `out` makes its output from the result. */
  const told =
    <A extends unknown[], R>(
      kind: 'read' | 'write',
      fn: (...a: A) => Promise<R>,
      argvOf: (...a: A) => string[],
      out: (
        r: R,
        ...a: A
      ) => { stdout?: string; stderr?: string; exitCode?: number; input?: string; skip?: boolean } = () => ({}),
    ) =>
    async (...a: A): Promise<R> => {
      const argv = argvOf(...a);
      const place = tell.reserve();
      try {
        const r = await fn(...a);
        const o = out(r, ...a);
        place(
          o.skip
            ? undefined
            : {
                argv,
                exitCode: o.exitCode ?? 0,
                stdout: o.stdout ?? '',
                stderr: o.stderr ?? '',
                file: kind,
                ...(o.input !== undefined ? { input: o.input } : {}),
              },
        );
        return r;
      } catch (e) {
        place({ argv, exitCode: 1, stdout: '', stderr: (e as Error).message, file: kind });
        throw e;
      }
    };
  /** What the command prints for a file that does not exist (GNU coreutils). */
  const missing = (cmd: 'cat' | 'ls' | 'stat', p: string) => ({
    exitCode: cmd === 'ls' ? 2 : 1,
    stderr:
      cmd === 'cat'
        ? `cat: ${p}: No such file or directory\n`
        : `${cmd}: cannot ${cmd === 'ls' ? 'access' : 'statx'} '${p}': No such file or directory\n`,
  });
  /** `stat -c %F`'s words for the type. */
  const statType = (s: FileStat) =>
    s.type === 'file'
      ? s.size === 0
        ? 'regular empty file'
        : 'regular file'
      : s.type === 'dir'
        ? 'directory'
        : s.type === 'symlink'
          ? 'symbolic link'
          : 'special file';
  const t = transport;
  const files: Partial<Record<keyof Transport, unknown>> = {
    readText: told(
      'read',
      (p: string) => t.readText(p),
      (p) => ['cat', p],
      (r, p) => (r === undefined ? missing('cat', p) : { stdout: r }),
    ),
    readFile: told(
      'read',
      (p: string) => t.readFile(p),
      (p) => ['cat', p],
      (r) => ({ stdout: text(r) }),
    ),
    snapshot: told(
      'read',
      (p: string) => t.snapshot(p),
      (p) => ['cat', p],
      (r, p) => (r === undefined ? missing('cat', p) : { stdout: text(r.bytes) }),
    ),
    readdir: told(
      'read',
      (p: string) => t.readdir(p),
      (p) => ['ls', '-A1', p],
      (r, p) => (r === undefined ? missing('ls', p) : { stdout: r.map((f) => `${f}\n`).join('') }),
    ),
    readlink: told(
      'read',
      (p: string) => t.readlink(p),
      (p) => ['readlink', p],
      (r) => (r === undefined ? { exitCode: 1 } : { stdout: `${r}\n` }),
    ),
    exists: told(
      'read',
      (p: string) => t.exists(p),
      (p) => ['test', '-e', p],
      (r) => ({ exitCode: r ? 0 : 1 }),
    ),
    stat: told(
      'read',
      (p: string) => t.stat(p),
      (p) => ['stat', '-c', '%F %a %s', p],
      (r, p) => (r === undefined ? missing('stat', p) : { stdout: `${statType(r)} ${r.mode.toString(8)} ${r.size}\n` }),
    ),
    // The secret's bytes are never told: only that the file was read.
    readSecret: told(
      'read',
      (p: string, max: number) => t.readSecret(p, max),
      (p) => ['cat', p],
    ),
    // The file's mode, when the write sets one, is its own command: a by-hand copy needs it too.
    writeFileAtomic: async (p: string, data: string | Buffer, o?: { mode?: number }) => {
      await told(
        'write',
        () => t.writeFileAtomic(p, data, o),
        () => ['tee', p],
        () => ({ input: text(data) }),
      )();
      if (o?.mode !== undefined)
        tell({ argv: ['chmod', o.mode.toString(8), p], exitCode: 0, stdout: '', stderr: '', file: 'write' });
    },
    backup: told(
      'write',
      (p: string) => t.backup(p),
      (p) => ['cp', '-p', p, `${p}.orig`],
      (r) => ({ skip: r === undefined }),
    ),
    mkdir: told(
      'write',
      (p: string) => t.mkdir(p),
      (p) => ['mkdir', '-p', p],
    ),
    symlink: told(
      'write',
      (target: string, p: string) => t.symlink(target, p),
      (target, p) => ['ln', '-s', target, p],
    ),
    rename: told(
      'write',
      (from: string, to: string) => t.rename(from, to),
      (from, to) => ['mv', '-f', from, to],
    ),
    remove: told(
      'write',
      (p: string) => t.remove(p),
      (p) => ['rm', '-f', p],
    ),
  };
  return new Proxy(transport, {
    get(target, prop) {
      if (prop === 'exec') {
        return async (argv: readonly string[], opts?: RunOptions) => {
          const input = typeof opts?.input === 'string' ? { input: opts.input } : {};
          const place = tell.reserve();
          try {
            const r = await target.exec(argv, opts);
            place({ argv: [...argv], exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, ...input });
            return r;
          } catch (e) {
            place(
              e instanceof CommandError
                ? { argv: [...argv], exitCode: e.exitCodeOfCommand, stdout: e.stdout, stderr: e.stderr, ...input }
                : undefined,
            );
            throw e;
          }
        };
      }
      if (typeof prop === 'string' && prop in files) return files[prop as keyof Transport];
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** Tells a record now, or `reserve`s a record's place when its command starts and fills it once it ends. */
export interface Teller {
  (record: ProcessRecord & Pick<CommandRecord, 'file'>): void;
  /**
   * Hold the place of a command starting now. Records are told in the order their commands
   * started, so that commands run at once (the toolstacks and the loop devices asked together)
   * are told as a reader would type them, one after the other, whichever ended first. The
   * function returned fills the place with the record, or with nothing (undefined); once.
   */
  reserve(): (record?: ProcessRecord & Pick<CommandRecord, 'file'>) => void;
}

/**
 * How a command is told, with the step running it when it started: the transport's own, its file
 * operations, and the processes a step starts itself (a debugfs session, ProcessRecord).
 */
export function processTeller(
  transport: Transport,
  onCommand: NonNullable<Io['onCommand']>,
  step: () => string | undefined,
): Teller {
  /** Places not told yet, in start order: a record, null (nothing to tell), undefined while its command runs. */
  const places: (CommandRecord | null | undefined)[] = [];
  let told = 0;
  const reserve = () => {
    const id = step();
    const at = told + places.length;
    places.push(undefined);
    return (r?: ProcessRecord & Pick<CommandRecord, 'file'>) => {
      places[at - told] = r
        ? {
            transport: transport.kind,
            host: transport.label,
            command: formatCommand(r.argv),
            ...r,
            ...(id !== undefined ? { step: id } : {}),
          }
        : null;
      while (places.length && places[0] !== undefined) {
        const first = places.shift();
        told++;
        if (first) onCommand(first);
      }
    };
  };
  return Object.assign((r: ProcessRecord & Pick<CommandRecord, 'file'>) => reserve()(r), { reserve });
}

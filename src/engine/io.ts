import { AsyncLocalStorage } from 'node:async_hooks';

/** One command a run executed on its host, as a person would have typed it, with what it printed. */
export interface CommandRecord {
  /** `local`, `root` or `ssh`. */
  transport: string;
  /** The host as the run names it: `this host`, `root /srv/rescue`, `ssh root@xcp1`. */
  host: string;
  argv: readonly string[];
  /** The command, quoted as a shell would need it. */
  command: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** What the command read on its standard input, when it was given text. */
  input?: string;
  /** The id of the step that ran it; absent before the first step (options checked against the host). */
  step?: string;
  /**
   * Set when the run did not start this command but read or changed a file through its transport:
   * `command` is then the command that does the same (`cat`, `ls -A1`, `cp -p`, `mv`…), as the ssh
   * transport runs it. A write's content is the step's diff; a secret's content is never told.
   */
  file?: 'read' | 'write';
}

/** Where a run's text goes and comes from: the process's own streams, or a caller's (in-process runs). */
export interface Io {
  /** The run's standard output. */
  out(text: string): void;
  /** The run's standard error. */
  err(text: string): void;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; destroy?: () => void };
  /** Standard input and standard error are a terminal: prompts and spinners are possible. */
  readonly interactive: boolean;
  /** Told of every command the run executed, after it ended. */
  onCommand?: (record: CommandRecord) => void;
  /**
   * Commands answered in this process instead of started: a test's simulators (test/sim/). It
   * returns undefined for a command it does not answer, which then runs as usual.
   */
  answer?: (argv: readonly string[]) => Answer | undefined;
}

/** What a command answered in-process printed and exited with. */
export interface Answer {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Writes to one of the process's output streams. When its reader has gone (`pygrub-fix … | head`,
 * a closed ssh session), what is left to print is dropped and the run goes on to its end: a run
 * that stopped between two writes would leave the host half-changed, and its lock held. A stream
 * with no reader is not an error of the run's (its exit code says how the run went); other errors are.
 */
function outputTo(stream: NodeJS.WriteStream): (text: string) => void {
  let gone = false;
  let listening = false;
  return (text) => {
    if (gone) return;
    if (!listening) {
      listening = true;
      stream.on('error', (e: NodeJS.ErrnoException) => {
        // EIO: the terminal hung up (its ssh session closed).
        if (e.code !== 'EPIPE' && e.code !== 'EIO' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
        gone = true;
      });
    }
    stream.write(text);
  };
}

/** The process's own streams. */
export const processIo: Io = {
  out: outputTo(process.stdout),
  err: outputTo(process.stderr),
  // Made by Node when first read: a run that reads no input never opens it.
  get stdin() {
    return process.stdin;
  },
  get interactive() {
    return Boolean(process.stdin.isTTY && process.stderr.isTTY);
  },
};

const current = new AsyncLocalStorage<Io>();

/** The streams of the run this code belongs to (the process's outside any run). */
export function currentIo(): Io {
  return current.getStore() ?? processIo;
}

/** Run `fn` with `io` as the streams every engine function it calls uses. */
export function withIo<T>(io: Io, fn: () => Promise<T>): Promise<T> {
  return current.run(io, fn);
}

/** A process a step started itself rather than through its transport (a debugfs session). */
export type ProcessRecord = Pick<CommandRecord, 'argv' | 'exitCode' | 'stdout' | 'stderr' | 'input'>;

const processTellers = new WeakMap<Io, (record: ProcessRecord) => void>();

/** The run recording its commands on IO hears of the processes its steps start themselves through TELL. */
export function hearProcesses(io: Io, tell: (record: ProcessRecord) => void): void {
  processTellers.set(io, tell);
}

/**
 * Tell the recording run, if any, of a process started outside the transport, once it ended: a
 * reader following the run by hand needs it as much as the commands the transport ran.
 */
export function tellProcess(record: ProcessRecord): void {
  processTellers.get(currentIo())?.(record);
}

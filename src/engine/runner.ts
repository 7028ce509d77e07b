import { readFileSync, realpathSync } from 'node:fs';
import { templateToArgv, formatCommand } from './command.js';
import { AFTER_A_FAILURE, EXIT, EXIT_CODES, PlaybookError, StepError, UsageError, type ExitCode } from './errors.js';
import { applyEdit, planEdit, type FileEdit } from './files.js';
import { currentIo, hearProcesses, processIo, withIo, type Io } from './io.js';
import { processTeller, recordedTransport } from './recorded.js';
import {
  COMMON_OPTIONS,
  describeRule,
  formatOptionTable,
  optionDetails,
  optionUsage,
  parseOptions,
  type ArgSpec,
  type CommonValues,
  type DescribedRule,
  type OptionSpecs,
  type OptionValues,
} from './options.js';
import {
  LocalTransport,
  RootTransport,
  SshTransport,
  type CommandResult,
  type RunOptions,
  type Transport,
  type TransportKind,
} from './transport.js';
import { checkFileInputs, fileInputs } from './validate.js';

/* ------------------------------------------------------------------ results of a check */

/** Nothing to do: the host already is as the step wants it (or a preflight passed). */
export interface Ok {
  status: 'ok';
  message: string;
}
/** The step would change something. */
export interface Change<D = unknown> {
  status: 'change';
  message: string;
  /** Unified diff(s) of file changes, shown with --dry-run and before asking. */
  diff?: string;
  /** Whatever apply() needs, computed by check(); apply() receives it with its type. */
  data: D;
}
/** The step does not apply here. */
export interface Skip {
  status: 'skip';
  message: string;
}
export type CheckResult<D = unknown> = Ok | Change<D> | Skip;

export const ok = (message: string): Ok => ({ status: 'ok', message });
export const skip = (message: string): Skip => ({ status: 'skip', message });
export function change<D = undefined>(message: string, extra: { diff?: string; data?: D } = {}): Change<D> {
  return {
    status: 'change',
    message,
    ...(extra.diff !== undefined ? { diff: extra.diff } : {}),
    data: extra.data as D,
  };
}

/* ------------------------------------------------------------------ context */

export interface CommandFn {
  (pieces: TemplateStringsArray, ...values: unknown[]): Promise<CommandResult>;
  (opts: RunOptions): (pieces: TemplateStringsArray, ...values: unknown[]) => Promise<CommandResult>;
}

export interface Logger {
  /** A line for the administrator (stdout, or stderr with --json). */
  info(text: string): void;
  /** A warning: always shown, kept in the report. */
  warn(text: string): void;
  /** Shown with --verbose only. */
  detail(text: string): void;
}

/** What a playbook's steps share: what one step found, the next uses. */
export type State = Record<string, unknown>;

export interface Context<O extends OptionSpecs = OptionSpecs, S extends object = State> {
  readonly name: string;
  readonly opts: OptionValues<O>;
  /** Positional arguments by their declared names. */
  readonly args: Readonly<Record<string, string>>;
  readonly common: CommonValues;
  /** Options the user gave explicitly (not filled from defaults). */
  readonly given: ReadonlySet<string>;
  readonly dryRun: boolean;
  /** Where commands run and files are read and written. */
  readonly host: Transport;
  /** Run a command on the host: `await ctx.$\`xe sr-list uuid=${uuid} --minimal\``. Values stay single arguments. */
  readonly $: CommandFn;
  readonly log: Logger;
  /** Shared between steps: what one step found, the next uses. Typed by the playbook's `state()`. */
  readonly state: S;
  /** Added to the --json report under `data`. */
  readonly report: Record<string, unknown>;
  /** Ask the administrator (yes/no). Without a terminal: the answer is --yes. */
  confirm(question: string): Promise<boolean>;
  /** Register an undo/cleanup action; all run (last first) when the run ends, fails or is interrupted. */
  cleanup(fn: () => Promise<void> | void): void;
  /** Plan an edit of a host text file: a Change with its diff, or Ok when there is nothing to change. */
  planEdit(file: string, transform: (current: string | undefined) => string | Promise<string>): Promise<FileEdit>;
  /** Write a planned edit: FILE.orig made once, atomic replace. */
  applyEdit(edit: FileEdit, opts?: { mode?: number; backup?: boolean }): Promise<string | undefined>;
  /** Run `fn` showing a spinner (on a terminal) or a progress line. */
  progress<T>(title: string, fn: () => Promise<T>): Promise<T>;
}

/* ------------------------------------------------------------------ steps */

export interface StepSpec<O extends OptionSpecs = OptionSpecs, D = any, S extends object = State> {
  title: string;
  /** Return false or a reason string to skip the step. */
  when?: (ctx: Context<O, S>) => boolean | string | Promise<boolean | string>;
  /** Look, change nothing: say whether there is something to do. Runs under --dry-run too. */
  check: (ctx: Context<O, S>) => Promise<CheckResult<D>> | CheckResult<D>;
  /** Make the change check() described. Never runs under --dry-run. */
  apply?: (ctx: Context<O, S>, change: Change<D>) => Promise<string | void> | string | void;
  /** Show a spinner while it runs. */
  long?: boolean;
}

export interface Step<O extends OptionSpecs = OptionSpecs, S extends object = State> extends StepSpec<O, any, S> {
  id: string;
}

/** Declare a step: `step('create-sr', { title, check, apply })`. The runbook page shows it by its id. */
export function step<O extends OptionSpecs = OptionSpecs, D = any, S extends object = State>(
  id: string,
  spec: StepSpec<O, D, S>,
): Step<O, S> {
  if (!/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(id)) throw new TypeError(`step id '${id}' must be kebab-case`);
  return { id, ...(spec as StepSpec<O, any, S>) };
}

/** What `fileStep` takes: the file's host path and the edit from its current text to the new one. */
export interface FileStepSpec<O extends OptionSpecs = OptionSpecs, S extends object = State> {
  title: string;
  when?: StepSpec<O, any, S>['when'];
  /** The host path of the file. */
  file: (ctx: Context<O, S>) => string | Promise<string>;
  /** The new text from the current one (undefined: the file does not exist). Return it unchanged for no change. */
  edit: (current: string | undefined, ctx: Context<O, S>) => string | Promise<string>;
  mode?: number;
}

/** A step that edits one text file: diff shown, FILE.orig kept, atomic write. */
export function fileStep<O extends OptionSpecs = OptionSpecs, S extends object = State>(
  id: string,
  spec: FileStepSpec<O, S>,
): Step<O, S> {
  return step<O, FileEdit, S>(id, {
    title: spec.title,
    ...(spec.when ? { when: spec.when } : {}),
    async check(ctx) {
      const file = await spec.file(ctx);
      const edit = await ctx.planEdit(file, (cur) => spec.edit(cur, ctx));
      if (!edit.changed) return ok(`${file} is already as it should be`);
      return change(edit.before === undefined ? `create ${file}` : `edit ${file}`, { diff: edit.diff, data: edit });
    },
    async apply(ctx, c) {
      const edit = c.data as FileEdit;
      const backup = await ctx.applyEdit(edit, spec.mode !== undefined ? { mode: spec.mode } : {});
      return backup ? `${edit.path} written (backup: ${backup})` : `${edit.path} written`;
    },
  });
}

/* ------------------------------------------------------------------ playbook */

/** The step constructors a playbook's `steps(make)` receives, typed with its options and state. */
export interface StepMakers<O extends OptionSpecs, S extends object> {
  step<D = any>(id: string, spec: StepSpec<O, D, S>): Step<O, S>;
  fileStep(id: string, spec: FileStepSpec<O, S>): Step<O, S>;
}

export interface PlaybookSpec<O extends OptionSpecs, S extends object = State> {
  name: string;
  summary: string;
  /** A paragraph or two for --help. */
  description?: string;
  args?: readonly ArgSpec[];
  options: O;
  /** Examples for --help: command lines without the program name. */
  examples?: readonly string[];
  /** Transports the playbook supports (default: all). */
  transports?: readonly TransportKind[];
  /** The shared state every run starts from; its type is what every step sees as `ctx.state`. */
  state?: () => S;
  /** Cross-option validation after parsing (throw UsageError). */
  validate?: (ctx: Context<O, S>) => void | Promise<void>;
  /**
   * The procedure. Written as `steps: ({ step, fileStep }) => [step('id', {...}), ...]`, every step's `ctx`
   * is typed with this playbook's options and state.
   */
  steps: readonly Step<O, S>[] | ((make: StepMakers<O, S>) => readonly Step<O, S>[]);
  /** Lines printed after the steps ran (not under --dry-run unless `dryRun` is true). */
  finish?: (ctx: Context<O, S>, outcome: StepOutcome[]) => void | Promise<void>;
}

/** A playbook spec with its steps made. */
interface ResolvedSpec<O extends OptionSpecs, S extends object> extends PlaybookSpec<O, S> {
  steps: readonly Step<O, S>[];
}

export interface Playbook<O extends OptionSpecs, S extends object = State> extends ResolvedSpec<O, S> {
  readonly version: string;
  /**
   * Parse `argv` and run. Resolves to the exit code (also set as process.exitCode). Called without
   * arguments from the playbook's own file, it does nothing while the file is loaded by
   * `runPlaybookFile` (in-process runs), which then calls `runWith`.
   */
  run(argv?: readonly string[]): Promise<ExitCode>;
  /** Run with `argv` on the given streams, in this process: no signal handlers, no process.exitCode. */
  runWith(argv: readonly string[], io: Io): Promise<ExitCode>;
  help(): string;
  describe(): PlaybookDescription;
}

export interface StepOutcome {
  id: string;
  title: string;
  status: 'ok' | 'changed' | 'would-change' | 'skipped' | 'failed' | 'declined' | 'not-run';
  message: string;
  diff?: string;
}

export interface PlaybookDescription {
  name: string;
  version: string;
  summary: string;
  description?: string;
  /** Each with its rules (file kind, size, length, pattern, address) where declared. */
  args: ({ name: string; description: string; required?: boolean } & DescribedRule)[];
  options: ({
    name: string;
    usage: string;
    type: string;
    description: string;
    details: string;
    default?: unknown;
    choices?: readonly string[];
    required?: boolean;
    /** Given more than once, each value counts (a list). */
    repeatable?: boolean;
  } & DescribedRule)[];
  commonOptions: ({ name: string; usage: string; description: string; type: string } & DescribedRule)[];
  steps: { id: string; title: string }[];
  exitCodes: typeof EXIT_CODES;
  transports: readonly TransportKind[];
  examples: readonly string[];
}

export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * The arguments meant for the playbook: after `node FILE` or the installed executable,
 * and after `zx [zx options] FILE` when run through zx's command line.
 */
export function scriptArgv(argv: readonly string[] = process.argv): string[] {
  let launcher = '';
  try {
    launcher = realpathSync(argv[1] ?? '');
  } catch {
    launcher = argv[1] ?? '';
  }
  if (!/[\\/]zx[\\/]build[\\/]cli\.[cm]?js$/.test(launcher)) return argv.slice(2);
  const zxValued = new Set([
    '--shell',
    '--prefix',
    '--postfix',
    '--eval',
    '-e',
    '--cwd',
    '--ext',
    '--registry',
    '--env',
    '--env-file',
  ]);
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i] as string;
    if (zxValued.has(a)) {
      i++;
      continue;
    }
    if (!a.startsWith('-')) return argv.slice(i + 1);
  }
  return [];
}

/** Declare a playbook. Run it with `await pb.run()` at the end of the file. */
export function definePlaybook<const O extends OptionSpecs, S extends object = State>(
  input: PlaybookSpec<O, S>,
): Playbook<O, S> {
  const makers: StepMakers<O, S> = { step: (id, s) => step(id, s), fileStep: (id, s) => fileStep(id, s) };
  const spec: ResolvedSpec<O, S> = {
    ...input,
    steps: typeof input.steps === 'function' ? input.steps(makers) : input.steps,
  };
  const ids = new Set<string>();
  for (const s of spec.steps) {
    if (ids.has(s.id)) throw new TypeError(`${spec.name}: step id '${s.id}' is used twice`);
    ids.add(s.id);
  }
  for (const name of Object.keys(spec.options)) {
    if (name in COMMON_OPTIONS) throw new TypeError(`${spec.name}: option --${name} is a common option`);
  }
  const version = packageVersion();
  const pb: Playbook<O, S> = {
    ...spec,
    version,
    help: () => helpText(spec, version),
    describe: () => describe(spec, version),
    run: (argv) =>
      argv === undefined && loadingInProcess() ? Promise.resolve(EXIT.ok) : runMain(argv ?? scriptArgv()),
    runWith: (argv, io) => withIo(io, () => runPlaybook(spec, version, argv)),
  };
  const runMain = async (argv: readonly string[]) => {
    const code = await runPlaybook(spec, version, argv);
    process.exitCode = code;
    return code;
  };
  return pb;
}

function usageLine<O extends OptionSpecs, S extends object>(spec: ResolvedSpec<O, S>): string {
  const args = (spec.args ?? []).map((a) => (a.required === false ? `[${a.name}]` : a.name));
  return [spec.name, ...args, '[options]'].join(' ');
}

function helpText<O extends OptionSpecs, S extends object>(spec: ResolvedSpec<O, S>, version: string): string {
  const out: string[] = [`Usage: ${usageLine(spec)}`, '', spec.summary];
  if (spec.description) out.push('', spec.description.trim());
  if (spec.args?.length) {
    out.push('', 'Arguments:');
    for (const a of spec.args) out.push(`  ${a.name.padEnd(14)}${a.description}`);
  }
  if (Object.keys(spec.options).length) out.push('', 'Options:', formatOptionTable(spec.options));
  const common = Object.fromEntries(
    Object.entries(COMMON_OPTIONS).filter(([n]) => {
      const t = spec.transports ?? ['local', 'root', 'ssh'];
      if ((n === 'host' || n === 'ssh-config') && !t.includes('ssh')) return false;
      if (n === 'root' && !t.includes('root')) return false;
      return true;
    }),
  );
  out.push('', 'Common options:', formatOptionTable(common));
  out.push('', 'Exit codes:');
  for (const e of EXIT_CODES) out.push(`  ${e.code}  ${e.meaning}`);
  out.push('', ...wrapText(AFTER_A_FAILURE, 78).map((l) => `  ${l}`));
  if (spec.examples?.length) {
    out.push('', 'Examples:');
    for (const e of spec.examples) out.push(`  ${spec.name} ${e}`);
  }
  out.push('', `xen-runbooks ${version}`);
  return out.join('\n');
}

function describe<O extends OptionSpecs, S extends object>(
  spec: ResolvedSpec<O, S>,
  version: string,
): PlaybookDescription {
  return {
    name: spec.name,
    version,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    args: (spec.args ?? []).map((a) => ({
      name: a.name,
      description: a.description,
      ...(a.required !== undefined ? { required: a.required } : {}),
      ...describeRule(a),
    })),
    options: Object.entries(spec.options).map(([name, s]) => ({
      name,
      usage: optionUsage(name, s),
      type: s.type,
      description: s.description,
      details: optionDetails(s),
      ...(s.default !== undefined ? { default: s.default } : {}),
      ...(s.choices ? { choices: s.choices } : {}),
      ...(s.required ? { required: true } : {}),
      ...(s.repeatable ? { repeatable: true } : {}),
      ...describeRule(s),
    })),
    commonOptions: Object.entries(COMMON_OPTIONS).map(([name, s]) => ({
      name,
      usage: optionUsage(name, s),
      description: s.description,
      type: s.type,
      ...describeRule(s),
    })),
    steps: spec.steps.map((s) => ({ id: s.id, title: s.title })),
    exitCodes: EXIT_CODES,
    transports: spec.transports ?? ['local', 'root', 'ssh'],
    examples: spec.examples ?? [],
  };
}

/* ------------------------------------------------------------------ running */

/** Set while `runPlaybookFile` imports a playbook file: its closing `await playbook.run()` then waits. */
const LOADING = Symbol.for('xen-runbooks.loading-in-process');
const loadingInProcess = () => Boolean((globalThis as Record<symbol, unknown>)[LOADING]);

const SYMBOL: Record<StepOutcome['status'], string> = {
  ok: '✓',
  changed: '✚',
  'would-change': '~',
  skipped: '–',
  failed: '✗',
  declined: '✗',
  'not-run': ' ',
};

async function runPlaybook<O extends OptionSpecs, S extends object>(
  spec: ResolvedSpec<O, S>,
  version: string,
  argv: readonly string[],
): Promise<ExitCode> {
  const io = currentIo();
  const isTTY = () => io.interactive;
  const jsonMode = argv.includes('--json');
  const humanOut = (text: string) => (jsonMode ? io.err : io.out)(`${text}\n`);
  const errOut = (text: string) => io.err(`${text}\n`);
  const warnings: string[] = [];
  const outcomes: StepOutcome[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  const report: Record<string, unknown> = {};
  let transport: Transport | undefined;
  let exitCode: ExitCode = EXIT.ok;
  let error: PlaybookError | undefined;
  let dryRun = false;
  let parsedOk = false;

  const runCleanups = async () => {
    while (cleanups.length) {
      const fn = cleanups.pop() as () => Promise<void> | void;
      try {
        await fn();
      } catch (e) {
        errOut(`cleanup failed: ${(e as Error).message}`);
      }
    }
  };
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    errOut(`\n${spec.name}: interrupted (${sig}); cleaning up…`);
    // The transport's own temporary files (the ssh control socket's directory) go too.
    void runCleanups()
      .then(() => transport?.close())
      .catch(() => undefined)
      .finally(() => {
        if (sig === 'SIGINT') process.exit(130);
        // SIGTERM, SIGHUP: once cleaned up, die of the signal itself (the shell reports 143, 129).
        // process.exit() can wait forever for a libuv thread stuck in a blocking open (a FIFO
        // without a writer); the signal, back to its default action, cannot.
        process.exitCode = 128 + (sig === 'SIGHUP' ? 1 : 15);
        process.removeAllListeners(sig);
        process.kill(process.pid, sig);
      });
  };
  // Only a run that owns the process answers its signals; an in-process run leaves them to its caller.
  // SIGHUP is the terminal or the ssh session going away under a run: it cleans up as for SIGTERM
  // (a mounted image unmounted, its loop device detached) instead of dying on the spot.
  const ownsProcess = io === processIo;
  if (ownsProcess) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    process.once('SIGHUP', onSignal);
  }

  try {
    const parsed = parseOptions(argv, spec.options, spec.args ?? []);
    const { common } = parsed;
    if (common.help) {
      io.out(`${helpText(spec, version)}\n`);
      return finish(EXIT.ok, false);
    }
    if (common.version) {
      io.out(`${spec.name} (xen-runbooks) ${version}\n`);
      return finish(EXIT.ok, false);
    }
    if (common.describe) {
      io.out(`${JSON.stringify(describe(spec, version), null, 2)}\n`);
      return finish(EXIT.ok, false);
    }
    parsedOk = true;
    dryRun = common['dry-run'];
    const allowed = spec.transports ?? ['local', 'root', 'ssh'];
    if (common.host && common.root) throw new UsageError('--host and --root cannot be used together');
    if (common['ssh-config'] && !common.host) throw new UsageError('--ssh-config goes with --host');
    const verbose = common.verbose;
    const observe = verbose
      ? (a: readonly string[], t: Transport) =>
          errOut(`+ ${t.kind === 'ssh' ? `[${t.label}] ` : ''}${formatCommand(a)}`)
      : undefined;
    if (common.host) {
      if (!allowed.includes('ssh'))
        throw new UsageError(`--host: ${spec.name} does not run over ssh: run it on the host itself`);
      transport = new SshTransport(
        { destination: common.host, ...(common['ssh-config'] ? { configFile: common['ssh-config'] } : {}) },
        observe,
      );
    } else if (common.root) {
      if (!allowed.includes('root')) throw new UsageError(`--root: ${spec.name} does not take --root`);
      transport = new RootTransport(common.root, observe);
    } else {
      transport = new LocalTransport(observe);
    }
    let running: string | undefined;
    // A recording run hears of the transport's commands and of the processes its steps start themselves.
    const tell = io.onCommand ? processTeller(transport, io.onCommand, () => running) : undefined;
    if (tell) hearProcesses(io, tell);
    const host = tell ? recordedTransport(transport, tell) : transport;
    const yes = common.yes;

    const log: Logger = {
      info: (t) => humanOut(t),
      warn: (t) => {
        warnings.push(t);
        errOut(`warning: ${t}`);
      },
      detail: (t) => {
        if (verbose) errOut(t);
      },
    };
    const $fn = ((first: TemplateStringsArray | RunOptions, ...values: unknown[]) => {
      if (Array.isArray(first) && 'raw' in (first as object)) {
        return host.exec(templateToArgv(first as TemplateStringsArray, values));
      }
      const opts = first as RunOptions;
      return (pieces: TemplateStringsArray, ...vals: unknown[]) => host.exec(templateToArgv(pieces, vals), opts);
    }) as CommandFn;

    const ctx: Context<O, S> = {
      name: spec.name,
      opts: parsed.opts,
      args: parsed.args,
      common,
      given: parsed.given,
      dryRun,
      host,
      $: $fn,
      log,
      state: spec.state ? spec.state() : ({} as S),
      report,
      async confirm(question) {
        if (yes) return true;
        if (dryRun) return false;
        if (!isTTY()) return false;
        const a = await ask(io, `${question} [y/N] `);
        return a === 'y' || a === 'yes';
      },
      cleanup(fn) {
        cleanups.push(fn);
      },
      planEdit: (file, transform) => planEdit(host, file, transform),
      applyEdit: (edit, o) => applyEdit(host, edit, { warn: log.warn, ...o }),
      progress: (title, fn) => progress(title, fn),
    };

    // Every file or directory an option or argument names is what its declaration says, before anything runs.
    await checkFileInputs(
      transport,
      fileInputs({ ...COMMON_OPTIONS, ...spec.options }, { ...common, ...parsed.opts }, spec.args ?? [], parsed.args),
      new LocalTransport(),
    );
    await spec.validate?.(ctx);
    humanOut(`${spec.name} ${version} — ${host.label}${dryRun ? ' — dry run: nothing will be changed' : ''}`);

    let applyAll = yes;
    for (const [index, s] of spec.steps.entries()) {
      const outcome: StepOutcome = { id: s.id, title: s.title, status: 'not-run', message: '' };
      outcomes.push(outcome);
      running = s.id;
      const tag = `[${index + 1}/${spec.steps.length}] ${s.title}`;
      try {
        const when = s.when ? await s.when(ctx) : true;
        if (when !== true) {
          outcome.status = 'skipped';
          outcome.message = typeof when === 'string' ? when : 'does not apply';
          humanOut(`${SYMBOL.skipped} ${tag}: ${outcome.message}`);
          continue;
        }
        const checked = s.long ? await ctx.progress(s.title, async () => s.check(ctx)) : await s.check(ctx);
        if (checked.status === 'ok' || checked.status === 'skip') {
          outcome.status = checked.status === 'ok' ? 'ok' : 'skipped';
          outcome.message = checked.message;
          humanOut(`${SYMBOL[outcome.status]} ${tag}: ${checked.message}`);
          continue;
        }
        outcome.message = checked.message;
        if (checked.diff) outcome.diff = checked.diff;
        if (dryRun) {
          outcome.status = 'would-change';
          humanOut(`${SYMBOL['would-change']} ${tag}: would ${checked.message}`);
          if (checked.diff) humanOut(indent(checked.diff));
          continue;
        }
        humanOut(`${SYMBOL['would-change']} ${tag}: ${checked.message}`);
        if (checked.diff) humanOut(indent(checked.diff));
        if (!applyAll) {
          if (!isTTY()) {
            outcome.status = 'declined';
            throw new PlaybookError(
              EXIT.refused,
              `refusing to change anything without a terminal to confirm: run again with --yes to apply, or --dry-run to see the plan`,
            );
          }
          const answer = await askApply(io, s.title);
          if (answer === 'all') applyAll = true;
          else if (answer === 'no') {
            outcome.status = 'declined';
            throw new PlaybookError(
              EXIT.refused,
              `stopped: '${s.title}' was not confirmed; the steps before it stay as they are`,
            );
          }
        }
        if (!s.apply) throw new StepError(`step ${s.id} reported a change but has no apply`);
        const apply = s.apply;
        const msg = s.long ? await ctx.progress(s.title, async () => apply(ctx, checked)) : await apply(ctx, checked);
        outcome.status = 'changed';
        if (typeof msg === 'string' && msg) outcome.message = msg;
        humanOut(`${SYMBOL.changed} ${tag}: ${outcome.message}`);
      } catch (e) {
        if (outcome.status !== 'declined') outcome.status = 'failed';
        if (e instanceof PlaybookError) {
          if (outcome.status === 'failed') outcome.message = e.message;
          throw e;
        }
        outcome.message = (e as Error).message;
        throw new StepError(`${s.title}: ${(e as Error).message}`);
      }
    }
    running = undefined;
    if (spec.finish) await spec.finish(ctx, outcomes);
    const changed = outcomes.filter((o) => o.status === 'changed').length;
    const would = outcomes.filter((o) => o.status === 'would-change').length;
    humanOut(
      dryRun
        ? would
          ? `Dry run: ${would} step${would === 1 ? '' : 's'} would change something. Nothing was changed.`
          : 'Dry run: nothing to do.'
        : changed
          ? `Done: ${changed} step${changed === 1 ? '' : 's'} changed something.`
          : 'Nothing to do: everything was already in place.',
    );
    return await finish(EXIT.ok, true);
  } catch (e) {
    if (e instanceof PlaybookError) error = e;
    else error = new StepError(`unexpected error: ${(e as Error)?.stack ?? String(e)}`);
    const label = { 1: 'failed', 2: 'usage', 3: 'refused' }[error.exitCode as 1 | 2 | 3] ?? 'error';
    errOut(`${spec.name}: ${label}: ${error.message}`);
    if (error.hint) errOut(`  ${error.hint}`);
    const applied = outcomes.filter((o) => o.status === 'changed');
    if (applied.length) {
      // The steps before the failure are not undone: say which, so nothing is assumed unchanged.
      errOut(`${spec.name}: left applied by this run (the steps before the failure are not undone):`);
      for (const o of applied) {
        errOut(
          `  ${SYMBOL.changed} [${spec.steps.findIndex((s) => s.id === o.id) + 1}/${spec.steps.length}] ${o.title}: ${o.message}`,
        );
      }
      errOut('  Run it again once the cause is fixed: these steps are found in place and the rest is done.');
    }
    if (error.exitCode === EXIT.usage && !parsedOk) errOut(`Try '${spec.name} --help'.`);
    return await finish(error.exitCode, true);
  } finally {
    if (ownsProcess) {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('SIGHUP', onSignal);
    }
  }

  async function finish(code: ExitCode, printReport: boolean): Promise<ExitCode> {
    await runCleanups();
    await transport?.close();
    exitCode = code;
    if (jsonMode && printReport) {
      const body = {
        playbook: spec.name,
        version,
        host: transport?.label,
        dryRun,
        exitCode,
        ...(error ? { error: error.message } : {}),
        ...(error?.hint ? { hint: error.hint } : {}),
        steps: outcomes,
        /** The steps this run changed; after a failure, what it left applied. */
        applied: outcomes
          .filter((o) => o.status === 'changed')
          .map((o) => ({ id: o.id, title: o.title, message: o.message })),
        warnings,
        data: report,
      };
      io.out(`${JSON.stringify(body, null, 2)}\n`);
    }
    return code;
  }
}

function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const w of text.split(/\s+/)) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

/** One answer from the terminal, trimmed and lower-cased (the question goes to stderr). */
async function ask(io: Io, question: string): Promise<string> {
  io.err(question);
  // Loaded for a question only: most runs ask none.
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: io.stdin, terminal: false });
  try {
    return (await rl.question('')).trim().toLowerCase();
  } finally {
    rl.close();
  }
}

async function askApply(io: Io, title: string): Promise<'yes' | 'no' | 'all'> {
  const a = await ask(io, `Apply '${title}'? [y]es / [n]o / [a]ll `);
  if (a === 'a' || a === 'all') return 'all';
  if (a === 'y' || a === 'yes') return 'yes';
  return 'no';
}

/**
 * A spinner on a terminal. Elsewhere (logs, CI) a line once the work has taken more than a
 * second, and its duration when it ends: quick work prints nothing.
 */
export async function progress<T>(title: string, fn: () => Promise<T>): Promise<T> {
  const io = currentIo();
  if (io === processIo && process.stderr.isTTY && !process.env.CI) {
    // zx's spinner, loaded only for a terminal: the whole of zx costs 40 ms a start.
    const { spinner } = await import('zx');
    return spinner(title, fn);
  }
  const started = Date.now();
  let announced = false;
  const timer = setTimeout(() => {
    announced = true;
    io.err(`  … ${title}\n`);
  }, 1000);
  try {
    return await fn();
  } finally {
    clearTimeout(timer);
    if (announced) io.err(`  … ${title}: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
}

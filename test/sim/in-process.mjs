// @ts-check
/**
 * The simulators answered in this process, for in-process playbook runs (test/helpers/playbook.ts):
 * a command whose name PATH finds first in test/sim/bin runs the same simulator code its bin/
 * script would run, with the same state directory and the same record in calls.jsonl, without
 * starting Node for it. Commands PATH finds elsewhere are left to the engine (undefined).
 * Runs in a new process (XR_TEST_SPAWN=1) and over ssh keep proving the bin/ scripts themselves.
 */
import { accessSync, appendFileSync, constants, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CALLS_FILE, record, runStandIn } from './record.mjs';
import { runXe } from './xe.mjs';
import { runXenstoreRead, runXenstoreWrite, runXl } from './xl.mjs';

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bin');

/** @typedef {{ code: number, stdout: string, stderr: string }} Answer */

/** @type {Record<string, (argv: string[], dir: string) => Answer>} */
const TOOLS = {
  xl: (argv, dir) => runXl('xl', argv, dir, process.env.XR_SIM_ROOT ? { root: process.env.XR_SIM_ROOT } : {}),
  xm: (argv, dir) => runXl('xm', argv, dir, process.env.XR_SIM_ROOT ? { root: process.env.XR_SIM_ROOT } : {}),
  xe: (argv, dir) => {
    // bin/xe → xe.mjs main(): the call is recorded, then run.
    mkdirSync(dir, { recursive: true });
    appendFileSync(path.join(dir, CALLS_FILE), `${JSON.stringify({ cmd: 'xe', argv })}\n`);
    return runXe(argv, { dir });
  },
  'xenstore-read': (argv, dir) => runXenstoreRead(argv, dir),
  'xenstore-write': (argv, dir) => runXenstoreWrite(argv, dir),
  ...Object.fromEntries(
    ['apt-get', 'add-apt-repository', 'update-rc.d', 'update-grub', 'pvcreate'].map((cmd) => [
      cmd,
      (/** @type {string[]} */ argv) => {
        record(cmd, argv);
        const r = runStandIn(/** @type {any} */ (cmd), argv);
        return { code: r.code ?? 0, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
      },
    ]),
  ),
};

/** The directory PATH finds `name` in first, as a shell's command lookup does. */
function lookup(/** @type {string} */ name) {
  if (name.includes('/')) return path.dirname(path.resolve(name));
  for (const dir of (process.env.PATH ?? '').split(':')) {
    try {
      accessSync(path.join(dir || '.', name), constants.X_OK);
      return path.resolve(dir || '.');
    } catch {
      /* next */
    }
  }
  return undefined;
}

/**
 * The simulator's answer to `argv`, or undefined when PATH does not lead to a simulator.
 * @param {readonly string[]} argv
 * @returns {Answer | undefined}
 */
export function answerSimulated(argv) {
  const name = argv[0] ?? '';
  const tool = TOOLS[path.basename(name)];
  if (!tool || lookup(name) !== BIN) return undefined;
  const dir = process.env.XR_SIM_DIR;
  if (!dir) return { code: 70, stdout: '', stderr: `${name} simulator: XR_SIM_DIR is not set\n` };
  try {
    return tool(argv.slice(1), dir);
  } catch (e) {
    // As the bin/ script would end: Node prints the uncaught error and exits 1.
    return { code: 1, stdout: '', stderr: `${/** @type {Error} */ (e).stack ?? String(e)}\n` };
  }
}

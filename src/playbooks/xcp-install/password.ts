/** The pool master's password: from --pool-password-file (a file, or - for standard input) or asked on the terminal. */
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { usage } from '../../engine/errors.js';
import { currentIo } from '../../engine/io.js';
import type { Logger } from '../../engine/runner.js';
import { readSecretFile } from '../../engine/secret.js';
import { assertXeValue } from '../../xen/xe.js';

/** The password a --pool-password-file text holds: one line, not empty. */
export function passwordFromText(text: string, file: string): string {
  const pw = text.replace(/\r?\n$/, '');
  if (pw === '') throw usage(`--pool-password-file: ${file === '-' ? 'standard input' : file} is empty`);
  if (/[\r\n]/.test(pw)) throw usage('--pool-password-file: the password must be on one line');
  return pw;
}

/** Read the pool password from --pool-password-file (a local file, or - for standard input). */
export async function readPassword(file: string): Promise<string> {
  // A small regular file (or standard input), refused at once if it is a FIFO, a device or too large.
  return passwordFromText(await readSecretFile(file, '--pool-password-file'), file);
}

/**
 * The password for --join-pool, read while the options are checked: from the file (a warning when
 * other users can read it); undefined when it is to be asked on the terminal; refused when there is
 * no file and no terminal to ask on (a dry run does not need it).
 */
export async function poolPasswordOption(
  file: string | undefined,
  ctx: { log: Logger; dryRun: boolean },
): Promise<string | undefined> {
  if (file) {
    if (file !== '-') {
      const st = await stat(file).catch(() => undefined);
      if (st && st.mode & 0o077) ctx.log.warn(`${file} can be read by other users: chmod 600 ${file}`);
    }
    return readPassword(file);
  }
  if (!currentIo().stdin.isTTY && !ctx.dryRun) {
    throw usage(
      "--join-pool needs the pool master's password: give --pool-password-file FILE (or -), or run on a terminal to be asked",
    );
  }
  return undefined;
}

/** Ask for a password on the terminal without echo. */
async function askPassword(prompt: string): Promise<string> {
  // readline in terminal mode puts the tty in raw mode (no echo); what it would draw goes nowhere.
  const mute = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = createInterface({ input: currentIo().stdin, output: mute, terminal: true });
  currentIo().err(prompt);
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    currentIo().err('\n');
  }
}

/** The password of USER on the master, asked on the terminal (there must be one). */
export async function askPoolPassword(user: string, address: string): Promise<string> {
  if (!currentIo().stdin.isTTY) throw usage('the pool password is needed: give --pool-password-file');
  const password = await askPassword(`Password of ${user} on ${address}: `);
  if (!password) throw usage('no password given');
  assertXeValue('the pool password', password);
  return password;
}

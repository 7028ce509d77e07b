import { spawn } from 'node:child_process';
import { formatCommand } from '../../src/engine/index.js';
import { childEnv, ROOT } from './playbook.js';
import { tool } from './tools.js';

/**
 * Run a command on a real pseudo-terminal (util-linux `script`), typing one answer each time
 * a question ending in `[y/N] ` or `[a]ll ` appears.
 */
export function onTerminal(
  argv: string[],
  answers: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(tool('script'), ['-qfec', formatCommand(argv), '/dev/null'], {
      cwd: ROOT,
      env: childEnv({ TERM: 'dumb', CI: '', ...env }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    const pending = [...answers];
    const onData = (d: Buffer) => {
      output += d.toString();
      const asked = output.split(/\[a\]ll |\[y\/N\] /).length - 1;
      if (asked > answers.length - pending.length && pending.length) child.stdin.write(`${pending.shift()}\n`);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

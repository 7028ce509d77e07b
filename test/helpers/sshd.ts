import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, chmodSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { tool } from './tools.js';

export interface Sshd {
  /** USER@127.0.0.1, for --host. */
  destination: string;
  /** Client configuration (port, throwaway key, known_hosts): pass as --ssh-config. */
  configFile: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * A real OpenSSH server on 127.0.0.1 with throwaway host and user keys, for the current user.
 * `env` is set in every session (sshd SetEnv): e.g. PATH with the simulators, XR_SIM_DIR.
 */
export async function startSshd(opts: { env?: Record<string, string> } = {}): Promise<Sshd> {
  const sshd = tool('sshd');
  const keygen = tool('ssh-keygen');
  tool('ssh');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xr-sshd-'));
  chmodSync(dir, 0o700);
  const k = (name: string) => path.join(dir, name);
  execFileSync(keygen, ['-q', '-t', 'ed25519', '-N', '', '-f', k('host_key')]);
  execFileSync(keygen, ['-q', '-t', 'ed25519', '-N', '', '-f', k('user_key')]);
  writeFileSync(k('authorized_keys'), readFileSync(k('user_key.pub')));
  chmodSync(k('authorized_keys'), 0o600);
  const port = await freePort();
  const user = os.userInfo().username;
  // SHLVL=1: bash, the login shell of root here, sources ~/.bashrc when sshd runs it (shell.c
  // run_startup_files, SSH_SOURCE_BASHRC in Debian's build) only while shell_level < 2, and
  // shell_level is SHLVL + 1. A machine's ~/.bashrc (this one's runs `pyenv init -`) took each
  // session 130 ms: a multiplexed `ssh … true` 148 ms, 13 ms with it. Only the first SetEnv
  // line counts (servconf.c), so it is one line with the caller's variables.
  const setEnv = Object.entries({ SHLVL: '1', ...(opts.env ?? {}) })
    .map(([n, v]) => `"${n}=${v.replace(/"/g, '')}"`)
    .join(' ');
  writeFileSync(
    k('sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${k('host_key')}`,
      `AuthorizedKeysFile ${k('authorized_keys')}`,
      `PidFile ${k('sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      'LogLevel ERROR',
      // OpenSSH 9's default sntrup761x25519 key exchange cost each new connection about 100 ms
      // of CPU here (ssh … true 355 ms, 258 ms with curve25519).
      'KexAlgorithms curve25519-sha256',
      `SetEnv ${setEnv}`,
      '',
    ].join('\n'),
  );
  const hostPub = readFileSync(k('host_key.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
  writeFileSync(k('known_hosts'), `[127.0.0.1]:${port} ${hostPub}\n`);
  writeFileSync(
    k('ssh_config'),
    [
      'Host 127.0.0.1',
      `  Port ${port}`,
      `  IdentityFile ${k('user_key')}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${k('known_hosts')}`,
      '  GlobalKnownHostsFile /dev/null',
      '',
    ].join('\n'),
  );
  // sshd wants an absolute path and the privilege separation directory.
  execFileSync('mkdir', ['-p', '/run/sshd']);
  const child: ChildProcess = spawn(sshd, ['-D', '-e', '-f', k('sshd_config')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (log += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const destination = `${user}@127.0.0.1`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      execFileSync('ssh', ['-F', k('ssh_config'), '-o', 'BatchMode=yes', destination, 'true'], { stdio: 'pipe' });
      break;
    } catch (e) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill();
        throw new Error(`sshd did not start: ${log}${(e as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    destination,
    configFile: k('ssh_config'),
    port,
    dir,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

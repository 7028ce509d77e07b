/**
 * Reaching dom0: throwaway keys, the `Host xenlab` entry of .lab/ssh_config, and waiting until
 * sshd answers.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const HOST_ALIAS = 'xenlab';

export interface SshConfigOptions {
  port: number;
  identityFile: string;
  knownHostsFile: string;
  /** Where ssh keeps the shared connection's socket. */
  controlDir?: string;
}

/**
 * The `Host xenlab` entry: root on 127.0.0.1:PORT, dom0's throwaway host key checked. The key
 * exchange is curve25519-sha256, not OpenSSH 9's default sntrup761x25519-sha512: under QEMU's
 * emulation the post-quantum half cost dom0 about 0.3 s of its CPU a connection (`ssh xenlab
 * true` 0.59-0.73 s, 0.30-0.39 s with curve25519, on an idle machine; the cipher made no
 * difference), and the lab's tests connect hundreds of times a run. A throwaway host on
 * 127.0.0.1 loses nothing by it.
 */
export function sshConfigText(o: SshConfigOptions): string {
  return [
    `Host ${HOST_ALIAS}`,
    '  HostName 127.0.0.1',
    `  Port ${o.port}`,
    '  User root',
    `  IdentityFile ${o.identityFile}`,
    '  IdentitiesOnly yes',
    '  KexAlgorithms curve25519-sha256',
    `  UserKnownHostsFile ${o.knownHostsFile}`,
    `  HostKeyAlias ${HOST_ALIAS}`,
    '  StrictHostKeyChecking yes',
    '  BatchMode yes',
    '  LogLevel ERROR',
    '',
  ].join('\n');
}

/** known_hosts line for dom0's host key under the alias. */
export function knownHostsLine(hostKeyPub: string): string {
  const [type, key] = hostKeyPub.trim().split(/\s+/);
  if (!type || !key) throw new Error('not an OpenSSH public key');
  return `${HOST_ALIAS} ${type} ${key}\n`;
}

/** ssh-keygen -t ed25519 into FILE (and FILE.pub) unless it is there. */
export async function ensureKey(file: string, comment: string): Promise<{ priv: string; pub: string }> {
  if (!existsSync(file) || !existsSync(`${file}.pub`)) {
    await rm(file, { force: true });
    await rm(`${file}.pub`, { force: true });
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  }
  return { priv: await readFile(file, 'utf8'), pub: await readFile(`${file}.pub`, 'utf8') };
}

/** Run COMMAND on xenlab through the config; exit code and output, never throws on failure. */
export async function sshRun(
  configFile: string,
  command: string[],
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('ssh', ['-F', configFile, '-o', 'ConnectTimeout=10', HOST_ALIAS, ...command], {
      timeout: timeoutMs,
      maxBuffer: 1 << 26,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string };
    return {
      code: typeof err.code === 'number' ? err.code : 255,
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? String(e),
    };
  }
}

/** Until `ssh xenlab true` succeeds; stops early when STOP says why. */
export async function waitForSsh(
  configFile: string,
  o: { timeoutMs: number; stop?: () => Promise<string | undefined>; tick?: (elapsedMs: number) => void },
): Promise<void> {
  const start = Date.now();
  for (;;) {
    const r = await sshRun(configFile, ['true'], 20_000);
    if (r.code === 0) return;
    const why = await o.stop?.();
    if (why) throw new Error(why);
    const elapsed = Date.now() - start;
    if (elapsed > o.timeoutMs)
      throw new Error(`ssh did not answer within ${Math.round(o.timeoutMs / 1000)} s: ${r.stderr.trim()}`);
    o.tick?.(elapsed);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

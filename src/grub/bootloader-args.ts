/**
 * The offset way out: from Xen 4.4.0 pygrub takes `--offset=BYTES` (tools/pygrub/src/pygrub,
 * RELEASE-4.4.0: "allow user to specify an explicit offset to fs") and then opens the
 * filesystem there instead of searching the partition table. An xl domain config passes it with
 * `bootloader_args = ['--offset=N']`; with xe, the VM's PV-bootloader-args. The domain config
 * keeps pygrub as its boot loader; any other bootloader_args stay.
 */

const ARGS_LINE = /^(\s*)bootloader_args\s*=\s*(.*?)\s*(#.*)?$/;

/** The bootloader_args of an xl config as a list of strings (a single string is one argument). */
export function bootloaderArgs(text: string): string[] | undefined {
  let out: string[] | undefined;
  for (const l of text.split('\n')) {
    const m = ARGS_LINE.exec(l);
    if (!m) continue;
    const v = (m[2] as string).trim();
    if (v.startsWith('[')) out = [...v.matchAll(/(["'])(.*?)\1/g)].map((x) => x[2] as string);
    else {
      const s = /^(["'])(.*)\1$/.exec(v);
      out = s ? [s[2] as string] : [v];
    }
  }
  return out;
}

/** The boot loader the config names (`pygrub`, `/usr/lib/xen-4.17/bin/pygrub`), if any. */
export function bootloaderOf(text: string): string | undefined {
  let out: string | undefined;
  for (const l of text.split('\n')) {
    const m = /^\s*bootloader\s*=\s*(["'])(.*?)\1/.exec(l);
    if (m) out = m[2];
  }
  return out;
}

/**
 * The config with `--offset=N` in bootloader_args: an existing --offset is replaced, other
 * arguments are kept; a config that already says so comes back unchanged.
 */
export function setPygrubOffset(text: string, offset: number): string {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new Error(`not a byte offset: ${offset}`);
  const want = `--offset=${offset}`;
  const now = bootloaderArgs(text);
  const args = [...(now ?? []).filter((a) => !/^--offset(=|$)/.test(a)), want];
  if (now && now.length === args.length && now.every((a, i) => a === args[i])) return text;
  for (const a of args) if (/['\\\n]/.test(a)) throw new Error(`refusing a bootloader argument with quotes: ${a}`);
  const line = `bootloader_args = [${args.map((a) => `'${a}'`).join(', ')}]`;
  const lines = text.split('\n');
  let last = -1;
  lines.forEach((l, i) => {
    if (ARGS_LINE.test(l)) last = i;
  });
  if (last >= 0) {
    lines[last] = line;
    return lines.join('\n');
  }
  // After the bootloader line, else at the end.
  let at = -1;
  lines.forEach((l, i) => {
    if (/^\s*bootloader\s*=/.test(l)) at = i + 1;
  });
  if (at === -1) at = lines.length && lines[lines.length - 1] === '' ? lines.length - 1 : lines.length;
  lines.splice(at, 0, line);
  return lines.join('\n');
}

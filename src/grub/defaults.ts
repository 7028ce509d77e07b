/**
 * /etc/default/grub, the shell fragment grub-mkconfig sources: GRUB_DEFAULT read as the shell
 * reads it and set in place. Used wherever a playbook makes a Xen entry the default.
 */

/** GRUB_DEFAULT as the shell reads the file (the last assignment wins); undefined when not set (GRUB uses 0). */
export function grubDefaultValue(defaults: string): string | undefined {
  let value: string | undefined;
  for (const line of defaults.split('\n')) {
    const m = /^\s*GRUB_DEFAULT=(.*)$/.exec(line);
    if (!m) continue;
    const raw = (m[1] ?? '').trim();
    const q = /^"((?:[^"\\]|\\.)*)"|^'([^']*)'/.exec(raw);
    if (q) value = q[1] !== undefined ? q[1].replace(/\\(["\\$`])/g, '$1') : (q[2] ?? '');
    else value = raw.split(/\s/)[0] ?? '';
  }
  return value;
}

/** Set GRUB_DEFAULT: the last assignment is replaced (it is the one that counts), or one is added first. */
export function setGrubDefault(defaults: string, value: string): string {
  const quoted = /^[A-Za-z0-9_.-]+$/.test(value) ? value : `"${value.replace(/(["\\$`])/g, '\\$1')}"`;
  const lines = defaults.split('\n');
  let last = -1;
  lines.forEach((l, i) => {
    if (/^\s*GRUB_DEFAULT=/.test(l)) last = i;
  });
  if (last < 0) {
    const body = defaults.endsWith('\n') || defaults === '' ? defaults : `${defaults}\n`;
    return `GRUB_DEFAULT=${quoted}\n${body}`;
  }
  lines[last] = (lines[last] as string).replace(/GRUB_DEFAULT=.*$/, `GRUB_DEFAULT=${quoted}`);
  return lines.join('\n');
}

/**
 * Commands are written as tagged templates, as with zx's `$`: every interpolated value is
 * exactly one argument (an array: one argument per element), glued to the literal text
 * it touches (`uuid=${vm}` is one argument). No shell ever re-splits a value: on this machine
 * the argv runs with no shell at all (spawn.ts), over ssh each word is quoted for the remote one.
 */
export type CommandValue = string | number | boolean | bigint | readonly (string | number)[];

export function templateToArgv(pieces: TemplateStringsArray | readonly string[], values: readonly unknown[]): string[] {
  const argv: string[] = [];
  let current: string | undefined; // the word being built; undefined between words
  const glue = (text: string) => {
    current = (current ?? '') + text;
  };
  const end = () => {
    if (current !== undefined) argv.push(current);
    current = undefined;
  };
  pieces.forEach((piece, i) => {
    // Literal text: whitespace separates words.
    const parts = piece.split(/(\s+)/);
    for (const part of parts) {
      if (part === '') continue;
      if (/^\s+$/.test(part)) end();
      else glue(part);
    }
    if (i < values.length) {
      const v = values[i];
      if (Array.isArray(v)) {
        // An array stands for several arguments; it must stand alone.
        if (current !== undefined) throw new TypeError('an array in a command must stand as its own word');
        const next = pieces[i + 1] ?? '';
        if (next !== '' && !/^\s/.test(next)) throw new TypeError('an array in a command must stand as its own word');
        for (const el of v) argv.push(stringify(el));
      } else {
        glue(stringify(v));
      }
    }
  });
  end();
  return argv;
}

function stringify(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v === undefined || v === null) throw new TypeError(`a command argument is ${String(v)}`);
  throw new TypeError(`a command argument must be a string or number, not ${typeof v}`);
}

/** Quote one argument for a POSIX shell (sh, bash, dash, busybox ash). */
export function shellQuote(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** A command line a person can paste into a POSIX shell. */
export function formatCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

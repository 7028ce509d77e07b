import { execLocal, templateToArgv, type CommandFn, type RunOptions } from '../engine/index.js';

/**
 * A `$` like the playbook context's, running on this machine: for the library's own callers
 * outside a playbook (tests, the demo, the benchmark).
 */
export function localCommands(): CommandFn {
  return ((first: TemplateStringsArray | RunOptions, ...values: unknown[]) => {
    if (Array.isArray(first) && 'raw' in (first as object))
      return execLocal(templateToArgv(first as TemplateStringsArray, values));
    const opts = first as RunOptions;
    return (pieces: TemplateStringsArray, ...vals: unknown[]) => execLocal(templateToArgv(pieces, vals), opts);
  }) as CommandFn;
}

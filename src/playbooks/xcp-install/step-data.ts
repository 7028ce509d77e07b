/** What a step is sure of by the time it runs: an option its `when` required, the data its check handed to apply. */

/** An option the step's `when` made sure of. */
export function need<T>(value: T | undefined, option: string): T {
  if (value === undefined) throw new Error(`--${option} is needed here`);
  return value;
}

/** What a step's check handed to its apply, where the check plans without data under --dry-run (nothing installed yet). */
export function dataOf<D>(c: { data?: D }): Exclude<D, undefined> {
  if (c.data === undefined) throw new Error('a change reached apply without the data its check computed');
  return c.data as Exclude<D, undefined>;
}

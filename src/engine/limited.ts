/**
 * Work that mostly waits (a disk, a browser), done a few items at a time in one process: the
 * upgrade check's guest images, the site tests' pages.
 */

/** Run `fn` over `items`, at most `limit` at once; resolves when all are done, rejects on the first failure. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

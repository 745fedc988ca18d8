/**
 * Runs `task` for every item, at most `concurrency` at once, and resolves with the results in the
 * items' order. On the first failure no further task starts, `onFailure` is called (to cancel the
 * running ones) and, once every started task has settled, the promise rejects with that failure.
 */
export async function runPool<Item, Result>(
  items: readonly Item[],
  concurrency: number,
  task: (item: Item, index: number) => Promise<Result>,
  onFailure: () => void = () => undefined,
): Promise<Result[]> {
  const results: Result[] = new Array<Result>(items.length);
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async () => {
    while (!failed && next < items.length) {
      const index = next;
      next += 1;
      try {
        results[index] = await task(items[index] as Item, index);
      } catch (error) {
        if (!failed) {
          failed = { error };
          onFailure();
        }
      }
    }
  };
  const workers = Math.max(1, Math.min(Math.floor(concurrency), items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  if (failed) throw failed.error;
  return results;
}

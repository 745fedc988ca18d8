import { RegistryError } from '@dtr-cache/registry-protocol';
import type { FillState } from './fill-state';
import { readOnWhen } from './pacing';

/**
 * Reads an upstream body into a fill: each chunk to its sink (batched writes; the readers are
 * signalled as bytes reach storage) and into its hand-off window (the readers are signalled at
 * once), pausing as {@link readOnWhen} says. A fill that keeps nothing also drops from its window
 * what every client has read. Resolves when the body ended with exactly the announced size (not
 * verified yet: that is the sink's commit).
 * @throws RegistryError `SIZE_INVALID` for more or fewer bytes than announced; the sink's write
 *   error; the body's error; `no client reads the download` for an abandoned fill that keeps
 *   nothing.
 */
export async function downloadInto(fill: FillState, body: AsyncIterable<unknown>): Promise<void> {
  const { sink, window, signal } = fill;
  const stored = () => signal.notify();
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    if (sink.size + buffer.length > fill.size) {
      throw new RegistryError('SIZE_INVALID', 'the upstream sent more bytes than it announced');
    }
    if (sink.errored) throw sink.errored;
    sink.write(buffer, stored);
    window.push(buffer, fill.kept ? 0 : fill.positions.slowest());
    signal.notify();
    const wait = readOnWhen(fill);
    if (wait) await wait;
  }
  if (sink.size !== fill.size) {
    throw new RegistryError('SIZE_INVALID', 'the upstream ended the blob early', {
      detail: { expected: fill.size, received: sink.size },
    });
  }
}

import { createRequire } from 'node:module';

/** The addon, or null where it was not built (no compiler at install, another platform). */
function load() {
  try {
    return createRequire(import.meta.url)('../build/Release/native_memory.node');
  } catch {
    return null;
  }
}

const addon = load();

/** True if {@link releaseFreeMemory} can give memory back on this system. */
export const canReleaseFreeMemory = addon !== null;

/**
 * Gives the C heap's free pages back to the system (glibc `malloc_trim(0)`): memory freed by
 * native code (TLS buffers, HTTP parsers) that glibc keeps resident because it lies between
 * allocations still in use. Synchronous; costs a few milliseconds per hundred MB of heap.
 * Returns true if memory was released; false if none was, or the addon is not available.
 */
export function releaseFreeMemory() {
  return addon ? addon.releaseFreeMemory() : false;
}

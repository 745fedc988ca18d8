/** True if {@link releaseFreeMemory} can give memory back on this system. */
export declare const canReleaseFreeMemory: boolean;

/**
 * Gives the C heap's free pages back to the system (glibc `malloc_trim(0)`): memory freed by
 * native code (TLS buffers, HTTP parsers) that glibc keeps resident because it lies between
 * allocations still in use. Synchronous; costs a few milliseconds per hundred MB of heap.
 * Returns true if memory was released; false if none was, or the addon is not available.
 */
export declare function releaseFreeMemory(): boolean;

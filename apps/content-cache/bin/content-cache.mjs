#!/usr/bin/env node
// Runs the content cache from its TypeScript sources: `content-cache /config.yml`.
//
// Memory. The cache's resident set is part of what it promises (the benchmark: under 200 MB while
// 8 clients pull a 1 GiB miss), so the server runs its sources bundled, with the Node options
// and environment that server-runtime.json names:
// - Sources bundled at start. tsx compiles through module hooks, which keep a second V8 isolate
//   (the hooks thread) alive for the whole run: 115 MB resident at idle against 86 MB without
//   it. So the sources are bundled with esbuild (0.3-0.9 s; kept between starts while the
//   sources are unchanged, see bundle.mjs) into a temporary folder kept while the server runs,
//   and Node runs that one plain module. Source maps (without the sources' text) keep stack
//   traces pointing at the .ts files.
// - `--initial-heap-size=64`. V8 sizes a new process's heap limits for small scripts. A cache
//   streams gigabytes through short-lived Buffers whose memory only a full collection frees, so
//   with those limits it ran a mark-compact every few tens of milliseconds (the benchmark's
//   64 KiB phase: 157 in 10 s; with a 64 MB initial heap 14, and 58% more requests/s). With
//   32 MB, V8's memory reducer shrank the heap in every pause between pulls and the next pulls
//   paid for it: 15 mark-compacts in 20 serial 4 MiB misses, none with 64 MB, and a miss took
//   22 ms instead of 27 (the mean of three runs' medians).
// - glibc malloc settings. Blob buffers are large and short-lived; glibc raises its mmap
//   threshold after freeing one and then serves them from heaps it rarely gives back, so the
//   resident set stayed where the busiest moment left it: 180 MB after 16 clients missed one
//   256 MiB blob at once, and the 8 × 1 GiB peak at 180 MB. A fixed 128 KiB threshold returns
//   such buffers on free, and two arenas bound the per-thread heaps: 120 MB after that phase,
//   151 MB at the peak. Possibly a price: two runs of the 16 simultaneous misses just after took
//   3.1-3.3 s against 2.6-3.0 s before (fresh pages for each buffer); full runs since, 3.0 s.
// Heap flags and malloc settings are read only when a process starts (NODE_OPTIONS refuses this
// heap flag): started without the flag, this launcher starts Node once more with both and stands
// in for that process (signals in, exit code out). The container image, `npm start` and the
// benchmark start the server with them directly: one process there.
import { readdirSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchServer } from '@dtr-cache/server-lifecycle/launcher';
import { bundleInto } from './bundle.mjs';

// The server (started by the launcher, or directly with the Node options).
/** True if a process with this pid runs (one of another user counts). */
function isRunning(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/**
 * Removes the bundles of servers that are gone: a server killed with SIGKILL cannot remove its
 * own. A bundle's folder is named after the pid of the server that made it.
 */
function removeStaleBundles() {
  for (const name of readdirSync(tmpdir())) {
    const pid = Number(/^content-cache-(\d+)-/.exec(name)?.[1]);
    if (pid && pid !== process.pid && !isRunning(pid))
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

await launchServer('content-cache', import.meta.url, async () => {
  removeStaleBundles();
  const directory = await mkdtemp(join(tmpdir(), `content-cache-${process.pid}-`));
  // Kept while the server runs: its worker processes (`workers`) run the same bundle.
  process.once('exit', () => rmSync(directory, { recursive: true, force: true }));
  const entry = await bundleInto(directory);
  process.setSourceMapsEnabled(true);
  // Evaluating the module starts the server; its source map is read while it loads.
  await import(pathToFileURL(entry).href);
});

#!/usr/bin/env node
// Runs dtr-api from its TypeScript sources (tsx), e.g. `dtr-api --config /etc/dtr/config.yml`.
//
// With the Node options server-runtime.json names: `--initial-heap-size=64`. V8 sizes a new
// process's heap for small scripts, and DTR streams blobs through short-lived buffers whose
// memory only a full collection frees. Measured with 30 pulls of 4 MiB blobs straight from DTR
// and 30 cache fills of others, one after another (and their 60 pushes): 46 mark-compacts without
// the flag, 16-17 with it, and the 90th percentile of a pull's first byte 16 ms against 5-11 ms.
// Started without the flag, this launcher starts Node once more with it and stands in for that
// process; the container image, `npm start` and the benchmark pass it directly (one process).
import { launchServer } from '@dtr-cache/server-lifecycle/launcher';
import { register } from 'tsx/esm/api';

await launchServer('dtr-api', import.meta.url, async () => {
  register();
  await import('../src/main.ts');
});

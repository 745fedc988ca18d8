#!/usr/bin/env node
// Runs the content cache from its TypeScript sources (tsx): `content-cache /config.yml`.
//
// V8 sizes a new process's heap limits for small scripts. A cache streams gigabytes through
// short-lived Buffers whose memory only a full collection frees, so with those limits it ran a
// mark-compact every few tens of milliseconds (the benchmark's 64 KiB phase: 157 in 10 s; with a
// 64 MB initial heap 14, and 58% more requests/s). 32 MB gains as much and keeps the peak RSS of
// 8 clients pulling a 1 GiB miss at 180 MB (64 MB: 209 MB). Heap flags are read only when
// Node starts, and NODE_OPTIONS refuses this one: started without it, this launcher starts Node
// once more with it and stands in for that process (signals in, exit code out). The container
// image, `npm start` and the benchmark pass the flag themselves: one process there.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

const HEAP_FLAG = '--initial-heap-size';
const HEAP_MB = 32;

if (process.execArgv.some((flag) => flag.startsWith(HEAP_FLAG))) {
  // The server. Started by the launcher below (an IPC channel is open): if the launcher goes
  // away, even by SIGKILL, stop as if told to.
  if (process.send) process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
} else {
  const child = spawn(
    process.execPath,
    [
      `${HEAP_FLAG}=${HEAP_MB}`,
      ...process.execArgv,
      fileURLToPath(import.meta.url),
      ...process.argv.slice(2),
    ],
    { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] },
  );
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => child.kill(signal));
  }
  child.once('error', (error) => {
    console.error(`content-cache: ${error.message}`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => {
    process.exit(code ?? 128 + (constants.signals[signal] ?? 0));
  });
}

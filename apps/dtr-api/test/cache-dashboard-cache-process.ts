import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The content cache program, run as users run it (a process, not an import across projects). */
const CACHE_PROGRAM = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'content-cache',
  'bin',
  'content-cache.mjs',
);

/** A content-cache process a test started. */
export interface CacheProcess {
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Starts `content-cache <configFile>` and resolves once it logs the port it listens on.
 * @throws if it exits first or does not listen within 30 s.
 */
export function startCacheProcess(configFile: string): Promise<CacheProcess> {
  const child: ChildProcess = spawn(process.execPath, [CACHE_PROGRAM, configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cache did not start:\n${output}`)), 30_000);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`cache exited with ${code}:\n${output}`));
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match =
        /msg=listening (?:\S+ )*?addr=\S*:(\d+)/.exec(output) ??
        /"msg":"listening".*?"addr":"[^"]*:(\d+)"/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve({
        port: Number(match[1]),
        stop: () =>
          child.exitCode !== null
            ? Promise.resolve()
            : new Promise<void>((done) => {
                child.once('exit', () => done());
                child.kill('SIGTERM');
              }),
      });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const appRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The program as users start it. */
export const cacheBin = join(appRoot, 'bin', 'content-cache.mjs');

/** A content-cache process started by a test. */
export interface StartedCache {
  child: ChildProcess;
  /** The port of its main listener. */
  port: number;
  /** Everything it wrote so far (stdout and stderr). */
  output: () => string;
}

/**
 * Starts `content-cache <configFile>` and resolves once it logs that it listens.
 * @throws if it exits first, or does not listen within 15 s.
 */
export function startCache(configFile: string, env: NodeJS.ProcessEnv = {}): Promise<StartedCache> {
  const child = spawn(process.execPath, [cacheBin, configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`content-cache did not start:\n${output}`)),
      15_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match =
        /msg=listening (?:\S+ )*?addr=\S*:(\d+)/.exec(output) ??
        /"msg":"listening".*?"addr":"[^"]*:(\d+)"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]), output: () => output });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`content-cache exited with ${code}:\n${output}`));
    });
  });
}

/** Stops it with SIGTERM; resolves to its exit code. */
export function stopCache(started: StartedCache): Promise<number | null> {
  if (started.child.exitCode !== null) return Promise.resolve(started.child.exitCode);
  const exited = new Promise<number | null>((resolve) => started.child.once('exit', resolve));
  started.child.kill('SIGTERM');
  return exited;
}

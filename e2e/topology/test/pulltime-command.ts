/** Runs `dtr-pulltime` as a user does (its bin script), and the JSON document it writes. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { workspaceRoot } from '@dtr-cache/test-support';

const COMMAND = join(workspaceRoot, 'apps', 'pulltime', 'bin', 'dtr-pulltime.mjs');

export interface CommandRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface BlobJson {
  digest: string;
  size: number;
  servedBy: string;
  result: string;
  firstByteMs: number;
  totalMs: number;
}
export interface PullJson {
  pass: string;
  counts: Record<string, number>;
  route: string;
  image: string;
  startedAt: string;
  manifestMs: number;
  firstByteMs: number;
  totalMs: number;
  bytes: number;
  megabytesPerSecond: number;
  blobs: BlobJson[];
}
export interface RouteJson {
  name: string;
  route: string;
  cache: string | null;
  member: string | null;
  pulls: PullJson[];
  error: { failure: string; message: string } | null;
}
/** The `--json` document (docs/pull-times.md). */
export interface ReportJson {
  dtr: string;
  user: string;
  image: string;
  platform: string;
  concurrency: number;
  startedAt: string;
  routes: RouteJson[];
  fastest: { name: string; route: string; pass: string; totalMs: number } | null;
  failed: number;
}

/** `node apps/pulltime/bin/dtr-pulltime.mjs …args` in `cwd`, with extra environment and stdin. */
export function runPulltime(
  args: string[],
  options: { cwd: string; env?: Record<string, string>; stdin?: string | undefined },
): Promise<CommandRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [COMMAND, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

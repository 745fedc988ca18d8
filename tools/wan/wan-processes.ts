/**
 * The processes of one WAN chain benchmark run: servers and agents, each started in its site's
 * network namespace (`ip netns exec`, which keeps the process id) or on this machine, each logging
 * to a file of the run's folder, stopped by their ids. The run's state file names the run's
 * process, its children and its folder, so that the next run can end what a crashed one left
 * (by id, after checking the id is still the process it started) and refuse to run beside a live
 * one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How a process is started: its site's namespace (none: this machine's), program and arguments. */
export interface StartSpec {
  readonly name: string;
  readonly namespace: string | undefined;
  readonly argv: readonly string[];
  readonly env?: Record<string, string> | undefined;
  readonly logFile: string;
  /** The working folder (default: this process's). */
  readonly cwd?: string | undefined;
  /** Standard input a pipe the child watches (agents): it exits when this process dies. */
  readonly lifeline?: boolean | undefined;
}

const STATE_FILE = join(tmpdir(), 'dtrwan-run.json');

interface RunState {
  readonly pid: number;
  readonly work: string;
  readonly children: ReadonlyArray<{ pid: number; marker: string }>;
}

const commandLineOf = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
};

/**
 * Claims the state file for this run: refuses if a live run holds it; ends the processes and
 * deletes the folder of a run that died without cleaning up. Returns what it cleaned.
 * @throws Error if another run is alive.
 */
export function claimRun(): string[] {
  const cleaned: string[] = [];
  if (existsSync(STATE_FILE)) {
    const state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as RunState;
    if (state.pid !== process.pid && commandLineOf(state.pid)?.includes('wan-chain'))
      throw new Error(`another bench:wan run is alive (pid ${state.pid}); one run at a time`);
    for (const child of state.children) {
      if (!commandLineOf(child.pid)?.includes(child.marker)) continue;
      try {
        process.kill(child.pid, 'SIGKILL');
        cleaned.push(`process ${child.pid}`);
      } catch {
        // gone meanwhile
      }
    }
    if (state.work.includes('dtrwan-') && existsSync(state.work)) {
      rmSync(state.work, { recursive: true, force: true });
      cleaned.push(`folder ${state.work}`);
    }
  }
  return cleaned;
}

/** The processes of a run. */
export class RunProcesses {
  private readonly running = new Map<string, ChildProcess>();
  /** Per child: a word of its command line that identifies it (its config path, the agent). */
  private readonly markers = new Map<ChildProcess, string>();
  private released = false;

  constructor(private readonly work: string) {
    this.saveState();
  }

  /** Releases the state file: the run has cleaned up after itself. */
  release(): void {
    this.released = true;
    rmSync(STATE_FILE, { force: true });
  }

  /** Starts a process; its output goes to its log file. */
  start(spec: StartSpec): ChildProcess {
    if (this.running.has(spec.name)) throw new Error(`${spec.name} is running already`);
    const argv = spec.namespace ? ['ip', 'netns', 'exec', spec.namespace, ...spec.argv] : spec.argv;
    const child = spawn(argv[0] as string, argv.slice(1), {
      env: { ...process.env, ...spec.env },
      cwd: spec.cwd,
      stdio: [spec.lifeline ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    const log = createWriteStream(spec.logFile, { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    child.on('error', () => undefined);
    const marker =
      spec.argv.find((arg) => arg.includes(this.work)) ??
      spec.argv.find((arg) => arg.endsWith('agent.ts'));
    if (marker !== undefined) this.markers.set(child, marker);
    child.once('exit', () => {
      if (this.running.get(spec.name) === child) this.running.delete(spec.name);
      this.saveState();
    });
    this.running.set(spec.name, child);
    this.saveState();
    return child;
  }

  /**
   * Starts a long-running process that prints `ready` once it serves (an agent) and waits for it.
   * @throws Error with the end of its log if it exits or stays silent for `timeoutMs`.
   */
  async startReady(spec: StartSpec, timeoutMs = 60_000): Promise<ChildProcess> {
    const child = this.start({ ...spec, lifeline: true });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
      const fail = (why: string) => {
        clearTimeout(timer);
        reject(new Error(`${spec.name}: ${why}\n${readTail(spec.logFile)}`));
      };
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('ready\n')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => fail(`exited (${code})`));
    });
    return child;
  }

  /**
   * Runs a process to its end and returns the last line it printed, parsed as JSON.
   * @throws Error with its log if it fails to print one or runs longer than `timeoutMs`.
   */
  async runJson(spec: StartSpec, timeoutMs: number): Promise<unknown> {
    const child = this.start({ ...spec, lifeline: true });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    const last = output.trim().split('\n').pop() ?? '';
    try {
      return JSON.parse(last) as unknown;
    } catch {
      throw new Error(`${spec.name} exited (${code}) without a result\n${readTail(spec.logFile)}`);
    }
  }

  /** Whether the named process is running (started and not exited). */
  isRunning(name: string): boolean {
    return this.running.has(name);
  }

  /** Stops one process: SIGTERM, SIGKILL after `graceMs`; resolves once it exited. */
  async stop(name: string, graceMs = 15_000): Promise<void> {
    const child = this.running.get(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** Stops every process of the run, all at once. */
  async stopAll(graceMs = 15_000): Promise<void> {
    await Promise.all([...this.running.keys()].map((name) => this.stop(name, graceMs)));
  }

  /** Kills what is still running, by id, at once (synchronous: for exit handlers). */
  killNow(): void {
    for (const child of this.running.values()) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }

  private saveState(): void {
    if (this.released) return;
    const children = [...this.running.values()].flatMap((child) => {
      const marker = this.markers.get(child);
      return child.pid !== undefined && marker !== undefined ? [{ pid: child.pid, marker }] : [];
    });
    const state: RunState = { pid: process.pid, work: this.work, children };
    writeFileSync(STATE_FILE, JSON.stringify(state));
  }
}

/** The last lines of a log file, for an error message. */
export function readTail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

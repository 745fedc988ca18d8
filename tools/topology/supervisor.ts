/**
 * The supervisor behind `npm start`: runs each server as a Node child process, its output appended
 * to `<logs>/<name>.log`; restarts one that exits while not stopping (same arguments and
 * environment) after a backoff that doubles per consecutive crash; and stops them all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/** The delay before restarting a server after its first crash in a row. */
export const RESTART_DELAY_INITIAL_MS = 1_000;
/** The longest delay: it doubles per consecutive crash up to this. */
export const RESTART_DELAY_MAX_MS = 30_000;
/** A server that ran this long before it exited starts over at the initial delay. */
export const STABLE_RUN_MS = 60_000;
/** How long servers have to stop after SIGTERM before they are sent SIGKILL. */
export const STOP_GRACE_MS = 10_000;

/** The delay before a restart after `crashes` consecutive crashes (1, 2, …): 1 s, 2 s, 4 s … 30 s. */
export function restartDelay(crashes: number): number {
  return Math.min(RESTART_DELAY_MAX_MS, RESTART_DELAY_INITIAL_MS * 2 ** Math.max(0, crashes - 1));
}

/** What a supervisor reports: a server (re)started, or exited and restarts after `restartInMs`. */
export type SupervisorEvent =
  | { kind: 'started'; name: string; pid: number; restart: boolean }
  | { kind: 'exited'; name: string; reason: string; restartInMs: number };

interface Server {
  readonly name: string;
  readonly command: string;
  readonly args: string[];
  readonly env: NodeJS.ProcessEnv;
  /** The running incarnation, if any. */
  child?: ChildProcess | undefined;
  /** When the current incarnation was started (performance.now()). */
  startedAt: number;
  /** Consecutive crashes, each within STABLE_RUN_MS of its start. */
  crashes: number;
  /** The pending restart, while in backoff. */
  restart?: NodeJS.Timeout | undefined;
}

export class Supervisor {
  readonly #servers = new Map<string, Server>();
  /** Per incarnation: settles once it exited and all it printed is in its log file. */
  readonly #logged = new Set<Promise<void>>();
  #stopped: Promise<void> | undefined;

  constructor(
    private readonly options: {
      /** The folder of the servers' log files. */
      logs: string;
      onEvent: (event: SupervisorEvent) => void;
    },
  ) {}

  /** Whether stopAll was called: no server is (re)started from then on. */
  get stopping(): boolean {
    return this.#stopped !== undefined;
  }

  logFile(name: string): string {
    return join(this.options.logs, `${name}.log`);
  }

  /** The pids of the servers running now (not those waiting for a restart). */
  pids(): Record<string, number> {
    const pids: Record<string, number> = {};
    for (const { name, child } of this.#servers.values())
      if (child?.pid !== undefined) pids[name] = child.pid;
    return pids;
  }

  /**
   * Starts `node <args>` (or `command <args>`) as server `name`, with `env` under this process's
   * environment.
   */
  start(
    name: string,
    args: string[],
    env: NodeJS.ProcessEnv = {},
    command: string = process.execPath,
  ): void {
    if (this.stopping) return;
    if (this.#servers.has(name)) throw new Error(`${name} is already supervised`);
    const server: Server = { name, command, args, env, startedAt: 0, crashes: 0 };
    this.#servers.set(name, server);
    this.#spawn(server, false);
  }

  /**
   * SIGTERM to every server (SIGKILL after STOP_GRACE_MS), no restarts; resolves once all exited
   * and their logs are complete. Calls after the first return the same promise.
   */
  stopAll(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    const running = [...this.#servers.values()];
    for (const server of running) {
      clearTimeout(server.restart);
      server.restart = undefined;
      server.child?.kill('SIGTERM');
    }
    const force = setTimeout(() => {
      for (const server of running) server.child?.kill('SIGKILL');
    }, STOP_GRACE_MS);
    await Promise.all(this.#logged);
    clearTimeout(force);
  }

  #spawn(server: Server, restart: boolean): void {
    mkdirSync(this.options.logs, { recursive: true });
    const out = createWriteStream(this.logFile(server.name), { flags: 'a' });
    let child: ChildProcess;
    try {
      child = spawn(server.command, server.args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...server.env, ...process.env },
      });
    } catch (error) {
      out.end();
      server.startedAt = performance.now();
      this.#exited(server, (error as NodeJS.ErrnoException).code ?? String(error));
      return;
    }
    server.child = child;
    server.startedAt = performance.now();
    // Two sources into one file: neither may end it. It ends once the process exited and both of
    // its streams closed ('close', after 'exit'), so its last lines (`msg=stopped`) are kept.
    child.stdout?.pipe(out, { end: false });
    child.stderr?.pipe(out, { end: false });
    const logged = new Promise<void>((resolve) =>
      child.once('close', () => out.end(() => resolve())),
    );
    this.#logged.add(logged);
    void logged.then(() => this.#logged.delete(logged));

    let ended = false;
    const end = (reason: string) => {
      if (ended) return;
      ended = true;
      if (server.child === child) server.child = undefined;
      this.#exited(server, reason);
    };
    child.once('exit', (code, signal) => end(String(signal ?? code)));
    // A process that could not be started has no pid and emits 'error' (and 'close'), not 'exit'.
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (child.pid === undefined) end(error.code ?? error.message);
    });
    if (child.pid !== undefined)
      this.options.onEvent({ kind: 'started', name: server.name, pid: child.pid, restart });
  }

  /** An incarnation ended: unless stopping, a restart after the backoff. */
  #exited(server: Server, reason: string): void {
    if (this.stopping) return;
    if (performance.now() - server.startedAt >= STABLE_RUN_MS) server.crashes = 0;
    server.crashes += 1;
    const delay = restartDelay(server.crashes);
    this.options.onEvent({ kind: 'exited', name: server.name, reason, restartInMs: delay });
    server.restart = setTimeout(() => {
      server.restart = undefined;
      if (!this.stopping) this.#spawn(server, true);
    }, delay);
  }
}

import { createHash } from 'node:crypto';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as connectTcp } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { join } from 'node:path';
import { processTree, procStatFields, type RunningTopology } from '@dtr-cache/test-support';

/** The servers of the topology, as `data/pids.json` names them. */
export type ServerName = 'dtr' | 'region-us' | 'san-francisco' | 'los-angeles';

/** The pid of a server now (the launcher restarts crashed ones under new pids). */
export async function pidOf(topology: RunningTopology, name: ServerName): Promise<number> {
  const pids = JSON.parse(await readFile(join(topology.data, 'pids.json'), 'utf8')) as Record<
    string,
    number
  >;
  const pid = pids[name];
  if (pid === undefined) throw new Error(`${name} is not running`);
  return pid;
}

/** Resident memory of a process and its descendants together, in bytes (VmRSS). */
export async function rssOf(pid: number): Promise<number> {
  let total = 0;
  for (const member of processTree(pid)) {
    const status = await readFile(`/proc/${member}/status`, 'utf8').catch(() => '');
    total += Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  }
  return total;
}

/**
 * Open file descriptors of a process and its descendants together, and how many of them are
 * files under `under`.
 */
export async function descriptorsOf(
  pid: number,
  under?: string,
): Promise<{ all: number; files: number }> {
  let all = 0;
  let files = 0;
  for (const member of processTree(pid)) {
    const fds = await readdir(`/proc/${member}/fd`).catch(() => []);
    all += fds.length;
    if (under !== undefined)
      for (const fd of fds) {
        const target = await readlink(`/proc/${member}/fd/${fd}`).catch(() => '');
        if (target.startsWith(under)) files += 1;
      }
  }
  return { all, files };
}

/** CPU time a process used so far (user + system), in seconds. */
export async function cpuSecondsOf(pid: number): Promise<number> {
  const fields = procStatFields(pid) ?? [];
  // utime and stime, in clock ticks (100 per second).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export const MB = 1024 * 1024;
export const mb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`;

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** What a request got: its status and headers, and its body as a digest (never held whole). */
export interface Fetched {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly bytes: number;
  /** sha256 hex of the body received. */
  readonly sha256: string;
  /** The body ended normally (not cut off). */
  readonly complete: boolean;
  /** The first 4 KiB of the body (error envelopes). */
  readonly text: string;
}

/** Options of {@link fetchDigest}. */
export interface FetchOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** The local address to connect from (another loopback address is another client). */
  from?: string;
  /** Gives up after this long (the answer then counts as cut off). */
  timeoutMs?: number;
  /** Called with the running count of body bytes (to act in the middle of a transfer). */
  onBytes?: (received: number) => void;
}

/** One HTTP(S) request trusting the topology's CAs; the body is hashed as it arrives. */
export function fetchDigest(
  topology: RunningTopology,
  url: string,
  options: FetchOptions = {},
): Promise<Fetched> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = send(
      target,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        ca: topology.cas,
        agent: false,
        ...(options.from ? { localAddress: options.from } : {}),
      },
      (incoming) => {
        const hash = createHash('sha256');
        let bytes = 0;
        let text = '';
        incoming.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          if (text.length < 4096) text += chunk.toString('utf8', 0, 4096);
          bytes += chunk.length;
          options.onBytes?.(bytes);
        });
        let settled = false;
        const done = (complete: boolean) => {
          if (settled) return;
          settled = true;
          resolve({
            status: incoming.statusCode ?? 0,
            headers: incoming.headers,
            bytes,
            sha256: hash.digest('hex'),
            complete,
            text,
          });
        };
        incoming.once('end', () => done(true));
        incoming.once('error', () => done(false));
        incoming.once('aborted', () => done(false));
      },
    );
    if (options.timeoutMs) outgoing.setTimeout(options.timeoutMs, () => outgoing.destroy());
    outgoing.once('error', reject);
    outgoing.end(options.body);
  });
}

/** A request whose client stopped reading once the answer's head arrived. */
export interface StalledRead {
  /** The answer's status (0: the connection failed or was closed before an answer). */
  readonly status: number;
  /** True once the server closed the connection. */
  closed(): boolean;
  /** Closes the connection. */
  destroy(): void;
}

/** Sends a GET and never reads past the answer's head (a 429's body is read). */
export function stallRead(
  topology: RunningTopology,
  url: string,
  from?: string,
): Promise<StalledRead> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    let closed = false;
    const outgoing = send(target, {
      ca: topology.cas,
      agent: false,
      ...(from ? { localAddress: from } : {}),
    });
    const handle = (status: number): StalledRead => ({
      status,
      closed: () => closed,
      destroy: () => outgoing.destroy(),
    });
    outgoing.once('socket', (socket) => socket.once('close', () => (closed = true)));
    outgoing.once('response', (incoming) => {
      if (incoming.statusCode !== 200) incoming.resume();
      else incoming.pause();
      incoming.on('error', () => undefined);
      resolve(handle(incoming.statusCode ?? 0));
    });
    outgoing.once('error', () => {
      closed = true;
      resolve(handle(0));
    });
    outgoing.end();
  });
}

/**
 * A connection that sends a request head one header line every `intervalMs` and never ends it
 * (slow headers).
 */
export function slowHeaders(
  topology: RunningTopology,
  url: string,
  from: string,
  intervalMs: number,
): { closed(): boolean; destroy(): void } {
  const target = new URL(url);
  const options = {
    host: target.hostname,
    port: Number(target.port),
    localAddress: from,
    ca: topology.cas,
    servername: target.hostname,
  };
  const socket = target.protocol === 'https:' ? connectTls(options) : connectTcp(options);
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  socket.on('error', () => undefined);
  socket.once('close', () => {
    closed = true;
    clearInterval(timer);
  });
  socket.once(target.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
    socket.write(`GET /v2/ HTTP/1.1\r\nHost: ${target.host}\r\n`);
    let line = 0;
    timer = setInterval(() => socket.write(`X-Slow-${(line += 1)}: y\r\n`), intervalMs);
  });
  return {
    closed: () => closed,
    destroy: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

/** The sha256 of every stored blob under `root` that does not match its name (a half-written or corrupt blob). */
export async function misnamedBlobs(root: string): Promise<string[]> {
  const bad: string[] = [];
  const base = join(root, 'blobs', 'sha256');
  const shards = await readdir(base).catch(() => [] as string[]);
  for (const shard of shards) {
    for (const name of await readdir(join(base, shard)).catch(() => [] as string[])) {
      const bytes = await readFile(join(base, shard, name)).catch(() => undefined);
      if (bytes && sha256(bytes) !== name) bad.push(`${shard}/${name}`);
    }
  }
  return bad;
}

/** Waits until `check` holds, polling; false if it did not within `timeoutMs`. */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  intervalMs = 200,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve(check()).catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

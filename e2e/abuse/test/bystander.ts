import { randomBytes } from 'node:crypto';
import type { User } from '@dtr-cache/test-support';
import { expect } from 'vitest';
import type { AbuseReport } from './abuse-report';
import { sleep } from './probes';
import type { RegistryClient } from './registry-client';

/** How an innocent user fared while an attack ran. */
export interface BystanderResult {
  readonly rounds: number;
  readonly failures: string[];
  /** Pulls DTR served itself (it found the user's cache unhealthy) instead of redirecting. */
  readonly servedByDtr: number;
  readonly medianMs: number;
  readonly maxMs: number;
}

/**
 * Another user going about their work during an attack: over and over, an API call with a bearer
 * token, then a pull of a small blob through their content cache (a fresh redirect from DTR each
 * time), checked against its digest. Every failure is kept with its reason.
 */
export class Bystander {
  private running = false;
  private loop: Promise<void> | undefined;
  private durations: number[] = [];
  private failures: string[] = [];
  private servedByDtr = 0;

  constructor(
    private readonly client: RegistryClient,
    private readonly user: User,
    private readonly blob: { repository: string; digest: string },
  ) {}

  start(): void {
    this.running = true;
    this.durations = [];
    this.failures = [];
    this.servedByDtr = 0;
    this.loop = this.run();
  }

  async stop(): Promise<BystanderResult> {
    this.running = false;
    await this.loop;
    const sorted = [...this.durations].sort((a, b) => a - b);
    return {
      rounds: sorted.length,
      failures: this.failures,
      servedByDtr: this.servedByDtr,
      medianMs: sorted[Math.floor(sorted.length / 2)] ?? NaN,
      maxMs: sorted.at(-1) ?? NaN,
    };
  }

  private async run(): Promise<void> {
    const { repository, digest } = this.blob;
    while (this.running) {
      const started = performance.now();
      try {
        const token = await this.client.token(this.user, [`repository:${repository}:pull`]);
        const api = await this.client.call(`/api/v0/accounts/${this.user.username}`, {
          headers: { Authorization: `Bearer ${token}` },
          timeoutMs: 30_000,
        });
        if (api.status !== 200) this.failures.push(`api ${api.status}`);
        const { pulled, from } = await this.client.pullBlob(this.user, repository, digest, {
          timeoutMs: 30_000,
        });
        if (from === 'dtr') this.servedByDtr += 1;
        if (pulled.status !== 200 || !pulled.complete || `sha256:${pulled.sha256}` !== digest)
          this.failures.push(`pull from ${from} ${pulled.status} complete=${pulled.complete}`);
      } catch (error) {
        this.failures.push((error as Error).message);
      }
      this.durations.push(performance.now() - started);
      await sleep(100);
    }
  }
}

/** Stops the bystander and records how it fared during `what` as a row of the report. */
export async function recordBystander(
  bystander: Bystander | undefined,
  report: AbuseReport,
  what: string,
): Promise<void> {
  const served = await bystander?.stop();
  if (!served) return;
  report.record({
    attack: `every ${what} of this file, meanwhile`,
    expected: 'another user is served throughout',
    observed: `${served.rounds} rounds (${served.servedByDtr} served by DTR itself), ${served.failures.length} failures (${served.failures.slice(0, 3).join('; ')}), median ${served.medianMs.toFixed(0)} ms, max ${served.maxMs.toFixed(0)} ms`,
    passed: served.failures.length === 0 && served.rounds > 0,
  });
}

/**
 * Creates the user `innocent` with a 64 KiB blob in `innocent/app`, pulled through los-angeles
 * (their content cache setting), and starts them as a {@link Bystander}.
 */
export async function startInnocentBystander(client: RegistryClient): Promise<Bystander> {
  const innocent = await client.createUser('innocent');
  const digest = await client.pushBlob(innocent, 'innocent/app', randomBytes(64 * 1024));
  const settings = await client.api('PATCH', '/accounts/innocent/settings', innocent, {
    contentCache: 'los-angeles',
  });
  expect(settings.status).toBe(200);
  const bystander = new Bystander(client, innocent, { repository: 'innocent/app', digest });
  bystander.start();
  return bystander;
}

/**
 * `dtr-api garbage-collect --config <config.yml> [--dry-run] [--grace <duration>]`, run as a
 * process beside a running DTR (on the test project's engine).
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireGcLock } from '../src/gc/gc-lock';
import { type RunningDtr, startDtr } from './dtr-harness';
import { type GcFixture, gcFixture, type Pushed, pushBlob, remove } from './gc-support';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'dtr-api.mjs');

let dtr: RunningDtr;
let alice: string;
let fixture: GcFixture;
let configFile: string;

beforeAll(async () => {
  dtr = await startDtr();
  alice = await dtr.createUser('alice');
  fixture = await gcFixture(dtr);
  configFile = join(dtr.directory, 'gc-config.yml');
  await writeFile(
    configFile,
    `storage: { filesystem: { rootdirectory: ${dtr.directory}/blobs } }\n${dtr.database.yaml}\n`,
  );
});
afterAll(async () => {
  await fixture?.close();
  await dtr?.close();
});

function garbageCollect(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, 'garbage-collect', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('dtr-api garbage-collect', () => {
  it('refuses bad arguments with its usage', async () => {
    const usage = await garbageCollect(['--dry-run']);
    expect(usage.code).toBe(2);
    expect(usage.output).toContain(
      'usage: dtr-api garbage-collect --config <config.yml> [--dry-run] [--grace <duration>]',
    );
    const grace = await garbageCollect(['--config', configFile, '--grace', 'soon']);
    expect(grace.code).toBe(2);
    expect(grace.output).toContain('--grace: "soon" is not a duration');
  });

  describe('with a blob nothing keeps', () => {
    let blob: Pushed;

    beforeAll(async () => {
      blob = await pushBlob(dtr, 'alice/app', 'nothing keeps this', alice);
      await remove(dtr, `/v2/alice/app/blobs/${blob.digest}`, alice);
      await fixture.age();
    });

    it('dry run: lists it with its size and the bytes it would free, and deletes nothing', async () => {
      const { code, output } = await garbageCollect(['--config', configFile, '--dry-run']);
      expect(code, output).toBe(0);
      expect(output).toContain(`would delete ${blob.digest} ${blob.size} bytes\n`);
      expect(output).toContain(`would free ${blob.size} bytes (1 blob); nothing was deleted\n`);
      expect(await fixture.stored(blob.digest)).toBe(true);
    });

    it('says so and does nothing while another run holds the lock', async () => {
      const held = await acquireGcLock(fixture.opened.database, fixture.opened.engine);
      try {
        const { code, output } = await garbageCollect(['--config', configFile]);
        expect(code).toBe(1);
        expect(output).toContain(
          'dtr-api garbage-collect: garbage collection already running (another process holds its lock)',
        );
      } finally {
        await held?.release();
      }
      expect(await fixture.stored(blob.digest)).toBe(true);
    });

    it('deletes it, printing it and the bytes freed', async () => {
      const { code, output } = await garbageCollect(['--config', configFile, '--grace', '30m']);
      expect(code, output).toBe(0);
      expect(output).toContain(`deleted ${blob.digest} ${blob.size} bytes\n`);
      expect(output).toContain(`freed ${blob.size} bytes (1 blob)\n`);
      expect(output).toContain('(grace 30m)');
      expect(await fixture.stored(blob.digest)).toBe(false);
    });
  });
});

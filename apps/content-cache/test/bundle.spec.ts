/**
 * The server's bundle is kept between starts while its sources are unchanged (bundling was most
 * of a start's time), and never reused once one of them changed.
 */
import { cp, mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BundleSources, bundleInto } from '../bin/bundle.mjs';

describe('the kept bundle', () => {
  let root: string;
  let sources: BundleSources;
  /** Bundles into a new folder (as each start does); the bundle's text. */
  const start = async (): Promise<string> => {
    const directory = await mkdtemp(join(root, 'run-'));
    return readFile(await bundleInto(directory, sources), 'utf8');
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'bundle-spec-'));
    const workspace = join(root, 'workspace');
    await mkdir(join(workspace, 'src'), { recursive: true });
    await writeFile(
      join(workspace, 'src', 'main.ts'),
      "import { word } from './word';\nconsole.log(word);\n",
    );
    await writeFile(join(workspace, 'src', 'word.ts'), "export const word: string = 'first';\n");
    // Sources written long enough ago for the bundle to be kept (not changed while it was built).
    const past = new Date(Date.now() - 60_000);
    for (const file of ['main.ts', 'word.ts'])
      await utimes(join(workspace, 'src', file), past, past);
    sources = {
      entry: join(workspace, 'src', 'main.ts'),
      workspaceRoot: workspace,
      cacheRoot: join(root, 'kept'),
    };
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('is reused while no input changed, and bundled again once an imported file changed', async () => {
    expect(await start()).toContain('first');
    const kept = await readdir(sources.cacheRoot);
    expect(kept).toContain('latest.json');
    // Reused: the kept copy is what a start gets (marked here to tell it from a new bundle).
    const key = kept.find((name) => /^[0-9a-f]{16}$/.test(name)) as string;
    const keptFile = join(sources.cacheRoot, key, 'content-cache.mjs');
    await writeFile(keptFile, `${await readFile(keptFile, 'utf8')}\n// kept copy\n`);
    expect(await start()).toContain('// kept copy');
    // An imported file changed (same size, new mtime): bundled again, with the new text.
    await writeFile(
      join(sources.workspaceRoot, 'src', 'word.ts'),
      "export const word: string = 'fresh';\n",
    );
    const after = await start();
    expect(after).toContain('fresh');
    expect(after).not.toContain('// kept copy');
  });

  it('is not reused for the same sources in another place (the native libraries are imported by path)', async () => {
    // The same files, sizes and times, in another folder.
    const moved = join(root, 'moved');
    await cp(sources.workspaceRoot, moved, { recursive: true });
    const past = new Date(Date.now() - 120_000);
    for (const workspace of [sources.workspaceRoot, moved])
      for (const file of ['main.ts', 'word.ts'])
        await utimes(join(workspace, 'src', file), past, past);
    await start();
    const kept = await readdir(sources.cacheRoot);
    const key = kept.find((name) => /^[0-9a-f]{16}$/.test(name)) as string;
    const keptFile = join(sources.cacheRoot, key, 'content-cache.mjs');
    await writeFile(keptFile, `${await readFile(keptFile, 'utf8')}\n// kept copy\n`);
    expect(await start()).toContain('// kept copy');
    const elsewhere = { ...sources, entry: join(moved, 'src', 'main.ts'), workspaceRoot: moved };
    const directory = await mkdtemp(join(root, 'run-'));
    expect(await readFile(await bundleInto(directory, elsewhere), 'utf8')).not.toContain(
      '// kept copy',
    );
  });
});

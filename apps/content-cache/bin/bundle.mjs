// The server's bundle: `src/main.ts` with the workspace libraries and packages in one ES module
// (see content-cache.mjs for why). Bundling took 0.3-0.9 s of every start on the benchmark machine,
// most of a start's time, so a bundle is kept between starts in the workspace's
// node_modules/.cache, with the size and mtime of every file it was built from (esbuild's
// metafile), and reused while none of them changed, for the same Node, esbuild and workspace,
// into a folder beside the one it was built in (its source map's paths are relative to it).
// Where that folder cannot be written (a read-only install), every start bundles, as before.
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const NAME = 'content-cache.mjs';
const FILES = [NAME, `${NAME}.map`];
const LATEST = 'latest.json';

/** The server's sources and where their bundle is kept (other ones in tests). */
const SERVER = {
  entry: fileURLToPath(new URL('../src/main.ts', import.meta.url)),
  workspaceRoot: fileURLToPath(new URL('../../../', import.meta.url)),
  cacheRoot: fileURLToPath(
    new URL('../../../node_modules/.cache/content-cache-bundle/', import.meta.url),
  ),
};

/**
 * What a kept bundle must have been built with, besides its inputs: the same Node and esbuild, the
 * same workspace (the native libraries are imported by absolute path), the same temp folder (the
 * source map's paths are relative to the bundle).
 */
function toolchain(sources, directory) {
  const esbuild = JSON.parse(
    readFileSync(createRequire(import.meta.url).resolve('esbuild/package.json'), 'utf8'),
  ).version;
  return {
    node: process.version,
    esbuild,
    workspace: sources.workspaceRoot,
    parent: dirname(directory),
  };
}

/** A file's size and mtime, as recorded for a kept bundle's inputs. */
function stampOf({ workspaceRoot }, path) {
  const stats = statSync(resolve(workspaceRoot, path));
  return `${stats.size}:${stats.mtimeMs}`;
}

/** Copies the kept bundle into `directory` if it is still that of the sources; its path, or undefined. */
function reuse(sources, directory) {
  const { cacheRoot } = sources;
  try {
    const latest = JSON.parse(readFileSync(join(cacheRoot, LATEST), 'utf8'));
    if (JSON.stringify(latest.toolchain) !== JSON.stringify(toolchain(sources, directory)))
      return undefined;
    for (const [path, stamp] of Object.entries(latest.inputs))
      if (stampOf(sources, path) !== stamp) return undefined;
    for (const file of FILES)
      copyFileSync(join(cacheRoot, latest.bundle, file), join(directory, file));
    return join(directory, NAME);
  } catch {
    return undefined;
  }
}

/**
 * Keeps the bundle just built in `directory` from `inputs`, unless one of them changed while it
 * was built (its stamp would not say what the bundle holds). Best effort: a failure only means
 * the next start bundles again.
 */
function keep(sources, directory, inputs, builtAt) {
  const { workspaceRoot, cacheRoot } = sources;
  try {
    const stamps = {};
    for (const path of inputs) {
      if (statSync(resolve(workspaceRoot, path)).mtimeMs >= builtAt) return;
      stamps[path] = stampOf(sources, path);
    }
    const record = { toolchain: toolchain(sources, directory), inputs: stamps };
    const key = createHash('sha256').update(JSON.stringify(record)).digest('hex').slice(0, 16);
    mkdirSync(cacheRoot, { recursive: true });
    const staging = mkdtempSync(join(cacheRoot, 'staging-'));
    // Readable by whoever else runs this install (mkdtemp makes it the owner's only).
    chmodSync(staging, 0o755);
    for (const file of FILES) copyFileSync(join(directory, file), join(staging, file));
    try {
      renameSync(staging, join(cacheRoot, key));
    } catch {
      // Kept already, by a start at the same time.
      rmSync(staging, { recursive: true, force: true });
    }
    const latest = join(cacheRoot, `${LATEST}.${process.pid}`);
    writeFileSync(latest, JSON.stringify({ ...record, bundle: key }));
    renameSync(latest, join(cacheRoot, LATEST));
    // Earlier bundles go (a start copying one now falls back to bundling).
    for (const name of readdirSync(cacheRoot))
      if (/^[0-9a-f]{16}$/.test(name) && name !== key)
        rmSync(join(cacheRoot, name), { recursive: true, force: true });
  } catch {
    // Not kept.
  }
}

/**
 * Bundles the server into `directory` (or copies the kept bundle there); the module's path.
 * `sources` (for tests): another entry point, its workspace and where its bundle is kept.
 */
export async function bundleInto(directory, sources = SERVER) {
  const reused = reuse(sources, directory);
  if (reused) return reused;
  const { build, stop } = await import('esbuild');
  const outfile = join(directory, NAME);
  const builtAt = Date.now();
  let result;
  try {
    result = await build({
      entryPoints: [sources.entry],
      absWorkingDir: sources.workspaceRoot,
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20.19',
      sourcemap: 'linked',
      sourcesContent: false,
      metafile: true,
      logLevel: 'error',
      // The native libraries load their addons beside themselves: they stay where they are
      // installed, imported by their absolute paths, instead of being copied into the bundle.
      plugins: [
        {
          name: 'native-in-place',
          setup(build) {
            build.onResolve({ filter: /^@dtr-cache\/native-(memory|io)$/ }, (args) => ({
              path: fileURLToPath(import.meta.resolve(args.path)),
              external: true,
            }));
          },
        },
      ],
      // CommonJS packages inside an ES module bundle still call require() for Node's modules.
      banner: {
        js: "import { createRequire as __contentCacheRequire } from 'node:module'; const require = __contentCacheRequire(import.meta.url);",
      },
    });
  } finally {
    // The esbuild service process is not needed once the bundle is written.
    await stop();
  }
  keep(sources, directory, Object.keys(result.metafile.inputs), builtAt);
  return outfile;
}

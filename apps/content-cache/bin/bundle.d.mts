/** The sources of a bundle, and where it is kept between starts. */
export interface BundleSources {
  /** The entry point (a TypeScript module). */
  readonly entry: string;
  /** The folder esbuild works from: the inputs' recorded paths are relative to it. */
  readonly workspaceRoot: string;
  /** Where the bundle is kept between starts. */
  readonly cacheRoot: string;
}

/**
 * Bundles the server into `directory` (or copies the kept bundle there, while none of the files
 * it was built from changed); the module's path. `sources` (for tests): another entry point, its
 * workspace and where its bundle is kept.
 * @throws esbuild's error for sources that do not build.
 */
export declare function bundleInto(directory: string, sources?: BundleSources): Promise<string>;

// Builds the N-API addon of the package being installed (its binding.gyp, in the current folder)
// with node-gyp (npm's own): `node ../../tools/build-addon.mjs "<what happens without it>"`, a
// native library's install script. Without a compiler (or off Linux) the build is skipped with a
// warning naming the package and what is lost; the library then does without its addon.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const name = JSON.parse(readFileSync('package.json', 'utf8')).name.replace(/^@[^/]+\//, '');
const without = process.argv[2] ?? 'it does without its addon';
const npmGyp = process.env.npm_config_node_gyp;
const gyp =
  npmGyp && existsSync(npmGyp)
    ? npmGyp
    : join(
        dirname(process.execPath),
        '..',
        'lib',
        'node_modules',
        'npm',
        'node_modules',
        'node-gyp',
        'bin',
        'node-gyp.js',
      );
const result = existsSync(gyp)
  ? spawnSync(process.execPath, [gyp, 'rebuild'], { stdio: 'inherit' })
  : { status: 1 };
if (result.status !== 0) process.stderr.write(`${name}: the addon was not built; ${without}\n`);

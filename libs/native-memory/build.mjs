// Builds the addon with node-gyp (npm's own) when this package is installed. Without a compiler
// (or off Linux) the build is skipped with a warning: the library then does nothing, and the
// server runs as before, only without giving freed C heap memory back.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

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
if (result.status !== 0)
  process.stderr.write(
    'native-memory: the addon was not built; freed C heap memory will not be trimmed\n',
  );

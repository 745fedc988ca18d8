// Builds the addon with node-gyp (npm's own) when this package is installed. Without a compiler
// (or off Linux) the build is skipped with a warning: `canSendFile` is then false, and blobs on
// disk are read and written through user space as before.
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
    'native-io: the addon was not built; blobs on disk are sent through user space (no sendfile)\n',
  );

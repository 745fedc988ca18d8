/**
 * Prints the content cache's configuration reference (Markdown), generated from the schema it
 * loads: `content-cache-config-reference`. tools/docs/config-reference.mjs puts it in docs/.
 */
import {
  describeConfig,
  registryConfigDefinition,
  renderConfigReference,
  renderDownstreamReference,
} from '@dtr-cache/config';

process.stdout.write(
  [
    '## content-cache',
    '',
    'Started as `content-cache /config.yml`: the Docker registry `config.yml` format. Environment',
    'variables override the file (`REGISTRY_` + the key path in capitals, dots as underscores).',
    '',
    renderConfigReference(describeConfig(registryConfigDefinition)),
    '### `middleware.registry[]` with `name: downstream`: its `options`',
    '',
    renderDownstreamReference(),
  ].join('\n'),
);

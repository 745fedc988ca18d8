/**
 * Prints DTR's configuration reference (Markdown), generated from its schema:
 * `dtr-api-config-reference`. tools/docs/config-reference.mjs puts it in docs/.
 */
import { describeConfig, renderConfigReference } from '@dtr-cache/config';
import { dtrConfigDefinition } from './dtr-config';

process.stdout.write(
  [
    '## dtr-api',
    '',
    'Started as `dtr-api /etc/dtr/config.yml` (or `dtr-api --config <file>`). Environment variables',
    'override the file (`DTR_API_` + the key path in capitals, dots as underscores).',
    '',
    renderConfigReference(describeConfig(dtrConfigDefinition)),
  ].join('\n'),
);

import type { ConfigKeyDescription } from './config-description';
import { describeDownstreamOptions } from './downstream-middleware';

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function shownDefault(key: ConfigKeyDescription): string {
  if (key.sensitive) return '(secret)';
  if (key.default === null || key.default === undefined) return '(unset)';
  return `\`${JSON.stringify(key.default)}\``;
}

const STATUS: Readonly<Record<ConfigKeyDescription['status'], string>> = {
  honoured: 'honoured',
  ignored: 'accepted, ignored (a start-up warning)',
  refused: 'refused (an error)',
};

/**
 * A Markdown table of configuration keys (path, environment variable, status, expected value,
 * default, meaning — or why a key is ignored or refused), for the generated configuration
 * reference. Pure: the same keys give the same text.
 */
export function renderConfigReference(keys: readonly ConfigKeyDescription[]): string {
  const rows = keys.map((key) =>
    key.status === 'honoured'
      ? `| \`${key.path}\` | \`${key.env}\` | ${STATUS[key.status]} | ${cell(key.expected)} | ${cell(shownDefault(key))} | ${cell(key.doc)} |`
      : `| \`${key.path}\` (any value) | \`${key.env}\` | ${STATUS[key.status]} | — | — | ${cell(key.doc)} |`,
  );
  return [
    '| key | environment variable | status | value | default | meaning |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

/** A Markdown table of the `downstream` middleware's options (option, required, value, meaning). */
export function renderDownstreamReference(): string {
  const rows = describeDownstreamOptions().map(
    (option) =>
      `| \`${option.path}\` | ${option.required ? 'yes' : 'no'} | ${cell(option.expected)} | ${cell(option.doc)} |`,
  );
  return ['| option | required | value | meaning |', '| --- | --- | --- | --- |', ...rows, ''].join(
    '\n',
  );
}

import { describe, expect, it } from 'vitest';
import { parsePulltimeArgs } from './args';
import { CliError } from './cli-error';

const base = ['--dtr', 'https://dtr.example.com/', '--user', 'alice', '--image', 'org/app:v1'];

/** The CliError `argv` gives. */
function refusal(argv: string[]): CliError {
  try {
    parsePulltimeArgs(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return error as CliError;
  }
  throw new Error('no error');
}

describe('parsePulltimeArgs', () => {
  it('reads the options with docker defaults', () => {
    expect(parsePulltimeArgs(base)).toEqual({
      help: false,
      dtr: 'https://dtr.example.com',
      user: 'alice',
      image: 'org/app:v1',
      caches: [],
      members: false,
      caFiles: [],
      platform: undefined,
      concurrency: 3,
      timeoutMs: 60_000,
      json: undefined,
      passwordStdin: false,
      password: undefined,
    });
    const args = parsePulltimeArgs([
      ...base,
      '--cache',
      'los-angeles',
      '--cache',
      'region-us',
      '--members',
      '--ca',
      'a.pem',
      '--platform',
      'linux/arm64/v8',
      '--concurrency',
      '5',
      '--timeout',
      '2.5',
      '--json',
      '-',
      '--password-stdin',
    ]);
    expect(args).toMatchObject({
      caches: ['los-angeles', 'region-us'],
      members: true,
      caFiles: ['a.pem'],
      platform: 'linux/arm64/v8',
      concurrency: 5,
      timeoutMs: 2500,
      json: '-',
      passwordStdin: true,
    });
  });

  it('answers --help without the required options', () => {
    expect(parsePulltimeArgs(['--help']).help).toBe(true);
  });

  it.each([
    [['--verbose', ...base], 'unknown option --verbose (see --help)'],
    [[...base, 'extra'], 'unexpected argument extra (see --help)'],
    [['--dtr', 'https://dtr', '--user', 'alice'], '--image is required (see --help)'],
    [[...base, '--json'], '--json needs a value (see --help)'],
    [['--dtr', 'dtr.example.com', '--user', 'a', '--image', 'o/a'], '--dtr dtr.example.com is not'],
    [[...base.slice(0, 4), '--image', 'app:v1'], '--image app:v1 is not namespace/repo'],
    [[...base.slice(0, 4), '--image', 'Org/app'], '--image Org/app is not'],
    [[...base.slice(0, 4), '--image', 'org/app@latest'], '--image org/app@latest is not'],
    [[...base, '--cache', 'Tokyo'], '--cache Tokyo is not a content cache name'],
    [[...base, '--platform', 'amd64'], '--platform amd64 is not os/arch'],
    [[...base, '--concurrency', '0'], '--concurrency must be a positive number (got 0)'],
    [[...base, '--concurrency', '1.5'], '--concurrency must be a whole number (got 1.5)'],
    [[...base, '--timeout', 'soon'], '--timeout must be a positive number (got soon)'],
    [[...base, '--password', 'x', '--password-stdin'], 'give the password once'],
  ])('refuses %j with one line and exit code 2', (argv, message) => {
    const error = refusal(argv);
    expect(error.exitCode).toBe(2);
    expect(error.message.startsWith(message)).toBe(true);
    expect(error.message).not.toContain('\n');
  });
});

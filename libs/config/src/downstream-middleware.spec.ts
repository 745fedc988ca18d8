import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-error';
import { loadRegistryConfig } from './registry-config';

/** A cache's config.yml with `options` added to the downstream middleware's options. */
function configWith(options: string): string {
  return [
    'version: 0.1',
    'middleware:',
    '  registry:',
    '    - name: downstream',
    '      options:',
    '        upstreams:',
    '          - originhost: https://dtr.example.com',
    ...options.split('\n').map((line) => `        ${line}`),
    '',
  ].join('\n');
}

function downstreamOf(options: string) {
  return loadRegistryConfig({ text: configWith(options), env: {} }).downstream;
}

function issuesOf(options: string, env: Record<string, string> = {}): string[] {
  try {
    loadRegistryConfig({ text: configWith(options), env });
  } catch (error) {
    if (error instanceof ConfigError)
      return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
    throw error;
  }
  return [];
}

describe('downstream sendtimeout and maxclientconnections', () => {
  it('default to 60 s and 256', () => {
    const options = downstreamOf('');
    expect(options?.sendTimeout.milliseconds).toBe(60_000);
    expect(options?.maxClientConnections).toBe(256);
  });

  it('take a duration and a whole number from 1', () => {
    const options = downstreamOf('sendtimeout: 2m30s\nmaxclientconnections: 32');
    expect(options?.sendTimeout.milliseconds).toBe(150_000);
    expect(options?.maxClientConnections).toBe(32);
    expect(downstreamOf('maxclientconnections: "1"')?.maxClientConnections).toBe(1);
  });

  it('refuse other values, naming the key path', () => {
    expect(issuesOf('sendtimeout: soon')).toEqual([
      expect.stringMatching(
        /^middleware\.registry\[0\]\.options\.sendtimeout: "soon" is not a duration/,
      ),
    ]);
    expect(issuesOf('sendtimeout: 0s')).toEqual([
      expect.stringMatching(/options\.sendtimeout: .* must be a positive duration/),
    ]);
    for (const value of ['0', '-3', '2.5', 'many', 'true', '1000001']) {
      expect(issuesOf(`maxclientconnections: ${value}`)).toEqual([
        expect.stringMatching(
          /^middleware\.registry\[0\]\.options\.maxclientconnections: .* is not a whole number from 1 to 1000000$/,
        ),
      ]);
    }
  });
});

describe('downstream workers', () => {
  it('is unset by default (as many as the cores), and takes a whole number', () => {
    expect(downstreamOf('')?.workers).toBeUndefined();
    expect(downstreamOf('workers: 4')?.workers).toBe(4);
    expect(downstreamOf('workers: "1"')?.workers).toBe(1);
  });

  it('refuses anything but a whole number from 1 to 1024, naming the key', () => {
    for (const value of ['0', '-2', '1.5', 'many', '1025']) {
      expect(issuesOf(`workers: ${value}`)).toEqual([
        expect.stringMatching(
          /^middleware\.registry\[0\]\.options\.workers: .* is not a whole number from 1 to 1024$/,
        ),
      ]);
    }
  });
});

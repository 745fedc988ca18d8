import { describe, expect, it } from 'vitest';
import { formatBytes, formatTime } from './format';
import { pullCommands, registryHost, shortDigest, UNKNOWN_HOST } from './repository-format';

describe('repository page formats', () => {
  it('shortens digests to the algorithm and 12 hex digits', () => {
    const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
    expect(shortDigest(digest)).toBe('sha256:0123456789ab');
    expect(shortDigest('not-a-digest')).toBe('not-a-digest');
  });

  it('writes sizes in binary units with at most three digits', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(200 * 1024)).toBe('200 KiB');
    expect(formatBytes(3.25 * 1024 ** 3)).toBe('3.3 GiB');
    expect(formatBytes(-1)).toBe('—');
    expect(formatBytes(Number.NaN)).toBe('—');
  });

  it('writes times in UTC to the minute, and a dash for none', () => {
    expect(formatTime('2026-12-07T20:49:13.123Z')).toBe('2026-12-07 20:49 UTC');
    expect(formatTime(undefined)).toBe('—');
    expect(formatTime('yesterday')).toBe('—');
  });

  it('uses the host the browser used, unless it is not a plain host[:port]', () => {
    expect(registryHost('dtr.example.org:5000')).toBe('dtr.example.org:5000');
    expect(registryHost('DTR.Example.org')).toBe('dtr.example.org');
    expect(registryHost('127.0.0.1:35571')).toBe('127.0.0.1:35571');
    expect(registryHost('[::1]:5000')).toBe('[::1]:5000');
    for (const bad of ['', 'a b', 'evil.example/$(rm -rf ~)', 'x;y', `${'a'.repeat(300)}.org`])
      expect(registryHost(bad), bad).toBe(UNKNOWN_HOST);
  });

  it('gives docker, podman, skopeo and ctr commands for one tag at one host', () => {
    const commands = pullCommands({
      host: 'dtr.example.org',
      repository: 'acme/web',
      tag: '1.0',
      username: 'alice',
    });
    expect(commands.map(({ client }) => client)).toEqual(['docker', 'podman', 'skopeo', 'ctr']);
    for (const { command } of commands) expect(command).toContain('dtr.example.org/acme/web:1.0');
    expect(commands[0]?.command).toBe(
      'docker login dtr.example.org -u alice\ndocker pull dtr.example.org/acme/web:1.0',
    );
    expect(commands[2]?.command).toBe(
      'skopeo copy --src-creds alice docker://dtr.example.org/acme/web:1.0 oci:web:1.0',
    );
    expect(commands[3]?.command).toBe(
      'ctr images pull --hosts-dir /etc/containerd/certs.d --user alice dtr.example.org/acme/web:1.0',
    );
  });
});

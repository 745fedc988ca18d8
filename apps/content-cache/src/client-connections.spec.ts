import type { IncomingMessage } from 'node:http';
import { createLogger } from '@dtr-cache/logging';
import { describe, expect, it } from 'vitest';
import { ClientConnections } from './client-connections';

describe('ClientConnections', () => {
  it('counts IPv6 clients by their /64, and IPv4 ones by address', () => {
    const connections = new ClientConnections(
      2,
      createLogger({ level: 'error', formatter: 'json', fields: {} }, () => undefined),
    );
    const ask = (remoteAddress: string) =>
      connections.admit({
        socket: { remoteAddress, once: () => undefined },
      } as unknown as IncomingMessage);
    expect(ask('2001:db8:1:2::1')).toBeUndefined();
    expect(ask('2001:db8:1:2:ffff::9')).toBeUndefined();
    expect(ask('2001:db8:1:2::3')?.code).toBe('TOOMANYREQUESTS');
    expect(ask('2001:db8:1:3::1')).toBeUndefined();
    expect(ask('192.0.2.1')).toBeUndefined();
    expect(ask('::ffff:192.0.2.1')).toBeUndefined();
    expect(ask('192.0.2.1')?.status).toBe(429);
    expect(ask('192.0.2.2')).toBeUndefined();
  });
});

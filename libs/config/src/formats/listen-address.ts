import { isIP } from 'node:net';
import { show } from '../config-error';

/** Where a server listens: a TCP host and port, or a unix socket path. */
export type ListenAddress =
  | { readonly kind: 'tcp'; readonly host: string | undefined; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Parses `http.addr` in every form the registry accepts for TCP: `:5000` (all interfaces),
 * `127.0.0.1:5000`, `[::1]:5000`, `localhost:5000`. Port 0 asks for any free port. For
 * `http.net: unix` the address is an absolute socket path.
 * @throws Error naming the value and the accepted forms.
 */
export function parseListenAddress(value: unknown, network: 'tcp' | 'unix' = 'tcp'): ListenAddress {
  const text =
    typeof value === 'number'
      ? String(value)
      : typeof value === 'string'
        ? value.trim()
        : undefined;
  if (network === 'unix') {
    if (text === undefined || !text.startsWith('/')) {
      throw new Error(`${show(value)} is not an absolute unix socket path`);
    }
    return { kind: 'unix', path: text };
  }
  const expected = 'a listen address like ":5000", "127.0.0.1:5000" or "[::1]:5000"';
  const colon = text?.lastIndexOf(':') ?? -1;
  if (text === undefined || colon === -1) throw new Error(`${show(value)} is not ${expected}`);
  const portText = text.slice(colon + 1);
  let host: string | undefined = text.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) {
    host = host.slice(1, -1);
    if (isIP(host) !== 6) throw new Error(`${show(value)} is not ${expected} (bad IPv6 address)`);
  } else if (host !== '' && isIP(host) !== 4 && !HOST_NAME.test(host)) {
    throw new Error(`${show(value)} is not ${expected} (bad host)`);
  }
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535) {
    throw new Error(`${show(value)} is not ${expected} (port must be 0-65535)`);
  }
  return { kind: 'tcp', host: host === '' ? undefined : host, port };
}

/** Renders a listen address back to `host:port` (or the socket path). */
export function formatListenAddress(address: ListenAddress): string {
  if (address.kind === 'unix') return address.path;
  const host =
    address.host === undefined
      ? ''
      : address.host.includes(':')
        ? `[${address.host}]`
        : address.host;
  return `${host}:${address.port}`;
}

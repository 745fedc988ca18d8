import { show } from '../config-error';

/**
 * Parses an externally reachable base URL: absolute `http` or `https`, with a host, and without
 * credentials, query or fragment. A path prefix is kept; a trailing slash is removed.
 * @throws Error naming the value and what is expected.
 */
export function parseHttpUrl(value: unknown): URL {
  const expected = 'an absolute http:// or https:// URL';
  if (typeof value !== 'string' || value.trim() === '')
    throw new Error(`${show(value)} is not ${expected}`);
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new Error(`${show(value)} is not ${expected}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${show(value)} is not ${expected} (scheme ${url.protocol.slice(0, -1)})`);
  }
  if (url.username || url.password) throw new Error(`${show(value)} must not contain credentials`);
  if (url.search || url.hash || value.includes('?') || value.includes('#')) {
    throw new Error(`${show(value)} must not have a query or fragment`);
  }
  url.pathname = url.pathname.replace(/\/+$/, '') || '/';
  return url;
}

import { parse, toClientConfig } from 'pg-connection-string';
import type pg from 'pg';

/** The `sslmode` values DTR accepts, with libpq's meaning. */
const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;

/** A `database.url` that cannot be used as it is (an unknown sslmode, an unreadable CA file). */
export class DatabaseUrlError extends Error {
  override readonly name = 'DatabaseUrlError';
}

/**
 * The connection settings of a PostgreSQL URL, with libpq's TLS semantics (as `psql` reads the same
 * URL): no `sslmode` or `disable` is plain TCP; `require` encrypts without checking the server's
 * certificate, unless `sslrootcert` is given, which makes it `verify-ca`; `verify-ca` checks the
 * chain against `sslrootcert`; `verify-full` also checks that the certificate names the host.
 * `allow` and `prefer` (plain TCP when TLS fails) are refused: a client cannot tell which it got.
 * Reads the `sslrootcert`, `sslcert` and `sslkey` files now, so a missing file fails at start.
 * @throws DatabaseUrlError naming the parameter at fault; the URL's password never appears.
 */
export function postgresConnection(url: string): pg.ClientConfig {
  const parameters = new URL(url).searchParams;
  const mode = parameters.get('sslmode');
  if (mode !== null && !(SSL_MODES as readonly string[]).includes(mode))
    throw new DatabaseUrlError(
      `database.url: sslmode "${mode}" is not supported; use one of ${SSL_MODES.join(', ')}`,
    );
  if (mode === 'verify-ca' && !parameters.has('sslrootcert'))
    throw new DatabaseUrlError('database.url: sslmode verify-ca needs sslrootcert (a CA file)');
  if (parameters.has('uselibpqcompat'))
    throw new DatabaseUrlError('database.url: uselibpqcompat is implied; remove it');
  try {
    return toClientConfig(parse(url, { useLibpqCompat: true }));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new DatabaseUrlError(`database.url: ${reason.replace(url, '<database.url>')}`);
  }
}

import type { ServerOptions as HttpsServerOptions } from 'node:https';
import { type TlsPolicy, tlsPolicy } from '@dtr-cache/server-lifecycle';
import type { CacheConfig } from '../cache-config';
import type { AcmeCertificates } from './acme-certificates';

/** The TLS of the cache's server: its options and the client-certificate policy to enforce. */
export interface ServerTls {
  readonly options: HttpsServerOptions;
  readonly policy: TlsPolicy;
}

/**
 * The TLS of `http.tls`: certificate files, or Let's Encrypt's certificates (chosen per SNI name),
 * with the shared policy (`minimumtls`, `ciphersuites`, `clientcas` and `clientauth`); undefined
 * for plain HTTP.
 */
export function serverTlsOf(
  config: CacheConfig,
  acme: AcmeCertificates | undefined,
): ServerTls | undefined {
  const tls = config.registry.http.tls;
  if (!tls) return undefined;
  const policy = tlsPolicy(tls, config.clientCaPems);
  if (acme) {
    // acme-tls/1 lets the ACME server validate the TLS-ALPN-01 challenge on this very port.
    return {
      policy,
      options: {
        SNICallback: acme.sniCallback,
        ALPNProtocols: ['http/1.1', 'acme-tls/1'],
        ...policy.options,
      },
    };
  }
  const files = config.tlsFiles;
  if (!files) return undefined;
  return { policy, options: { cert: files.certificate, key: files.key, ...policy.options } };
}

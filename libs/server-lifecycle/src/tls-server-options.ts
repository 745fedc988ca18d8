import type { Server as TlsServer, TLSSocket, TlsOptions } from 'node:tls';
import type { ClientAuthMode, TlsCommonConfig } from '@dtr-cache/config';

/** The TLS settings of `http.tls` shared by every server: versions, ciphers, client certificates. */
export interface TlsPolicy {
  /** Options for `https.createServer` (besides the certificate, which each app provides). */
  readonly options: TlsOptions;
  /**
   * Enforces what Node's options cannot say for `clientauth` (a certificate required but not
   * verified; a given one verified): connections that break the mode are closed after the
   * handshake. Call once on the server.
   */
  enforce(server: TlsServer): void;
}

/** Whether a connection may go on under a `clientauth` mode (Node asked for the certificate). */
function allowedBy(mode: ClientAuthMode, socket: TLSSocket): boolean {
  const given = Object.keys(socket.getPeerCertificate()).length > 0;
  if (mode === 'require-any-client-cert') return given;
  if (mode === 'verify-client-cert-if-given') return !given || socket.authorized;
  return true;
}

/**
 * The TLS policy of `http.tls`: `minimumtls`, `ciphersuites` (OpenSSL names, TLS 1.3's included),
 * and with `clientcas` (their PEM text) the `clientauth` mode: require-and-verify-client-cert by
 * Node itself, the other modes by {@link TlsPolicy.enforce}.
 */
export function tlsPolicy(tls: TlsCommonConfig, clientCaPems: readonly string[]): TlsPolicy {
  const options: TlsOptions = {
    minVersion: tls.minimumVersion,
    ...(tls.cipherSuites.length > 0 ? { ciphers: tls.cipherSuites.join(':') } : {}),
  };
  if (clientCaPems.length === 0) return { options, enforce: () => undefined };
  const verified = tls.clientAuth === 'require-and-verify-client-cert';
  return {
    options: {
      ...options,
      ca: [...clientCaPems],
      requestCert: true,
      rejectUnauthorized: verified,
    },
    enforce(server) {
      if (verified || tls.clientAuth === 'request-client-cert') return;
      server.on('secureConnection', (socket: TLSSocket) => {
        if (!allowedBy(tls.clientAuth, socket)) socket.destroy();
      });
    },
  };
}

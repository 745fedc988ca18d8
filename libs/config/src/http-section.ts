import { show } from './config-error';
import {
  absolutePathFormat,
  booleanFormat,
  type ConfigFormat,
  durationFormat,
  httpUrlFormat,
  listenAddressFormat,
  listOf,
  mapOf,
  oneOf,
  stringFormat,
} from './config-format';
import type { BuildContext } from './config-loader';
import { type ConfigValues, ignored, key, optionalKey } from './config-schema';
import { cipherSuitesFormat } from './formats/cipher-suites';
import type { Duration } from './formats/duration';
import { type ListenAddress, parseListenAddress } from './formats/listen-address';

const hostNameFormat: ConfigFormat<string> = {
  name: 'host-name',
  expected: 'a DNS host name',
  parse(value) {
    if (
      typeof value !== 'string' ||
      !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(
        value,
      )
    ) {
      throw new Error(`${show(value)} is not a DNS host name`);
    }
    return value.toLowerCase();
  },
};

const emailFormat: ConfigFormat<string> = {
  name: 'email',
  expected: 'an e-mail address',
  parse(value) {
    if (typeof value !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(value))
      throw new Error(`${show(value)} is not an e-mail address`);
    return value;
  },
};

/** A URL path: starts with "/"; a trailing "/" is dropped (except for "/" itself). */
const pathPrefixFormat: ConfigFormat<string> = {
  name: 'url-path',
  expected: 'a URL path starting with "/"',
  parse(value) {
    if (typeof value !== 'string' || !/^\/[A-Za-z0-9._~!$&'()*+,;=:@/%-]*$/.test(value))
      throw new Error(`${show(value)} is not a URL path starting with "/"`);
    const trimmed = value.replace(/\/+$/, '');
    return trimmed === '' ? '/' : trimmed;
  },
};

/** `http`: listen address, public URL, shutdown, headers and TLS (files or Let's Encrypt). */
export function httpSchema() {
  const optionalPath = (doc: string) => optionalKey({ doc, format: absolutePathFormat });
  return {
    addr: key({
      doc: 'Listen address: ":5000", "127.0.0.1:5000", "[::1]:5000", or a socket path with net: unix.',
      format: listenAddressFormat,
      default: ':5000',
    }),
    net: key({
      doc: 'Network of addr: tcp or unix.',
      format: oneOf('http-net', ['tcp', 'unix']),
      default: 'tcp',
    }),
    prefix: key({
      doc: 'Path the registry API is served under when not at the root ("/my/registry/" serves /my/registry/v2/…).',
      format: pathPrefixFormat,
      default: '/',
    }),
    host: optionalKey({
      doc: 'Externally reachable URL of this server, for absolute links (DTR writes none: its Location headers are paths; a content cache writes none either: it is logged at start).',
      format: httpUrlFormat,
    }),
    secret: ignored('no upload state is kept by clients: upload sessions are held by the server'),
    relativeurls: ignored('Location headers are written as paths, which every client resolves'),
    draintimeout: key({
      doc: 'On shutdown, how long requests in flight may finish before connections are closed.',
      format: durationFormat,
      default: '10s',
    }),
    debug: {
      addr: optionalKey({
        doc: 'Listen address of the debug server (/debug/health, and metrics with prometheus); unset: no debug server, and /metrics is served on addr.',
        format: listenAddressFormat,
      }),
      prometheus: {
        enabled: key({
          doc: 'Serves Prometheus metrics on the debug server (at path) instead of /metrics on addr.',
          format: booleanFormat,
          default: false,
        }),
        path: key({
          doc: 'Path of the metrics on the debug server.',
          format: pathPrefixFormat,
          default: '/metrics',
        }),
      },
    },
    http2: ignored('HTTP/1.1 is served (HTTP/2 is not offered)'),
    h2c: ignored('HTTP/1.1 is served (HTTP/2 over cleartext is not offered)'),
    headers: key({
      doc: 'Headers added to every response: a map of names to lists of values.',
      format: mapOf('http-headers', listOf(stringFormat)),
      default: { 'X-Content-Type-Options': ['nosniff'] },
    }),
    tls: {
      certificate: optionalPath('PEM certificate (chain) served for HTTPS; set together with key.'),
      key: optionalPath('PEM private key of certificate.'),
      clientcas: key({
        doc: 'PEM CA certificates whose client certificates are required (mutual TLS).',
        format: listOf(absolutePathFormat),
        default: [],
      }),
      clientauth: key({
        doc: 'With clientcas: require-and-verify-client-cert; verify-client-cert-if-given; require-any-client-cert (any certificate, unverified); request-client-cert (asked, not required).',
        format: oneOf('tls-client-auth', [
          'require-and-verify-client-cert',
          'verify-client-cert-if-given',
          'require-any-client-cert',
          'request-client-cert',
        ]),
        default: 'require-and-verify-client-cert',
      }),
      minimumtls: key({
        doc: "Oldest TLS version accepted (tls1.0 and tls1.1 only where the system's OpenSSL policy still allows them).",
        format: oneOf('tls-version', ['tls1.0', 'tls1.1', 'tls1.2', 'tls1.3']),
        default: 'tls1.2',
      }),
      ciphersuites: key({
        doc: "Cipher suites offered for TLS 1.2 and older, in the registry's (Go) names. Empty: the registry's defaults (ECDHE with AES-GCM or ChaCha20-Poly1305). TLS 1.3's suites are always offered.",
        format: cipherSuitesFormat,
        default: [],
      }),
      letsencrypt: {
        cachefile: optionalPath(
          "File caching Let's Encrypt state; setting it turns Let's Encrypt on.",
        ),
        email: optionalKey({ doc: "Account e-mail given to Let's Encrypt.", format: emailFormat }),
        hosts: key({
          doc: 'Host names certificates may be obtained for (required with cachefile).',
          format: listOf(hostNameFormat),
          default: [],
        }),
        directoryurl: key({
          doc: 'ACME directory URL (another ACME server, e.g. a local test CA).',
          format: httpUrlFormat,
          default: 'https://acme-v02.api.letsencrypt.org/directory',
        }),
      },
    },
  };
}

/** `http.tls.clientauth`: how client certificates are asked for and checked. */
export type ClientAuthMode =
  | 'require-and-verify-client-cert'
  | 'verify-client-cert-if-given'
  | 'require-any-client-cert'
  | 'request-client-cert';

/** `http.tls` settings of both kinds of TLS: client certificates, versions and suites. */
export interface TlsCommonConfig {
  clientCas: string[];
  clientAuth: ClientAuthMode;
  minimumVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL names; empty: Node's defaults. */
  cipherSuites: string[];
}

/** `http.tls`: certificate files, or certificates obtained from Let's Encrypt. */
export type TlsConfig =
  | ({ kind: 'files'; certificate: string; key: string } & TlsCommonConfig)
  | ({
      kind: 'letsencrypt';
      cacheFile: string;
      email: string | undefined;
      hosts: string[];
      directoryUrl: URL;
    } & TlsCommonConfig);

/** `http.debug`: a second listener for health and (with prometheus) metrics. */
export interface DebugServerConfig {
  listen: ListenAddress;
  /** The metrics path, when `prometheus.enabled`. */
  metricsPath: string | undefined;
}

/** The typed `http` section. */
export interface HttpConfig {
  listen: ListenAddress;
  /** `http.prefix` without its trailing slash; `/` when served at the root. */
  prefix: string;
  host: URL | undefined;
  debug: DebugServerConfig | undefined;
  drainTimeout: Duration;
  headers: Record<string, string[]>;
  tls: TlsConfig | undefined;
}

/** Builds `http`, checking that TLS settings come in complete, non-conflicting sets. */
export function buildHttpConfig(
  values: ConfigValues<ReturnType<typeof httpSchema>>,
  context: BuildContext,
  prefix = 'http',
): HttpConfig {
  const { issues } = context;
  let listen: ListenAddress = { kind: 'tcp', host: undefined, port: 5000 };
  try {
    listen = parseListenAddress(values.addr, values.net);
  } catch (error) {
    issues.add(`${prefix}.addr`, `${(error as Error).message} (http.net is ${values.net})`);
  }
  const tls = values.tls;
  const versions = {
    'tls1.0': 'TLSv1',
    'tls1.1': 'TLSv1.1',
    'tls1.2': 'TLSv1.2',
    'tls1.3': 'TLSv1.3',
  } as const;
  const common: TlsCommonConfig = {
    clientCas: tls.clientcas,
    clientAuth: tls.clientauth,
    minimumVersion: versions[tls.minimumtls],
    cipherSuites: tls.ciphersuites,
  };
  const letsencrypt = tls.letsencrypt;
  let tlsConfig: TlsConfig | undefined;
  if ((tls.certificate === undefined) !== (tls.key === undefined)) {
    const missing = tls.certificate === undefined ? 'certificate' : 'key';
    issues.add(
      `${prefix}.tls.${missing}`,
      'is required: http.tls.certificate and http.tls.key are set together',
    );
  } else if (tls.certificate !== undefined && tls.key !== undefined) {
    if (letsencrypt.cachefile !== undefined) {
      issues.add(
        `${prefix}.tls.letsencrypt`,
        "use either certificate and key or Let's Encrypt, not both",
      );
    }
    tlsConfig = { kind: 'files', certificate: tls.certificate, key: tls.key, ...common };
  }
  if (letsencrypt.cachefile !== undefined && tlsConfig === undefined) {
    if (letsencrypt.hosts.length === 0) {
      issues.add(
        `${prefix}.tls.letsencrypt.hosts`,
        "is required with Let's Encrypt (the host names to obtain certificates for)",
      );
    }
    tlsConfig = {
      kind: 'letsencrypt',
      cacheFile: letsencrypt.cachefile,
      email: letsencrypt.email,
      hosts: letsencrypt.hosts,
      directoryUrl: letsencrypt.directoryurl,
      ...common,
    };
  } else if (
    letsencrypt.cachefile === undefined &&
    (letsencrypt.hosts.length > 0 || letsencrypt.email !== undefined)
  ) {
    issues.add(
      `${prefix}.tls.letsencrypt.cachefile`,
      "is required to use Let's Encrypt (hosts or email are set)",
    );
  }
  if (tlsConfig?.kind === 'letsencrypt' && tls.clientcas.length > 0) {
    issues.add(
      `${prefix}.tls.clientcas`,
      "is not supported with Let's Encrypt: its validation connections carry no client certificate (use http.tls.certificate and key)",
    );
  }
  if (tlsConfig === undefined && tls.clientcas.length > 0) {
    issues.add(
      `${prefix}.tls.clientcas`,
      "needs TLS: set http.tls.certificate and key (or Let's Encrypt)",
    );
  }
  let debug: DebugServerConfig | undefined;
  if (values.debug.addr !== undefined) {
    try {
      debug = {
        listen: parseListenAddress(values.debug.addr, 'tcp'),
        metricsPath: values.debug.prometheus.enabled ? values.debug.prometheus.path : undefined,
      };
    } catch (error) {
      issues.add(`${prefix}.debug.addr`, (error as Error).message);
    }
  } else if (values.debug.prometheus.enabled) {
    issues.add(
      `${prefix}.debug.addr`,
      'is required with http.debug.prometheus.enabled (metrics are served by the debug server)',
    );
  }
  return {
    listen,
    prefix: values.prefix,
    host: values.host,
    debug,
    drainTimeout: values.draintimeout,
    headers: values.headers,
    tls: tlsConfig,
  };
}

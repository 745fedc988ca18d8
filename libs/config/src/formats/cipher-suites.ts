import { show } from '../config-error';
import type { ConfigFormat } from '../config-format';

/**
 * The registry's cipher suite names (Go's, as `http.tls.ciphersuites` lists them) and the OpenSSL
 * names Node's TLS takes. RC4 suites are left out: OpenSSL no longer offers them.
 */
const OPENSSL_NAMES: Readonly<Record<string, string>> = {
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 'ECDHE-RSA-DES-CBC3-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_AES_128_GCM_SHA256: 'TLS_AES_128_GCM_SHA256',
  TLS_AES_256_GCM_SHA384: 'TLS_AES_256_GCM_SHA384',
  TLS_CHACHA20_POLY1305_SHA256: 'TLS_CHACHA20_POLY1305_SHA256',
};

const TLS13_SUITES = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
];

/** The registry's default suites (Go names): forward secrecy and AEAD only. */
const REGISTRY_DEFAULT_SUITES = [
  'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
  'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
];

/**
 * `http.tls.ciphersuites`: the registry's suite names, parsed to the OpenSSL names Node takes. As
 * in the registry, the list chooses the suites of TLS 1.2 and older (empty: the registry's
 * defaults, ECDHE with AEAD only), and TLS 1.3's three suites are always offered.
 */
export const cipherSuitesFormat: ConfigFormat<string[]> = {
  name: 'tls-cipher-suites',
  expected: `a list of cipher suites (${Object.keys(OPENSSL_NAMES).join(', ')})`,
  parse(value) {
    if (!Array.isArray(value)) throw new Error(`${show(value)} is not a list of cipher suites`);
    const listed = value.length > 0 ? (value as unknown[]) : REGISTRY_DEFAULT_SUITES;
    const names = listed.map((suite: unknown) => {
      const name = typeof suite === 'string' ? OPENSSL_NAMES[suite] : undefined;
      if (name === undefined) {
        const why =
          typeof suite === 'string' && suite.includes('_RC4_')
            ? 'RC4 is broken and no longer offered'
            : 'not a cipher suite the registry names';
        throw new Error(
          `${show(suite)}: ${why} (supported: ${Object.keys(OPENSSL_NAMES).join(', ')})`,
        );
      }
      return name;
    });
    return [...new Set([...names.filter((name) => !TLS13_SUITES.includes(name)), ...TLS13_SUITES])];
  },
};

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import acme from 'acme-client';
import type { Logger } from '@dtr-cache/logging';

/** `http.tls.letsencrypt` as the cache uses it. */
export interface AcmeOptions {
  directoryUrl: URL;
  email: string | undefined;
  hosts: readonly string[];
  /** JSON file keeping the ACME account key and the certificate (mode 0600). */
  cacheFile: string;
}

interface CacheFileState {
  accountKey?: string;
  accountUrl?: string;
  certificate?: { key: string; cert: string; hosts: string[]; notAfter: string };
}

/** Renew when the certificate has less than this left. */
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

/**
 * Certificates from an ACME CA (Let's Encrypt, or another `directoryurl`) for `hosts`, obtained
 * with the TLS-ALPN-01 challenge on the cache's own HTTPS port (as the registry's autocert does) and
 * kept in `cachefile`, so a restart reuses them. Renewed 30 days before expiry.
 */
export class AcmeCertificates {
  private context: SecureContext | undefined;
  private readonly challenges = new Map<string, SecureContext>();
  private timer: NodeJS.Timeout | undefined;
  private state: CacheFileState = {};

  constructor(
    private readonly options: AcmeOptions,
    private readonly logger: Logger,
  ) {
    try {
      this.state = JSON.parse(readFileSync(options.cacheFile, 'utf8')) as CacheFileState;
    } catch {
      this.state = {};
    }
    const stored = this.state.certificate;
    if (stored && this.covers(stored.hosts))
      this.context = createSecureContext({ key: stored.key, cert: stored.cert });
  }

  private covers(hosts: readonly string[]): boolean {
    return this.options.hosts.every((host) => hosts.includes(host));
  }

  /** The TLS server's SNICallback: the pending ALPN challenge for the name, else the certificate. */
  readonly sniCallback = (
    servername: string,
    callback: (error: Error | null, context?: SecureContext) => void,
  ): void => {
    const challenge = this.challenges.get(servername.toLowerCase());
    if (challenge) return callback(null, challenge);
    if (this.context && this.options.hosts.includes(servername.toLowerCase()))
      return callback(null, this.context);
    callback(new Error(`no certificate for ${servername}`));
  };

  /** True if a certificate is held and not due for renewal. */
  get current(): boolean {
    const notAfter = this.state.certificate?.notAfter;
    return (
      this.context !== undefined &&
      notAfter !== undefined &&
      Date.parse(notAfter) - Date.now() > RENEW_BEFORE_MS
    );
  }

  /** Obtains a certificate unless a current one is held. The server must be listening. */
  async ensure(): Promise<void> {
    if (this.current) return;
    const accountKey = this.state.accountKey ?? (await acme.crypto.createPrivateKey()).toString();
    const client = new acme.Client({
      directoryUrl: this.options.directoryUrl.href,
      accountKey,
      ...(this.state.accountUrl ? { accountUrl: this.state.accountUrl } : {}),
    });
    const [key, csr] = await acme.crypto.createCsr({
      commonName: this.options.hosts[0],
      altNames: [...this.options.hosts],
    });
    const cert = await client.auto({
      csr,
      ...(this.options.email ? { email: this.options.email } : {}),
      termsOfServiceAgreed: true,
      challengePriority: ['tls-alpn-01'],
      skipChallengeVerification: true,
      challengeCreateFn: async (authz, _challenge, keyAuthorization) => {
        const [alpnKey, alpnCert] = await acme.crypto.createAlpnCertificate(
          authz,
          keyAuthorization,
        );
        this.challenges.set(
          authz.identifier.value.toLowerCase(),
          createSecureContext({ key: alpnKey, cert: alpnCert }),
        );
      },
      challengeRemoveFn: async (authz) => {
        this.challenges.delete(authz.identifier.value.toLowerCase());
      },
    });
    const info = acme.crypto.readCertificateInfo(cert);
    this.state = {
      accountKey,
      accountUrl: client.getAccountUrl(),
      certificate: {
        key: key.toString(),
        cert,
        hosts: [...this.options.hosts],
        notAfter: info.notAfter.toISOString(),
      },
    };
    mkdirSync(dirname(this.options.cacheFile), { recursive: true });
    const temporary = `${this.options.cacheFile}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(this.state), { mode: 0o600 });
    renameSync(temporary, this.options.cacheFile);
    this.context = createSecureContext({ key: key.toString(), cert });
    this.logger.info('certificate obtained', {
      hosts: this.options.hosts.join(','),
      notAfter: info.notAfter.toISOString(),
    });
  }

  /** Checks twice a day whether the certificate needs renewal. */
  startRenewal(): void {
    this.timer = setInterval(
      () =>
        void this.ensure().catch((error: unknown) =>
          this.logger.error('certificate renewal failed', { error }),
        ),
      12 * 3600 * 1000,
    );
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

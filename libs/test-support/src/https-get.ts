import { request } from 'node:https';

/** Status and body of an HTTPS answer. */
export interface HttpsAnswer {
  readonly status: number;
  readonly body: Buffer;
}

/**
 * `GET url` trusting only `ca` (PEM), with the body buffered (tests read small answers); with
 * `client`, presenting that certificate.
 * @throws the connection or TLS error.
 */
export function httpsGet(
  url: string,
  ca: string | Buffer,
  client?: { cert: string | Buffer; key: string | Buffer },
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    request(url, { ca, ...client }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }),
      );
    })
      .on('error', reject)
      .end();
  });
}

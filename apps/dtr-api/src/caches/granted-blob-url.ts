import { type Digest, signBlobGrant, signedBlobUrl } from '@dtr-cache/registry-protocol';
import type { DtrServices } from '../services';
import type { Account } from '../store/account-store';
import type { Repository } from '../store/repository-store';

/**
 * The URL of one blob at a cache member, with a grant for exactly this repository, digest and
 * account (its id and credential generation: the grant stops working when the account is deleted
 * or its password changes). A grant names an account, so there is none for an anonymous user.
 * Counted as a redirect to `cacheName` on `/metrics`.
 */
export async function grantedBlobUrl(
  services: DtrServices,
  cacheName: string,
  member: string,
  account: Account,
  repository: Repository,
  digest: Digest,
): Promise<URL> {
  const grant = await signBlobGrant(services.grantKeys.signingKey, {
    repository: repository.fullName,
    digest,
    subject: account.name,
    accountId: account.id,
    generation: account.generation,
    lifetimeSeconds: services.options.grantLifetimeSeconds,
    issuer: services.options.issuer,
  });
  services.metrics.redirects.inc({ cache: cacheName });
  return signedBlobUrl(member, repository.fullName, digest, grant);
}

import { createHmac, randomBytes } from 'node:crypto';
import type { Logger } from '@dtr-cache/logging';
import { clientKeyOf } from '@dtr-cache/network';
import { RegistryError } from '@dtr-cache/registry-protocol';
import type { Account, AccountStore } from '../store/account-store';
import { type BackoffPolicy, type FailureCounter, MemoryFailureCounter } from './failure-backoff';
import { HashSlots } from './hash-slots';
import { hashPassword, verifyPassword } from './password-hash';

/** Options of a {@link PasswordGuard}. */
export interface PasswordGuardOptions extends BackoffPolicy {
  /** Password hashes computed at once. */
  readonly concurrency: number;
  /** Password checks waiting for a hash slot before more are refused. */
  readonly queueLimit: number;
  /** How long a verified name and password are remembered (0: never). */
  readonly rememberMs: number;
}

/** How long an address that signed in to an account stays trusted for that account. */
const KNOWN_ADDRESS_MS = 30 * 24 * 3600 * 1000;
/** Bounds of the in-memory tables (oldest entries dropped first). */
const MAX_REMEMBERED = 10_000;
const MAX_KNOWN_ADDRESSES = 100_000;

interface Remembered {
  readonly accountId: number;
  readonly generation: number;
  readonly until: number;
}

/**
 * Every password check of DTR (HTTP Basic on the API and registry, the token service, the web
 * UI's sign-in) goes through here:
 * - failures are held back per account and per client address (a {@link FailureCounter}, kept in
 *   the database so that replicas share it; 429 `TOOMANYREQUESTS` with `Retry-After`, logged),
 *   before any hash is computed;
 * - an address that signed in to an account before is not held back by that account's failures
 *   from elsewhere, so an attacker cannot lock the owner out (and never for longer than the
 *   longest backoff anyway);
 * - scrypt runs in bounded {@link HashSlots}, so a flood of logins leaves CPU and the thread pool to
 *   token- and session-authenticated requests;
 * - a name and password that verified are remembered for a short while (keyed by an HMAC under a
 *   per-process secret, never the password), so clients that send Basic on every request (the
 *   token service, once per pull) do not pay a hash each time; a new password (a new generation)
 *   or a deleted account forgets them.
 * An unknown name costs the same hash as a wrong password: names cannot be told apart by timing.
 */
export class PasswordGuard {
  private readonly backoff: FailureCounter;
  private readonly slots: HashSlots;
  private readonly secret = randomBytes(32);
  private readonly remembered = new Map<string, Remembered>();
  private readonly knownAddresses = new Map<string, number>();
  private dummy: Promise<string> | undefined;

  constructor(
    private readonly accounts: AccountStore,
    private readonly options: PasswordGuardOptions,
    private readonly logger: Logger,
    failures?: FailureCounter,
  ) {
    this.backoff = failures ?? new MemoryFailureCounter(options);
    this.slots = new HashSlots(options.concurrency, options.queueLimit);
  }

  /**
   * The user with this name and password, or undefined for a wrong one (or an unknown name, or an
   * organization).
   * @throws RegistryError `TOOMANYREQUESTS` (with `Retry-After`) while failures hold this account
   *   or address back, or while too many checks wait for a hash slot.
   */
  async check(name: string, password: string, client: string): Promise<Account | undefined> {
    const now = Date.now();
    const rememberKey = this.rememberKeyOf(name, password);
    const remembered = await this.recall(rememberKey, now);
    if (remembered) return remembered;

    const accountKey = `account:${name}`;
    const addressKey = `client:${clientKeyOf(client)}`;
    const known = this.isKnownAddress(name, client, now);
    const wait = Math.max(
      await this.backoff.waitFor(addressKey, now),
      known ? 0 : await this.backoff.waitFor(accountKey, now),
    );
    if (wait > 0) {
      const retryAfter = Math.ceil(wait / 1000);
      this.logger.debug('password check held back', { account: name, client, retryAfter });
      throw new RegistryError(
        'TOOMANYREQUESTS',
        'too many failed sign-ins: wait before trying again',
        {
          headers: { 'Retry-After': String(retryAfter) },
          detail: { retryAfterSeconds: retryAfter },
        },
      );
    }

    const account = await this.slots.run(() => this.verify(name, password));
    if (account) {
      await this.backoff.succeed(accountKey);
      await this.backoff.succeed(addressKey);
      this.remember(rememberKey, account, now);
      this.knowAddress(name, client, now);
      return account;
    }
    const { wait: accountWait, failures } = await this.backoff.fail(accountKey, now);
    const { wait: addressWait } = await this.backoff.fail(addressKey, now);
    this.logger.warn('password check failed', {
      account: name,
      client,
      failures,
      ...(accountWait > 0 || addressWait > 0
        ? { heldBackSeconds: Math.ceil(Math.max(accountWait, addressWait) / 1000) }
        : {}),
    });
    return undefined;
  }

  /**
   * Hashes a new password, in the same bounded slots as the checks.
   * @throws RegistryError `TOOMANYREQUESTS` when too many hashes wait.
   */
  hash(password: string): Promise<string> {
    return this.slots.run(() => hashPassword(password));
  }

  private async verify(name: string, password: string): Promise<Account | undefined> {
    const account = await this.accounts.find(name);
    const hash = await this.accounts.passwordHash(name);
    this.dummy ??= hashPassword('dummy password never matched');
    const matches = await verifyPassword(password, hash ?? (await this.dummy));
    return hash && account?.kind === 'user' && matches ? account : undefined;
  }

  private rememberKeyOf(name: string, password: string): string {
    return createHmac('sha256', this.secret)
      .update(name)
      .update('\0')
      .update(password)
      .digest('base64');
  }

  private async recall(key: string, now: number): Promise<Account | undefined> {
    const entry = this.remembered.get(key);
    if (!entry) return undefined;
    const account = entry.until > now ? await this.accounts.findById(entry.accountId) : undefined;
    if (account?.generation === entry.generation && account.kind === 'user') return account;
    this.remembered.delete(key);
    return undefined;
  }

  private remember(key: string, account: Account, now: number): void {
    if (this.options.rememberMs <= 0) return;
    this.remembered.delete(key);
    this.remembered.set(key, {
      accountId: account.id,
      generation: account.generation,
      until: now + this.options.rememberMs,
    });
    if (this.remembered.size > MAX_REMEMBERED)
      this.remembered.delete(this.remembered.keys().next().value as string);
  }

  private isKnownAddress(name: string, client: string, now: number): boolean {
    const until = this.knownAddresses.get(`${name}\0${clientKeyOf(client)}`);
    return until !== undefined && until > now;
  }

  private knowAddress(name: string, client: string, now: number): void {
    const key = `${name}\0${clientKeyOf(client)}`;
    this.knownAddresses.delete(key);
    this.knownAddresses.set(key, now + KNOWN_ADDRESS_MS);
    if (this.knownAddresses.size > MAX_KNOWN_ADDRESSES)
      this.knownAddresses.delete(this.knownAddresses.keys().next().value as string);
  }
}

import { createHash } from 'node:crypto';

/**
 * The weight of `member` for `key` in rendezvous (highest-random-weight) hashing: the first 64 bits
 * of SHA-256 over the member, a NUL byte and the key, as an unsigned big-endian number. DTR (which
 * member of a cache group serves a blob) and the caches (`upstreampolicy: digest`) use this one
 * function, so they agree on a blob's member.
 */
export function rendezvousWeight(member: string, key: string): bigint {
  return createHash('sha256').update(member).update('\0').update(key).digest().readBigUInt64BE(0);
}

/**
 * `members` ranked for `key`, heaviest first (ties, which need a 64-bit collision, by name). The
 * first is the key's member; when it is left out (unhealthy), the key moves to the next one, and
 * no other key moves; a new member takes about 1/N of the keys, each from the member it outranks.
 * Does not change `members`.
 * @param nameOf the member's stable name (its URL), which alone decides its weights.
 */
export function rendezvousRank<T>(
  key: string,
  members: readonly T[],
  nameOf: (member: T) => string,
): T[] {
  return members
    .map((member) => ({ member, name: nameOf(member) }))
    .map((entry) => ({ ...entry, weight: rendezvousWeight(entry.name, key) }))
    .sort((a, b) =>
      a.weight === b.weight
        ? a.name < b.name
          ? -1
          : a.name > b.name
            ? 1
            : 0
        : a.weight > b.weight
          ? -1
          : 1,
    )
    .map((entry) => entry.member);
}

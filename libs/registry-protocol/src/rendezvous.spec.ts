import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rendezvousRank, rendezvousWeight } from './rendezvous';

const digests = (count: number) =>
  Array.from(
    { length: count },
    () => `sha256:${createHash('sha256').update(randomBytes(16)).digest('hex')}`,
  );
const members = (count: number) =>
  Array.from({ length: count }, (_, index) => `https://cache-${index + 1}.example:5000`);
const top = (key: string, group: readonly string[]) =>
  rendezvousRank(key, group, (member) => member)[0] as string;

describe('rendezvous hashing', () => {
  it.each([3, 5])(
    'gives each of %i members an equal share of 10,000 digests, within ±15 percent',
    (n) => {
      const group = members(n);
      const shares = new Map(group.map((member) => [member, 0]));
      for (const digest of digests(10_000)) {
        const member = top(digest, group);
        shares.set(member, (shares.get(member) as number) + 1);
      }
      for (const share of shares.values()) {
        expect(share).toBeGreaterThanOrEqual((10_000 / n) * 0.85);
        expect(share).toBeLessThanOrEqual((10_000 / n) * 1.15);
      }
    },
  );

  it('moves exactly the digests of a member that is taken out', () => {
    const group = members(5);
    const without = group.filter((member) => member !== group[2]);
    for (const digest of digests(10_000)) {
      const before = top(digest, group);
      const after = top(digest, without);
      if (before === group[2]) expect(after).toBe(rendezvousRank(digest, group, String)[1]);
      else expect(after).toBe(before);
    }
  });

  it('moves about 1/N of the digests to a member that is added, and only to it', () => {
    const group = members(4);
    const grown = members(5);
    let moved = 0;
    for (const digest of digests(10_000)) {
      const before = top(digest, group);
      const after = top(digest, grown);
      if (after !== before) {
        expect(after).toBe(grown[4]);
        moved += 1;
      }
    }
    expect(moved).toBeGreaterThanOrEqual((10_000 / 5) * 0.85);
    expect(moved).toBeLessThanOrEqual((10_000 / 5) * 1.15);
  });

  it('ranks the same whatever the members’ order, as a permutation of them (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.webUrl(), { minLength: 1, maxLength: 32 }),
        fc.string(),
        (group, key) => {
          const ranked = rendezvousRank(key, group, (member) => member);
          expect([...ranked].sort()).toEqual([...group].sort());
          expect(rendezvousRank(key, [...group].reverse(), (member) => member)).toEqual(ranked);
          for (let index = 1; index < ranked.length; index += 1)
            expect(
              rendezvousWeight(ranked[index - 1] as string, key) >=
                rendezvousWeight(ranked[index] as string, key),
            ).toBe(true);
        },
      ),
    );
  });

  it('keeps the relative order of the others when one member is removed (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.webUrl(), { minLength: 2, maxLength: 32 }),
        fc.string(),
        fc.nat(),
        (group, key, pick) => {
          const removed = group[pick % group.length] as string;
          const ranked = rendezvousRank(key, group, (member) => member);
          expect(
            rendezvousRank(
              key,
              group.filter((member) => member !== removed),
              (member) => member,
            ),
          ).toEqual(ranked.filter((member) => member !== removed));
        },
      ),
    );
  });

  it('weighs by a fixed function, so DTR and caches of other releases agree (known value)', () => {
    expect(rendezvousWeight('https://a.example:5000', `sha256:${'0'.repeat(64)}`)).toBe(
      2564200813993157075n,
    );
  });
});

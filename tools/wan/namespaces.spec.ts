import { describe, expect, it } from 'vitest';
import { LINKS, SERVER_SITES, SITES } from './chain-plan';
import { namespaceOf, networkCommands, PREFIX, tbfArguments } from './namespaces';
import { namespacesPlan } from './wan-plan';

describe('the network of the namespaces mode', () => {
  const commands = networkCommands(namespacesPlan());
  const texts = commands.map((argv) => argv.join(' '));

  it('makes a namespace per site, every name with the prefix a later run cleans up', () => {
    for (const site of SITES) expect(texts).toContain(`ip netns add ${namespaceOf(site.name)}`);
    for (const argv of commands) {
      if (argv[1] === 'netns' && argv[2] === 'add')
        expect(argv[3]).toMatch(new RegExp(`^${PREFIX}`));
      // A root-namespace interface (no -n): the management veth, prefixed too.
      if (argv[0] === 'ip' && argv[1] === 'link' && argv[2] === 'add' && argv[4] === 'type')
        expect(argv[3]).toMatch(new RegExp(`^${PREFIX}`));
    }
  });

  it('joins each link’s two sites with a veth pair shaped by tbf at its rate at both ends', () => {
    for (const link of LINKS) {
      const veth = texts.filter(
        (text) =>
          text.includes(`netns ${namespaceOf(link.a)} type veth`) &&
          text.endsWith(`netns ${namespaceOf(link.b)}`),
      );
      expect(veth).toHaveLength(1);
      for (const site of [link.a, link.b]) {
        const shaped = texts.filter(
          (text) =>
            text.startsWith(`tc -n ${namespaceOf(site)} qdisc add dev to-`) &&
            text.includes(`tbf rate ${link.mbit}mbit`),
        );
        expect(shaped.length).toBeGreaterThanOrEqual(1);
      }
    }
    const tbfCount = texts.filter((text) => text.includes(' tbf ')).length;
    expect(tbfCount).toBe(2 * LINKS.length);
  });

  it('keeps interface names within the kernel’s 15 characters', () => {
    for (const argv of commands) {
      for (const [index, word] of argv.entries()) {
        if (['dev', 'name'].includes(argv[index - 1] ?? '')) expect(word.length).toBeLessThan(16);
        if (argv[2] === 'add' && argv[1] === 'link' && index === 3)
          expect(word.length).toBeLessThan(16);
      }
    }
  });

  it('gives the benchmark a management veth to each server site', () => {
    for (const site of SERVER_SITES)
      expect(texts.some((text) => text.endsWith(`peer name mgmt netns ${namespaceOf(site)}`))).toBe(
        true,
      );
  });
});

describe('tbf’s bucket', () => {
  it('holds at least a 64 KiB segment and 2 ms at the rate', () => {
    const burst = (mbit: number) => Number(tbfArguments(mbit)[4]);
    expect(burst(100)).toBe(64 * 1024);
    // 500 Mbit/s for 2 ms: 125 000 bytes.
    expect(burst(500)).toBe(125_000);
    expect(tbfArguments(200).slice(0, 3)).toEqual(['tbf', 'rate', '200mbit']);
  });
});

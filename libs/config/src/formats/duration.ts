import { show } from '../config-error';

/** A positive duration, exact to the nanosecond. */
export interface Duration {
  /** The value as configured, e.g. `24h`. */
  readonly text: string;
  readonly nanoseconds: bigint;
  /** Milliseconds (fractional below 1 ms). */
  readonly milliseconds: number;
}

const UNIT_NANOSECONDS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const DURATION = /^(?:\d+(?:ns|us|µs|ms|s|m|h)?)+$/;
const PART = /(\d+)(ns|us|µs|ms|s|m|h)?/g;

/**
 * Parses a duration the way the registry's `blobttl` documents it: a positive integer with an
 * optional unit `ns`, `us`, `ms`, `s`, `m` or `h`; **no unit means nanoseconds**. Go-style
 * sequences such as `1h30m` are accepted too. A YAML number is a count of nanoseconds.
 * @throws Error naming the value and the accepted units.
 */
export function parseDuration(value: unknown): Duration {
  let text: string;
  if (typeof value === 'number' && Number.isSafeInteger(value)) text = String(value);
  else if (typeof value === 'string') text = value.trim();
  else throw new Error(`${show(value)} is not a duration (use ns, us, ms, s, m or h)`);
  if (!DURATION.test(text)) {
    throw new Error(`${show(value)} is not a duration (use ns, us, ms, s, m or h)`);
  }
  let nanoseconds = 0n;
  for (const [, amount, unit] of text.matchAll(PART)) {
    nanoseconds += BigInt(amount as string) * (UNIT_NANOSECONDS[unit ?? 'ns'] as bigint);
  }
  if (nanoseconds <= 0n) throw new Error(`${show(value)} must be a positive duration`);
  return { text, nanoseconds, milliseconds: Number(nanoseconds) / 1e6 };
}

/** Formats milliseconds as the shortest exact duration text (`90000` → `90s`). */
export function formatDuration(milliseconds: number): string {
  const nanoseconds = BigInt(Math.round(milliseconds * 1e6));
  for (const unit of ['h', 'm', 's', 'ms', 'us'] as const) {
    const size = UNIT_NANOSECONDS[unit] as bigint;
    if (nanoseconds % size === 0n) return `${nanoseconds / size}${unit}`;
  }
  return `${nanoseconds}ns`;
}
